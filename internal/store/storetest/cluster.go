package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/streams"
)

// testOneOpenSessionPerChannel: whichever nodes try, a channel has at most one open session.
func testOneOpenSessionPerChannel(t *testing.T, s Store) {
	ctx := context.Background()
	_, ch := mustCreate(t, s, "alice", "alice@example.com", true)
	_, other := mustCreate(t, s, "bobby", "bob@example.com", true)
	_, third := mustCreate(t, s, "carol", "carol@example.com", true)
	if err := s.OpenStreamSession(ctx, "st-1", ch.ID, "node-a", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.OpenStreamSession(ctx, "st-2", ch.ID, "node-b", t0); !errors.Is(err, streams.ErrAlreadyLive) {
		t.Fatalf("a second open session on another node: %v, want ErrAlreadyLive", err)
	}
	if err := s.OpenStreamSession(ctx, "st-3", other.ID, "node-b", t0); err != nil {
		t.Fatalf("another channel's session: %v", err)
	}
	if err := s.OpenStreamSession(ctx, "st-1", third.ID, "node-b", t0); err == nil || errors.Is(err, streams.ErrAlreadyLive) {
		t.Errorf("a duplicate session id: %v, want an error other than ErrAlreadyLive", err)
	}
	if busy, err := s.HasOpenStreamSession(ctx, ch.ID); err != nil || !busy {
		t.Errorf("HasOpenStreamSession with st-1 open = %v, %v", busy, err)
	}
	if err := s.EndStreamSession(ctx, "st-1", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if busy, err := s.HasOpenStreamSession(ctx, ch.ID); err != nil || busy {
		t.Errorf("HasOpenStreamSession after the end = %v, %v", busy, err)
	}
	if err := s.OpenStreamSession(ctx, "st-2", ch.ID, "node-b", t0.Add(time.Minute)); err != nil {
		t.Fatalf("a session after the first ended: %v", err)
	}
}

// testNodeLeases: sessions of nodes whose lease expired, or that hold none, are ended once;
// those of live nodes are not.
func testNodeLeases(t *testing.T, s Store) {
	ctx := context.Background()
	chans := map[string]string{}
	for _, name := range []string{"alive", "nolease", "expired", "dropped"} {
		_, ch := mustCreate(t, s, name, name+"@example.com", true)
		chans[name] = ch.ID
		if err := s.OpenStreamSession(ctx, "st-"+name, ch.ID, "node-"+name, t0); err != nil {
			t.Fatal(err)
		}
		if err := s.StartStreamSession(ctx, "st-"+name, t0); err != nil {
			t.Fatal(err)
		}
	}
	for node, expires := range map[string]time.Time{"node-alive": t0.Add(15 * time.Second), "node-expired": t0.Add(-time.Millisecond), "node-dropped": t0.Add(time.Hour)} {
		if err := s.RenewNodeLease(ctx, node, t0.Add(-10*time.Second), t0.Add(-10*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.RenewNodeLease(ctx, node, t0, expires); err != nil { // a renewal replaces the lease
			t.Fatal(err)
		}
	}
	if err := s.DropNodeLease(ctx, "node-dropped"); err != nil {
		t.Fatal(err)
	}

	// One channel at a time, as a node meeting a conflict does: a live node's session stays.
	if got, err := s.EndStaleStreamSessions(ctx, chans["alive"], t0); err != nil || len(got) != 0 {
		t.Errorf("EndStaleStreamSessions(alive) = %v, %v; want nothing", got, err)
	}
	if got, err := s.EndStaleStreamSessions(ctx, chans["expired"], t0); err != nil || !cmp.Equal(got, endedAtT0("st-expired", chans["expired"])) {
		t.Errorf("EndStaleStreamSessions(expired) = %v, %v", got, err)
	}
	// All channels, as the lease round does; each session is reported by one caller only.
	got, err := s.EndStaleStreamSessions(ctx, "", t0)
	if diff := cmp.Diff(endedAtT0("st-nolease", chans["nolease"], "st-dropped", chans["dropped"]), got); err != nil || diff != "" {
		t.Errorf("EndStaleStreamSessions(all): %v (-want +got):\n%s", err, diff)
	}
	if got, err := s.EndStaleStreamSessions(ctx, "", t0); err != nil || len(got) != 0 {
		t.Errorf("a second sweep ended %v, %v; want nothing", got, err)
	}
	live, _ := s.Live(ctx, 10)
	if diff := cmp.Diff([]string{"alive"}, usernames(live)); diff != "" {
		t.Errorf("live after the sweep (-want +got):\n%s", diff)
	}
	// Once the live node's lease runs out too, its session goes.
	if got, err := s.EndStaleStreamSessions(ctx, "", t0.Add(16*time.Second)); err != nil || !cmp.Equal(got, endedAtT0("st-alive", chans["alive"])) {
		t.Errorf("EndStaleStreamSessions after node-alive's lease = %v, %v", got, err)
	}
}

// endedAtT0 is what EndStaleStreamSessions returns for sessions (id, channel id, ...) whose
// last sign of life is t0: they opened then, and their nodes' last renewal was then.
func endedAtT0(idChannel ...string) map[string]streams.EndedSession {
	out := map[string]streams.EndedSession{}
	for i := 0; i+1 < len(idChannel); i += 2 {
		out[idChannel[i]] = streams.EndedSession{ChannelID: idChannel[i+1], EndedAt: t0}
	}
	return out
}

// testNodeStreamSessions: a node reads back its open sessions and whether their owners are
// suspended.
func testNodeStreamSessions(t *testing.T, s Store) {
	ctx := context.Background()
	a, chA := mustCreate(t, s, "alice", "alice@example.com", true)
	_, chB := mustCreate(t, s, "bobby", "bob@example.com", true)
	_, chC := mustCreate(t, s, "carol", "carol@example.com", true)
	for id, ch := range map[string]string{"st-a": chA.ID, "st-b": chB.ID} {
		if err := s.OpenStreamSession(ctx, id, ch, "node-1", t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.OpenStreamSession(ctx, "st-c", chC.ID, "node-2", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.EndStreamSession(ctx, "st-b", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSuspension(ctx, a.ID, &t0, "spam"); err != nil {
		t.Fatal(err)
	}
	got, err := s.NodeStreamSessions(ctx, "node-1")
	if diff := cmp.Diff(map[string]bool{"st-a": true}, got); err != nil || diff != "" {
		t.Errorf("NodeStreamSessions(node-1): %v (-want +got):\n%s", err, diff)
	}
}

// testSuspension: a suspension is kept apart from profile updates, hides the channel from
// the directory and following lists, and marks its stream key's channel.
func testSuspension(t *testing.T, s Store) {
	ctx := context.Background()
	u, ch := mustCreate(t, s, "alice", "alice@example.com", true)
	fan, _ := mustCreate(t, s, "fanny", "fan@example.com", true)
	if err := s.Follow(ctx, fan.ID, ch.ID, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.OpenStreamSession(ctx, "st-a", ch.ID, "node-1", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.StartStreamSession(ctx, "st-a", t0); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Hour)
	if err := s.SetSuspension(ctx, u.ID, &at, "spam"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSuspension(ctx, "u_nobody", &at, "spam"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("suspending nobody: %v, want ErrNotFound", err)
	}
	u.Color = "blue" // a profile change written after the suspension leaves it in place
	if err := s.SetAppearance(ctx, u.ID, u.Color, u.Avatar); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.SuspendedAt == nil || !got.SuspendedAt.Equal(at) || got.SuspendedReason != "spam" || got.Color != "blue" {
		t.Errorf("suspended user = at %v reason %q color %q", got.SuspendedAt, got.SuspendedReason, got.Color)
	}
	if all, _ := s.ListUsers(ctx); len(all) != 2 || !all[0].Suspended() || all[1].Suspended() {
		t.Errorf("ListUsers does not show who is suspended")
	}
	p, err := s.ProfileByUsername(ctx, "alice")
	if err != nil || !p.Suspended {
		t.Errorf("ProfileByUsername of a suspended account: %+v, %v", p, err)
	}
	key, err := s.ChannelByStreamKeyHash(ctx, ch.StreamKeyHash)
	if err != nil || !key.Suspended {
		t.Errorf("ChannelByStreamKeyHash of a suspended account: %+v, %v", key, err)
	}
	if live, _ := s.Live(ctx, 10); len(live) != 0 {
		t.Errorf("directory lists a suspended channel: %v", usernames(live))
	}
	if following, _ := s.Following(ctx, fan.ID, 10); len(following) != 0 {
		t.Errorf("following lists a suspended channel: %v", usernames(following))
	}

	if err := s.SetSuspension(ctx, u.ID, nil, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.Suspended() || got.SuspendedReason != "" {
		t.Errorf("after lifting: at %v reason %q", got.SuspendedAt, got.SuspendedReason)
	}
	if live, _ := s.Live(ctx, 10); len(live) != 1 {
		t.Errorf("directory after lifting the suspension: %v", usernames(live))
	}
	if following, _ := s.Following(ctx, fan.ID, 10); len(following) != 1 {
		t.Errorf("following after lifting the suspension: %v", usernames(following))
	}
}

// testLiveOrigin: a channel's open session leads to its node's URL while the node's lease
// holds; an ended session, or a node whose lease ran out, leads nowhere.
func testLiveOrigin(t *testing.T, s Store) {
	ctx := context.Background()
	_, ch := mustCreate(t, s, "alice", "alice@example.com", true)
	if _, ok, err := s.LiveOrigin(ctx, ch.ID, t0); err != nil || ok {
		t.Errorf("LiveOrigin with no session = %v, %v", ok, err)
	}
	if err := s.RenewNodeLease(ctx, "node-a", t0, t0.Add(15*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetNodeURL(ctx, "node-a", "http://10.0.0.5:8080"); err != nil {
		t.Fatal(err)
	}
	if err := s.RenewNodeLease(ctx, "node-a", t0.Add(5*time.Second), t0.Add(20*time.Second)); err != nil { // a renewal keeps the URL
		t.Fatal(err)
	}
	if err := s.OpenStreamSession(ctx, "st-1", ch.ID, "node-a", t0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		at     time.Time
		want   streams.Origin
		wantOK bool
	}{
		{t0.Add(10 * time.Second), streams.Origin{SessionID: "st-1", Node: "node-a", URL: "http://10.0.0.5:8080"}, true},
		{t0.Add(21 * time.Second), streams.Origin{}, false}, // node-a's lease ran out
	}
	for _, tt := range tests {
		got, ok, err := s.LiveOrigin(ctx, ch.ID, tt.at)
		if err != nil || ok != tt.wantOK || got != tt.want {
			t.Errorf("LiveOrigin at %v = %+v, %v, %v; want %+v, %v", tt.at.Sub(t0), got, ok, err, tt.want, tt.wantOK)
		}
	}
	if err := s.EndStreamSession(ctx, "st-1", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.LiveOrigin(ctx, ch.ID, t0.Add(2*time.Second)); err != nil || ok {
		t.Errorf("LiveOrigin after the end = %v, %v", ok, err)
	}
}
