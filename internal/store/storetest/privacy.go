package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/channels"
)

// testPrivacy: a private channel's flag, allowlist and the lists that leave it out.
func testPrivacy(t *testing.T, s Store) {
	ctx := context.Background()
	owner, ch := mustCreate(t, s, "owner", "owner@example.com", true)
	fan, _ := mustCreate(t, s, "fan1", "fan1@example.com", true)
	friend, _ := mustCreate(t, s, "friend", "friend@example.com", true)
	for _, u := range []string{fan.ID, friend.ID} {
		if err := s.Follow(ctx, u, ch.ID, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.OpenStreamSession(ctx, "st-owner", ch.ID, "", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.StartStreamSession(ctx, "st-owner", t0); err != nil {
		t.Fatal(err)
	}
	access := func(userID string) channels.Access {
		t.Helper()
		a, err := s.WatchAccess(ctx, ch.ID, userID)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if got := access(""); got != (channels.Access{}) {
		t.Errorf("a new channel's access = %+v, want public", got)
	}
	if err := s.SetPrivate(ctx, ch.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Allow(ctx, ch.ID, friend.ID, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Allow(ctx, ch.ID, friend.ID, t0.Add(time.Hour)); err != nil {
		t.Errorf("allow twice: %v", err)
	}
	if err := s.Ban(ctx, ch.ID, fan.ID, t0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		who  string
		id   string
		want channels.Access
	}{
		{"anonymous", "", channels.Access{Private: true}},
		{"owner", owner.ID, channels.Access{Private: true, Owner: true}},
		{"allowed", friend.ID, channels.Access{Private: true, Allowed: true}},
		{"banned", fan.ID, channels.Access{Private: true, Banned: true}},
	} {
		if diff := cmp.Diff(tc.want, access(tc.id)); diff != "" {
			t.Errorf("access of %s (-want +got):\n%s", tc.who, diff)
		}
	}
	if _, err := s.WatchAccess(ctx, "ch_none", ""); !errors.Is(err, channels.ErrNotFound) {
		t.Errorf("access to an unknown channel: %v", err)
	}
	if err := s.Unban(ctx, ch.ID, fan.ID); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.ProfileByUsername(ctx, "owner"); p == nil || !p.Private {
		t.Errorf("profile of a private channel = %+v", p)
	}
	if p, err := s.ProfileByChannel(ctx, ch.ID); err != nil || p.Username != "owner" || !p.Private {
		t.Errorf("ProfileByChannel = %+v, %v", p, err)
	}
	if live, _ := s.Live(ctx, 50); len(live) != 0 {
		t.Errorf("the directory lists a private channel: %v", usernames(live))
	}
	if got, _ := s.Following(ctx, fan.ID, 10); len(got) != 0 {
		t.Errorf("following list of a follower not allowed = %v", usernames(got))
	}
	if got, _ := s.Following(ctx, friend.ID, 10); cmp.Diff([]string{"owner"}, usernames(got)) != "" {
		t.Errorf("following list of an allowed follower = %v", usernames(got))
	}
	if err := s.Allow(ctx, ch.ID, fan.ID, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	list, err := s.Allowlist(ctx, ch.ID, 10)
	if err != nil || cmp.Diff([]string{"fan1", "friend"}, usernames(list)) != "" {
		t.Errorf("allowlist = %v, %v; want newest first", usernames(list), err)
	}
	if n, err := s.CountAllowed(ctx, ch.ID); err != nil || n != 2 {
		t.Errorf("CountAllowed = %d, %v", n, err)
	}
	if err := s.Disallow(ctx, ch.ID, fan.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Disallow(ctx, ch.ID, fan.ID); err != nil {
		t.Errorf("disallow twice: %v", err)
	}
	if access(fan.ID).Allowed {
		t.Errorf("still allowed after Disallow")
	}
	if err := s.SetPrivate(ctx, ch.ID, false); err != nil {
		t.Fatal(err)
	}
	if live, _ := s.Live(ctx, 50); cmp.Diff([]string{"owner"}, usernames(live)) != "" {
		t.Errorf("directory once public = %v", usernames(live))
	}
	if err := s.SetPrivate(ctx, "ch_none", true); !errors.Is(err, channels.ErrNotFound) {
		t.Errorf("SetPrivate on an unknown channel: %v", err)
	}
	// Deleting an allowed account takes it off the allowlist.
	if err := s.DeleteUser(ctx, friend.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountAllowed(ctx, ch.ID); n != 0 {
		t.Errorf("allowlist after deleting its user: %d", n)
	}
}

func testInvites(t *testing.T, s Store) {
	ctx := context.Background()
	owner, ch := mustCreate(t, s, "owner", "owner@example.com", true)
	_, other := mustCreate(t, s, "other", "other@example.com", true)
	put := func(id, hash string, created, expires time.Time) *channels.Invite {
		t.Helper()
		inv := &channels.Invite{ID: id, ChannelID: ch.ID, CodeHash: hash, CreatedAt: created, ExpiresAt: expires}
		if err := s.PutInvite(ctx, inv, created); err != nil {
			t.Fatal(err)
		}
		return inv
	}
	old := put("inv_old", "h-old", t0, t0.Add(time.Hour))
	put("inv_new", "h-new", t0.Add(time.Minute), t0.Add(48*time.Hour))
	if err := s.PutInvite(ctx, &channels.Invite{ID: "inv_dup", ChannelID: ch.ID, CodeHash: "h-new", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, t0); err == nil {
		t.Errorf("two invites with one code hash were stored")
	}
	ids := func(now time.Time) []string {
		t.Helper()
		list, err := s.Invites(ctx, ch.ID, now)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, inv := range list {
			out = append(out, inv.ID)
		}
		return out
	}
	if diff := cmp.Diff([]string{"inv_new", "inv_old"}, ids(t0)); diff != "" {
		t.Errorf("invites (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"inv_new"}, ids(t0.Add(time.Hour))); diff != "" {
		t.Errorf("invites once one expired (-want +got):\n%s", diff)
	}
	got, err := s.InviteByCodeHash(ctx, "h-old")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(old, got); diff != "" {
		t.Errorf("InviteByCodeHash (-want +got):\n%s", diff)
	}
	if err := s.UseInvite(ctx, "inv_old"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.InviteByCodeHash(ctx, "h-old"); got == nil || got.Uses != 1 {
		t.Errorf("uses after one = %+v", got)
	}
	if _, err := s.InviteByCodeHash(ctx, "h-none"); !errors.Is(err, channels.ErrInviteNotFound) {
		t.Errorf("unknown code: %v", err)
	}
	// Another channel cannot delete it; its own can, once.
	if err := s.DeleteInvite(ctx, other.ID, "inv_new"); !errors.Is(err, channels.ErrInviteNotFound) {
		t.Errorf("delete through another channel: %v", err)
	}
	if err := s.DeleteInvite(ctx, ch.ID, "inv_new"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteInvite(ctx, ch.ID, "inv_new"); !errors.Is(err, channels.ErrInviteNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	// A new invite sweeps the expired ones away.
	put("inv_later", "h-later", t0.Add(2*time.Hour), t0.Add(3*time.Hour))
	if _, err := s.InviteByCodeHash(ctx, "h-old"); !errors.Is(err, channels.ErrInviteNotFound) {
		t.Errorf("an expired invite is kept after a new one: %v", err)
	}
	// Deleting the owner deletes the channel's invites.
	if err := s.DeleteUser(ctx, owner.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InviteByCodeHash(ctx, "h-later"); !errors.Is(err, channels.ErrInviteNotFound) {
		t.Errorf("invite of a deleted account: %v", err)
	}
}
