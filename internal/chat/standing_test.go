package chat

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// fakeAccess is a store's view of users' standing.
type fakeAccess struct {
	mu      sync.Mutex
	banned  map[string]bool // room/user
	revoked map[string]bool // user
	calls   int
}

func (a *fakeAccess) check(_ context.Context, roomID, userID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	switch {
	case a.revoked[userID]:
		return ErrRevoked
	case a.banned[roomID+"/"+userID]:
		return ErrBanned
	}
	return nil
}

func (a *fakeAccess) set(f func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f()
}

func standingHub(t *testing.T) (*Hub, *clock, *fakeAccess) {
	clk := &clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	h := newClockedHub(clk, DefaultRoomRate)
	acc := &fakeAccess{banned: map[string]bool{}, revoked: map[string]bool{}}
	h.SetAccess(acc.check)
	return h, clk, acc
}

func issue(t *testing.T, h *Hub, room, user string) string {
	t.Helper()
	tok, _, _, err := h.IssueToken(context.Background(), &Grant{RoomID: room, UserID: user, Capabilities: []string{CapSend}, SessionDuration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func closedWith(c *Conn) string {
	s := c.sink.(*sink)
	s.hub.fanning.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// A ban disconnects the user's connections to the room (after the DISCONNECT_USER event,
// as IVS does) and voids the tokens issued to them before it, on redeeming and on joining.
func TestBanVoidsTokensAndConnections(t *testing.T) {
	ctx := context.Background()
	h, clk, acc := standingHub(t)
	before := issue(t, h, "r", "troll")
	g, err := h.Redeem(ctx, issue(t, h, "r", "troll"))
	if err != nil {
		t.Fatal(err)
	}
	live := join(h, g)
	bystander := join(h, &Grant{RoomID: "r", UserID: "fan", Capabilities: []string{CapSend}})
	frames(live)

	clk.add(time.Second)
	acc.set(func() { acc.banned["r/troll"] = true })
	h.Ban(ctx, "r", "troll")
	got := frames(live)
	if len(got) != 1 || got[0]["EventName"] != "aws:DISCONNECT_USER" || got[0]["Attributes"].(map[string]any)["UserId"] != "troll" {
		t.Errorf("the banned connection got %v, want the DISCONNECT_USER event", got)
	}
	if r := closedWith(live); r != "banned" {
		t.Errorf("the banned connection was closed with %q, want banned", r)
	}
	if r := closedWith(bystander); r != "" {
		t.Errorf("a bystander was closed: %q", r)
	}
	if _, err := h.Redeem(ctx, before); !errors.Is(err, ErrBanned) {
		t.Errorf("redeeming a token issued before the ban: %v, want ErrBanned", err)
	}
	// A grant redeemed before the ban's delivery, joining after it, is refused too.
	if _, err := h.Join(g, &sink{hub: h}, ""); !errors.Is(err, ErrBanned) {
		t.Errorf("joining with a grant from before the ban: %v, want ErrBanned", err)
	}
	// Unbanned, a new token works.
	clk.add(time.Second)
	acc.set(func() { delete(acc.banned, "r/troll") })
	if _, err := h.Redeem(ctx, issue(t, h, "r", "troll")); err != nil {
		t.Errorf("a token issued after the unban: %v", err)
	}
}

// A send checks the sender's standing in the store (cached for accessTTL): a ban the bus
// never carried still stops the next message and closes the connection.
func TestSendChecksStanding(t *testing.T) {
	ctx := context.Background()
	h, clk, acc := standingHub(t)
	g, err := h.Redeem(ctx, issue(t, h, "r", "troll"))
	if err != nil {
		t.Fatal(err)
	}
	c := join(h, g)
	h.Handle(ctx, c, &Action{Action: "SEND_MESSAGE", Content: "one"})
	if got := frames(c); len(got) != 1 || got[0]["Type"] != "MESSAGE" {
		t.Fatalf("first send: %v", got)
	}
	calls := acc.calls
	acc.set(func() { acc.banned["r/troll"] = true }) // behind the bus's back
	clk.add(accessTTL + time.Millisecond)
	h.Handle(ctx, c, &Action{Action: "SEND_MESSAGE", Content: "two", RequestID: "q"})
	got := frames(c)
	if len(got) != 1 || got[0]["ErrorCode"] != float64(403) || got[0]["RequestId"] != "q" {
		t.Errorf("send after the ban: %v, want a 403 ERROR", got)
	}
	if r := closedWith(c); r != "banned" {
		t.Errorf("closed with %q, want banned", r)
	}
	// Within accessTTL the answer is the cached one: one store call per user per TTL.
	c2 := join(h, &Grant{RoomID: "r", UserID: "fan", Capabilities: []string{CapSend}})
	for range 5 {
		h.Handle(ctx, c2, &Action{Action: "SEND_MESSAGE", Content: "hi"})
	}
	if n := acc.calls - calls; n != 2 {
		t.Errorf("%d store calls for 6 sends by 2 users, want 2", n)
	}
}

// EndUser (account deleted or suspended) closes the user's connections to every room, on
// every node that hears it, and voids their earlier tokens; others are untouched.
func TestEndUserClosesEveryRoom(t *testing.T) {
	ctx := context.Background()
	h, clk, acc := standingHub(t)
	early := issue(t, h, "r1", "gone")
	a := join(h, &Grant{RoomID: "r1", UserID: "gone", Capabilities: []string{CapSend}, IssuedAt: clk.Now()})
	b := join(h, &Grant{RoomID: "r2", UserID: "gone", Capabilities: []string{CapSend}, IssuedAt: clk.Now()})
	other := join(h, &Grant{RoomID: "r1", UserID: "stays", Capabilities: []string{CapSend}, IssuedAt: clk.Now()})
	clk.add(time.Second)
	if err := EndUser(ctx, h.publish, "gone", "account deleted", clk.Now()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Conn{a, b} {
		got := frames(c)
		if len(got) != 1 || got[0]["EventName"] != "aws:DISCONNECT_USER" {
			t.Errorf("got %v, want the DISCONNECT_USER event", got)
		}
		if r := closedWith(c); r != "account deleted" {
			t.Errorf("closed with %q, want account deleted", r)
		}
	}
	if r := closedWith(other); r != "" || len(frames(other)) != 0 {
		t.Errorf("another user's connection was touched")
	}
	acc.set(func() { acc.revoked["gone"] = true })
	if _, err := h.Redeem(ctx, early); !errors.Is(err, ErrRevoked) {
		t.Errorf("redeeming an earlier token: %v, want ErrRevoked", err)
	}
	// Restored (unsuspended), a new token works; the revocation is forgotten in time.
	acc.set(func() { delete(acc.revoked, "gone") })
	clk.add(time.Second)
	if _, err := h.Redeem(ctx, issue(t, h, "r1", "gone")); err != nil {
		t.Errorf("a token issued after the suspension was lifted: %v", err)
	}
	clk.add(revokedKeep + time.Second)
	h.Purge(ctx)
	h.mu.Lock()
	n := len(h.revoked)
	h.mu.Unlock()
	if n != 0 {
		t.Errorf("%d revocations kept past revokedKeep", n)
	}
}

// purgeCounter records the hub's purges of the token store.
type purgeCounter struct {
	memTokens
	at []time.Time
}

func (p *purgeCounter) PurgeChatTokens(_ context.Context, now time.Time) (int64, error) {
	p.at = append(p.at, now)
	return 0, nil
}

// Purge, which Run calls every purgeEvery, purges the tokens expired by the hub's clock.
func TestPurgePurgesExpiredTokens(t *testing.T) {
	store := &purgeCounter{memTokens: memTokens{m: map[string]string{}}}
	clk := &clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	h := NewHub(store, func(context.Context, string, []byte) error { return nil }, newLoopHub().log, clk.Now)
	h.Purge(context.Background())
	if len(store.at) != 1 || !store.at[0].Equal(clk.Now()) {
		t.Errorf("purges at %v, want one at %v", store.at, clk.Now())
	}
}

// A room whose channel turns private loses, on every node, the connections of everyone but
// the users kept (its owner and allowlist), anonymous ones included, after the
// DISCONNECT_USER event; a token issued before to anyone else no longer joins, one issued
// after (the token route has checked the allowlist) does.
func TestRestrictOnEveryNode(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	tokens := &memTokens{m: map[string]string{}}
	var nodes []*Hub
	publish := func(_ context.Context, subject string, data []byte) error {
		for _, h := range nodes { // the bus: every node hears every room message
			h.Deliver(subject, data)
		}
		return nil
	}
	for range 2 {
		nodes = append(nodes, NewHub(tokens, publish, slog.New(slog.DiscardHandler), clk.Now))
	}
	a, b := nodes[0], nodes[1]
	grant := func(user string) *Grant { return &Grant{RoomID: "r", UserID: user, IssuedAt: clk.Now()} }
	conns := map[string]*Conn{
		"owner@a": join(a, grant("owner")), "fan@b": join(b, grant("fan")),
		"stranger@a": join(a, grant("stranger")), "stranger@b": join(b, grant("stranger")),
		"anon@b": join(b, grant(AnonymousPrefix+"x")), "other-room@a": join(a, &Grant{RoomID: "s", UserID: "stranger"}),
	}
	before, err := a.Redeem(ctx, issue(t, a, "r", "stranger"))
	if err != nil {
		t.Fatal(err)
	}
	clk.add(time.Second)
	if err := a.Restrict(ctx, "r", []string{"owner", "fan"}); err != nil {
		t.Fatal(err)
	}
	for name, c := range conns {
		want := ""
		if name == "stranger@a" || name == "stranger@b" || name == "anon@b" {
			want = "channel is private"
			got := frames(c)
			if len(got) != 1 || got[0]["EventName"] != "aws:DISCONNECT_USER" {
				t.Errorf("%s was sent %v, want a DISCONNECT_USER event", name, got)
			}
		}
		if got := closedWith(c); got != want {
			t.Errorf("%s closed with %q, want %q", name, got, want)
		}
	}
	for i, h := range nodes {
		if _, err := h.Join(before, &sink{hub: h}, ""); !errors.Is(err, ErrPrivate) {
			t.Errorf("node %d: joining with a token from before = %v, want ErrPrivate", i, err)
		}
	}
	clk.add(time.Second)
	after, err := b.Redeem(ctx, issue(t, b, "r", "stranger"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Join(after, &sink{hub: b}, ""); err != nil {
		t.Errorf("joining with a token issued after = %v", err)
	}
	if err := a.Restrict(ctx, "r", make([]string, MaxKeep+1)); err == nil {
		t.Errorf("Restrict kept %d users", MaxKeep+1)
	}
}
