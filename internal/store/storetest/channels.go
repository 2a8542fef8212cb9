package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/streams"
)

func usernames(ps []*channels.Profile) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Username)
	}
	return out
}

func testProfiles(t *testing.T, s Store) {
	ctx := context.Background()
	u, ch := mustCreate(t, s, "Alice", "alice@example.com", true)
	p, err := s.ProfileByUsername(ctx, "aLiCe")
	if err != nil {
		t.Fatal(err)
	}
	want := &channels.Profile{ChannelID: ch.ID, UserID: u.ID, Username: "Alice", Color: "salmon", Avatar: "bird"}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("profile (-want +got):\n%s", diff)
	}
	if err := s.SetAppearance(ctx, u.ID, "green", "tiger"); err != nil {
		t.Fatal(err)
	}
	p, _ = s.ProfileByUsername(ctx, "alice")
	if p.Color != "green" || p.Avatar != "tiger" {
		t.Errorf("appearance = %s %s", p.Color, p.Avatar)
	}
	if _, err := s.ProfileByUsername(ctx, "nobody"); !errors.Is(err, channels.ErrNotFound) {
		t.Errorf("unknown profile: %v", err)
	}
}

func testStreamKeyReplace(t *testing.T, s Store) {
	ctx := context.Background()
	u, ch := mustCreate(t, s, "alice", "alice@example.com", true)
	if err := s.ReplaceStreamKey(ctx, ch.ID, "newhash", "newsealed", t0); err != nil {
		t.Fatal(err)
	}
	got, err := s.ChannelByUser(ctx, u.ID)
	if err != nil || got.StreamKeyHash != "newhash" || got.StreamKeySealed != "newsealed" {
		t.Errorf("after replace: %+v, %v", got, err)
	}
	if err := s.ReplaceStreamKey(ctx, "ch_none", "h", "s", t0); !errors.Is(err, channels.ErrNotFound) {
		t.Errorf("replace on unknown channel: %v", err)
	}
}

func testFollowingOrder(t *testing.T, s Store) {
	ctx := context.Background()
	fan, _ := mustCreate(t, s, "fan1", "fan@example.com", true)
	chans := map[string]*channels.Channel{}
	for _, n := range []string{"off_old", "off_new", "live_old", "live_new", "ended", "notfollowed"} {
		_, ch := mustCreate(t, s, n, n+"@example.com", true)
		chans[n] = ch
	}
	for i, n := range []string{"off_old", "live_new", "ended", "live_old", "off_new"} {
		if err := s.Follow(ctx, fan.ID, chans[n].ID, t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	// Following twice is harmless and keeps the first time.
	if err := s.Follow(ctx, fan.ID, chans["off_old"].ID, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	session := func(name string, start time.Time, ended bool) {
		id := "st-" + name
		if err := s.OpenStreamSession(ctx, id, chans[name].ID, "", start.Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.StartStreamSession(ctx, id, start); err != nil {
			t.Fatal(err)
		}
		if ended {
			if err := s.EndStreamSession(ctx, id, start.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
	}
	session("live_old", t0.Add(time.Hour), false)
	session("live_new", t0.Add(2*time.Hour), false)
	session("ended", t0.Add(3*time.Hour), true)
	session("notfollowed", t0.Add(4*time.Hour), false)

	got, err := s.Following(ctx, fan.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"live_new", "live_old", "off_new", "ended", "off_old"}
	if diff := cmp.Diff(want, usernames(got)); diff != "" {
		t.Errorf("following order (-want +got):\n%s", diff)
	}
	if got[0].LiveSince == nil || !got[0].LiveSince.Equal(t0.Add(2*time.Hour)) || got[2].LiveSince != nil {
		t.Errorf("live since: %v, %v", got[0].LiveSince, got[2].LiveSince)
	}
	if got[4].FollowedAt == nil || !got[4].FollowedAt.Equal(t0) {
		t.Errorf("followed at = %v, want %v", got[4].FollowedAt, t0)
	}
	if limited, _ := s.Following(ctx, fan.ID, 2); len(limited) != 2 {
		t.Errorf("limit 2 gave %d", len(limited))
	}
	if yes, _ := s.IsFollowing(ctx, fan.ID, chans["off_new"].ID); !yes {
		t.Errorf("IsFollowing(off_new) = false")
	}
	if err := s.Unfollow(ctx, fan.ID, chans["off_new"].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Unfollow(ctx, fan.ID, chans["off_new"].ID); err != nil {
		t.Errorf("unfollow twice: %v", err)
	}
	if yes, _ := s.IsFollowing(ctx, fan.ID, chans["off_new"].ID); yes {
		t.Errorf("IsFollowing after unfollow = true")
	}
	// Deleting a followed account removes it from lists.
	if err := s.DeleteUser(ctx, chans["live_old"].UserID); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Following(ctx, fan.ID, 100)
	if diff := cmp.Diff([]string{"live_new", "ended", "off_old"}, usernames(got)); diff != "" {
		t.Errorf("after deleting live_old (-want +got):\n%s", diff)
	}
}

func testDirectory(t *testing.T, s Store) {
	ctx := context.Background()
	var want []string
	for i := range 55 {
		name := fmt.Sprintf("live%02d", i)
		_, ch := mustCreate(t, s, name, name+"@example.com", true)
		id := "st-" + name
		if err := s.OpenStreamSession(ctx, id, ch.ID, "", t0); err != nil {
			t.Fatal(err)
		}
		if i%11 == 3 {
			continue // opened but never playable: not live
		}
		if err := s.StartStreamSession(ctx, id, t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
		want = append([]string{name}, want...)
	}
	got, err := s.Live(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[:50], usernames(got)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
}

// testUnverifiedNotLive: an account whose email is unverified is marked so for ingest, and
// its channel is not listed as live, until it is verified.
func testUnverifiedNotLive(t *testing.T, s Store) {
	ctx := context.Background()
	u, ch := mustCreate(t, s, "fresh", "fresh@example.com", false)
	mustCreate(t, s, "known", "known@example.com", true)
	got, err := s.ChannelByStreamKeyHash(ctx, ch.StreamKeyHash)
	if err != nil || !got.Unverified {
		t.Fatalf("ChannelByStreamKeyHash(unverified) = %+v, %v; want Unverified", got, err)
	}
	if err := s.OpenStreamSession(ctx, "st-fresh", ch.ID, "", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.StartStreamSession(ctx, "st-fresh", t0); err != nil {
		t.Fatal(err)
	}
	live, err := s.Live(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 0 {
		t.Errorf("directory lists %v, an unverified account's channel", usernames(live))
	}
	v := t0.Add(time.Minute)
	if err := s.UpdateUser(ctx, u.ID, accounts.UserChange{VerifiedAt: &v, UpdatedAt: v}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ChannelByStreamKeyHash(ctx, ch.StreamKeyHash); got == nil || got.Unverified {
		t.Errorf("ChannelByStreamKeyHash once verified = %+v", got)
	}
	if live, _ := s.Live(ctx, 50); cmp.Diff([]string{"fresh"}, usernames(live)) != "" {
		t.Errorf("directory once verified = %v, want [fresh]", usernames(live))
	}
}

func testBans(t *testing.T, s Store) {
	ctx := context.Background()
	_, ch := mustCreate(t, s, "owner", "owner@example.com", true)
	troll, _ := mustCreate(t, s, "troll", "troll@example.com", true)
	if err := s.Ban(ctx, ch.ID, troll.ID, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Ban(ctx, ch.ID, troll.ID, t0); err != nil {
		t.Errorf("ban twice: %v", err)
	}
	if yes, _ := s.IsBanned(ctx, ch.ID, troll.ID); !yes {
		t.Errorf("IsBanned = false")
	}
	list, err := s.Bans(ctx, ch.ID)
	if err != nil || len(list) != 1 || list[0].Username != "troll" {
		t.Errorf("Bans = %v, %v", usernames(list), err)
	}
	if err := s.Unban(ctx, ch.ID, troll.ID); err != nil {
		t.Fatal(err)
	}
	if yes, _ := s.IsBanned(ctx, ch.ID, troll.ID); yes {
		t.Errorf("IsBanned after unban = true")
	}
}

func testAssets(t *testing.T, s Store) {
	ctx := context.Background()
	_, ch := mustCreate(t, s, "alice", "alice@example.com", true)
	a := &channels.Asset{ChannelID: ch.ID, Kind: channels.AssetAvatar, Version: "v1", ContentType: "image/png", Data: []byte{0x89, 'P', 'N', 'G', 0, 1, 2}, CreatedAt: t0}
	if err := s.PutAsset(ctx, a); err != nil {
		t.Fatal(err)
	}
	b := *a
	b.Version, b.Data = "v2", bytes.Repeat([]byte{0xff}, 1000)
	if err := s.PutAsset(ctx, &b); err != nil {
		t.Fatal(err)
	}
	got, err := s.Asset(ctx, ch.ID, channels.AssetAvatar)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&b, got); diff != "" {
		t.Errorf("asset (-want +got):\n%s", diff)
	}
	p, _ := s.ProfileByUsername(ctx, "alice")
	if p.AvatarVersion != "v2" || p.BannerVersion != "" {
		t.Errorf("profile versions %q %q", p.AvatarVersion, p.BannerVersion)
	}
	if err := s.DeleteAsset(ctx, ch.ID, channels.AssetAvatar); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Asset(ctx, ch.ID, channels.AssetAvatar); !errors.Is(err, channels.ErrNotFound) {
		t.Errorf("asset after delete: %v", err)
	}
}

func testOrphanedSessions(t *testing.T, s Store) {
	ctx := context.Background()
	_, a := mustCreate(t, s, "alice", "alice@example.com", true)
	_, b := mustCreate(t, s, "bobby", "bob@example.com", true)
	for id, ch := range map[string]string{"st-a": a.ID, "st-b": b.ID} {
		if err := s.OpenStreamSession(ctx, id, ch, map[string]string{"st-a": "node-1", "st-b": "node-2"}[id], t0); err != nil {
			t.Fatal(err)
		}
		if err := s.StartStreamSession(ctx, id, t0); err != nil {
			t.Fatal(err)
		}
	}
	// Signs of life of st-a before its node went down: an event, the node's last lease
	// renewal, and its last metrics point, the latest.
	if err := s.AddStreamEvent(ctx, &streams.Event{SessionID: "st-a", At: t0.Add(10 * time.Minute), Name: streams.EventStarvationStart, Type: "IVS Stream Health Change"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RenewNodeLease(ctx, "node-1", t0.Add(20*time.Minute), t0.Add(20*time.Minute+15*time.Second)); err != nil {
		t.Fatal(err)
	}
	last := t0.Add(30*time.Minute + 5*time.Second)
	points := []streams.Point{{At: last.Add(-time.Second), VideoBitrate: 1_000_000}, {At: last, VideoBitrate: 1_000_000}}
	if err := s.PutStreamMetrics(ctx, "st-a", last.Unix()/60, streams.EncodeMinute(points)); err != nil {
		t.Fatal(err)
	}
	ids, err := s.EndOrphanedStreamSessions(ctx, "node-1", t0.Add(time.Hour))
	if diff := cmp.Diff(map[string]streams.EndedSession{"st-a": {ChannelID: a.ID, EndedAt: last}}, ids); err != nil || diff != "" {
		t.Fatalf("EndOrphanedStreamSessions: %v (-want +got):\n%s", err, diff)
	}
	// It ends at its last sign of life, not when the restart noticed it.
	if info, err := s.StreamSession(ctx, "st-a"); err != nil || info.EndedAt == nil || !info.EndedAt.Equal(last) {
		t.Errorf("st-a ended at %v (%v), want %v", info.EndedAt, err, last)
	}
	live, _ := s.Live(ctx, 10)
	if diff := cmp.Diff([]string{"bobby"}, usernames(live)); diff != "" {
		t.Errorf("live after recovery (-want +got):\n%s", diff)
	}
}

func testChannelType(t *testing.T, s Store) {
	ctx := context.Background()
	u, ch := mustCreate(t, s, "Alice", "alice@example.com", true)
	if err := s.SetChannelType(ctx, ch.ID, channels.TypeStandard); err != nil {
		t.Fatal(err)
	}
	got, err := s.ChannelByUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != channels.TypeStandard {
		t.Errorf("type = %q, want STANDARD", got.Type)
	}
	if err := s.SetChannelType(ctx, "ch_nobody", channels.TypeBasic); !errors.Is(err, channels.ErrNotFound) {
		t.Errorf("unknown channel: err = %v, want ErrNotFound", err)
	}
}
