package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/notifications"
)

// NotificationStore is what the notifications suite exercises, beyond Store.
type NotificationStore interface {
	Store
	notifications.Store
}

// RunNotifications runs the go-live notification suite.
func RunNotifications(t *testing.T, open func(t *testing.T) NotificationStore) {
	for _, tt := range []struct {
		name string
		fn   func(t *testing.T, s NotificationStore)
	}{
		{"Bell", testBell},
		{"NotificationSettings", testNotificationSettings},
		{"PushSubscriptions", testPushSubscriptions},
		{"ClaimGoLive", testClaimGoLive},
		{"GoLiveRecipients", testGoLiveRecipients},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

func testBell(t *testing.T, s NotificationStore) {
	ctx := context.Background()
	_, a := mustCreate(t, s, "alice", "alice@example.com", true)
	fan, _ := mustCreate(t, s, "fanny", "fan@example.com", true)
	other, _ := mustCreate(t, s, "otto", "otto@example.com", true)
	if ok, err := s.SetBell(ctx, fan.ID, a.ID, true); err != nil || ok {
		t.Fatalf("SetBell without a follow = %v, %v; want false", ok, err)
	}
	if err := s.Follow(ctx, fan.ID, a.ID, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Follow(ctx, other.ID, a.ID, t0); err != nil {
		t.Fatal(err)
	}
	if following, on, err := s.Bell(ctx, fan.ID, a.ID); err != nil || !following || on {
		t.Fatalf("Bell after follow = %v, %v, %v; want following, off", following, on, err)
	}
	if ok, err := s.SetBell(ctx, fan.ID, a.ID, true); err != nil || !ok {
		t.Fatalf("SetBell = %v, %v", ok, err)
	}
	if _, on, _ := s.Bell(ctx, fan.ID, a.ID); !on {
		t.Error("bell off after SetBell(true)")
	}
	if _, on, _ := s.Bell(ctx, other.ID, a.ID); on {
		t.Error("another follower's bell turned on")
	}
	// Following again keeps the bell; unfollowing drops it with the follow.
	if err := s.Follow(ctx, fan.ID, a.ID, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, on, _ := s.Bell(ctx, fan.ID, a.ID); !on {
		t.Error("following again turned the bell off")
	}
	if err := s.Unfollow(ctx, fan.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if following, on, _ := s.Bell(ctx, fan.ID, a.ID); following || on {
		t.Errorf("Bell after unfollow = %v, %v", following, on)
	}
	if err := s.Follow(ctx, fan.ID, a.ID, t0); err != nil {
		t.Fatal(err)
	}
	if _, on, _ := s.Bell(ctx, fan.ID, a.ID); on {
		t.Error("a new follow starts with the bell on")
	}
}

func testNotificationSettings(t *testing.T, s NotificationStore) {
	ctx := context.Background()
	a, _ := mustCreate(t, s, "alice", "alice@example.com", true)
	b, _ := mustCreate(t, s, "bobby", "bob@example.com", true)
	got, err := s.NotificationSettings(ctx, a.ID)
	if err != nil || got != notifications.DefaultSettings {
		t.Fatalf("NotificationSettings = %+v, %v; want the defaults", got, err)
	}
	for _, want := range []notifications.Settings{{Email: false, Push: true}, {Email: true, Push: false}, {}} {
		if err := s.SetNotificationSettings(ctx, a.ID, want); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.NotificationSettings(ctx, a.ID); got != want {
			t.Errorf("NotificationSettings = %+v, want %+v", got, want)
		}
	}
	if got, _ := s.NotificationSettings(ctx, b.ID); got != notifications.DefaultSettings {
		t.Errorf("another user's settings = %+v", got)
	}
}

func sub(n int) notifications.Subscription {
	return notifications.Subscription{Endpoint: fmt.Sprintf("https://push.example/%d", n), P256DH: fmt.Sprintf("key%d", n), Auth: "auth"}
}

func testPushSubscriptions(t *testing.T, s NotificationStore) {
	ctx := context.Background()
	a, _ := mustCreate(t, s, "alice", "alice@example.com", true)
	b, _ := mustCreate(t, s, "bobby", "bob@example.com", true)
	for i := range 4 {
		if err := s.AddPushSubscription(ctx, a.ID, sub(i), t0.Add(time.Duration(i)*time.Minute), 3); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddPushSubscription(ctx, b.ID, sub(10), t0, 3); err != nil {
		t.Fatal(err)
	}
	got, err := s.PushSubscriptions(ctx, []string{a.ID, b.ID})
	if err != nil {
		t.Fatal(err)
	}
	endpoints := func(list []notifications.Subscription) map[string]bool {
		m := map[string]bool{}
		for _, x := range list {
			m[x.Endpoint] = true
		}
		return m
	}
	// The oldest went when a fourth came.
	if diff := cmp.Diff(map[string]bool{sub(1).Endpoint: true, sub(2).Endpoint: true, sub(3).Endpoint: true}, endpoints(got[a.ID])); diff != "" {
		t.Errorf("alice's subscriptions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]notifications.Subscription{sub(10)}, got[b.ID]); diff != "" {
		t.Errorf("bobby's subscriptions (-want +got):\n%s", diff)
	}
	// Another user cannot delete alice's; she can.
	if err := s.DeletePushSubscription(ctx, b.ID, sub(3).Endpoint); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PushSubscriptions(ctx, []string{a.ID}); !endpoints(got[a.ID])[sub(3).Endpoint] {
		t.Error("bobby deleted alice's subscription")
	}
	if err := s.DeletePushSubscription(ctx, a.ID, sub(3).Endpoint); err != nil {
		t.Fatal(err)
	}
	if err := s.DropPushSubscription(ctx, sub(2).Endpoint); err != nil {
		t.Fatal(err)
	}
	// The browser signed in to bobby now: its subscription moves to him, renewed.
	moved := sub(1)
	moved.P256DH = "newkey"
	if err := s.AddPushSubscription(ctx, b.ID, moved, t0.Add(time.Hour), 3); err != nil {
		t.Fatal(err)
	}
	got, _ = s.PushSubscriptions(ctx, []string{a.ID, b.ID})
	if len(got[a.ID]) != 0 {
		t.Errorf("alice keeps %v", got[a.ID])
	}
	if diff := cmp.Diff(map[string]bool{sub(10).Endpoint: true, moved.Endpoint: true}, endpoints(got[b.ID])); diff != "" {
		t.Errorf("bobby's subscriptions (-want +got):\n%s", diff)
	}
	if got, _ := s.PushSubscriptions(ctx, nil); len(got) != 0 {
		t.Errorf("PushSubscriptions(nil) = %v", got)
	}
}

func testClaimGoLive(t *testing.T, s NotificationStore) {
	ctx := context.Background()
	_, a := mustCreate(t, s, "alice", "alice@example.com", true)
	_, b := mustCreate(t, s, "bobby", "bob@example.com", true)
	claim := func(session, channel, node string, at time.Time) bool {
		t.Helper()
		ok, err := s.ClaimGoLive(ctx, session, channel, node, at, at.Add(-notifications.ThrottleWindow))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	tests := []struct {
		session, channel, node string
		at                     time.Duration
		want                   bool
	}{
		{"st-1", a.ID, "node-1", 0, true},
		{"st-1", a.ID, "node-2", 0, false},               // the other node: claimed already
		{"st-1", a.ID, "node-1", time.Hour, false},       // a late second delivery
		{"st-2", a.ID, "node-1", 5 * time.Minute, false}, // a new session within the window
		{"st-3", b.ID, "node-2", 5 * time.Minute, true},  // another channel
		{"st-4", a.ID, "node-2", 11 * time.Minute, true}, // past the window
		{"st-5", a.ID, "node-2", 48 * time.Hour, true},   // old claims pruned on the way
		{"st-5", a.ID, "node-1", 48 * time.Hour, false},
	}
	for _, tt := range tests {
		if got := claim(tt.session, tt.channel, tt.node, t0.Add(tt.at)); got != tt.want {
			t.Errorf("ClaimGoLive(%s, %s, %s, +%v) = %v, want %v", tt.session, tt.channel, tt.node, tt.at, got, tt.want)
		}
	}
}

func testGoLiveRecipients(t *testing.T, s NotificationStore) {
	ctx := context.Background()
	_, a := mustCreate(t, s, "alice", "alice@example.com", true)
	var ids []string
	for i, name := range []string{"fan_a", "fan_b", "fan_c", "fan_d", "fan_e"} {
		u, _ := mustCreate(t, s, name, name+"@example.com", i != 1) // fan_b unverified
		if err := s.Follow(ctx, u.ID, a.ID, t0); err != nil {
			t.Fatal(err)
		}
		if name != "fan_d" { // fan_d follows with the bell off
			if _, err := s.SetBell(ctx, u.ID, a.ID, true); err != nil {
				t.Fatal(err)
			}
		}
		ids = append(ids, u.ID)
	}
	if err := s.SetNotificationSettings(ctx, ids[2], notifications.Settings{Email: false, Push: true}); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Hour)
	if err := s.SetSuspension(ctx, ids[4], &at, "spam"); err != nil { // fan_e suspended
		t.Fatal(err)
	}
	var got []notifications.Recipient
	after := ""
	for {
		page, err := s.GoLiveRecipients(ctx, a.ID, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		after = page[len(page)-1].UserID
	}
	want := []notifications.Recipient{
		{UserID: ids[0], Email: "fan_a@example.com", Verified: true, Settings: notifications.DefaultSettings},
		{UserID: ids[1], Email: "fan_b@example.com", Verified: false, Settings: notifications.DefaultSettings},
		{UserID: ids[2], Email: "fan_c@example.com", Verified: true, Settings: notifications.Settings{Push: true}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GoLiveRecipients (-want +got):\n%s", diff)
	}
	// A private channel's go-live reaches only the followers on its allowlist.
	if err := s.SetPrivate(ctx, a.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Allow(ctx, a.ID, ids[2], t0); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GoLiveRecipients(ctx, a.ID, "", 10); err != nil || len(got) != 1 || got[0].UserID != ids[2] {
		t.Errorf("GoLiveRecipients of a private channel = %+v, %v; want fan_c only", got, err)
	}
	ch, err := s.NoticeChannel(ctx, a.ID)
	if err != nil || ch.Username != "alice" || ch.Suspended {
		t.Errorf("NoticeChannel = %+v, %v", ch, err)
	}
	if _, err := s.NoticeChannel(ctx, "nope"); !errors.Is(err, notifications.ErrNotFound) {
		t.Errorf("NoticeChannel(unknown) err = %v", err)
	}
}
