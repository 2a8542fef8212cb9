package viewers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/bus"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/playback"
	"github.com/livehouse/livehouse/internal/problem"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newClock() *clock { return &clock{now: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)} }

// bans is a settable ban list (channel + "/" + user) and set of private channels, on whose
// allowlists nobody is.
type bans struct {
	mu      sync.Mutex
	set     map[string]bool
	private map[string]bool
}

func (b *bans) MayWatch(_ context.Context, channelID, userID string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return channels.Access{Banned: b.set[channelID+"/"+userID], Private: b.private[channelID]}.Check()
}

func (b *bans) makePrivate(channelID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.private[channelID] = true
}

func (b *bans) ban(channelID, userID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.set[channelID+"/"+userID] = true
}

func newService(t *testing.T, clk *clock, cfg Config) (*Service, *bans) {
	t.Helper()
	signer, err := playback.NewSigner(make([]byte, 32), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	b := &bans{set: map[string]bool{}, private: map[string]bool{}}
	return NewService(New(cfg, clk.Now, nil), signer, b, 0, clk.Now), b
}

func TestCounting(t *testing.T) {
	clk := newClock()
	s, _ := newService(t, clk, Config{Node: "a", PerAddress: 3})
	beacon := func(channel, token, addr string) error {
		t.Helper()
		_, err := s.Beacon(context.Background(), channel, token, addr)
		return err
	}
	anon := func() string { return s.Grant("ch1", "").Token }

	for i := range 5 { // 5 sessions from one address, cap 3
		if err := beacon("ch1", anon(), "192.0.2.1"); err != nil {
			t.Fatalf("beacon %d: %v", i, err)
		}
	}
	if got, want := s.Viewers("ch1"), 3; got != want {
		t.Errorf("5 anonymous sessions from one address: Viewers = %d, want %d (the cap)", got, want)
	}
	// IPv6 addresses of one /64 share a cap; another /64 has its own.
	for i := range 4 {
		beacon("ch1", anon(), fmt.Sprintf("2001:db8:0:1::%x", i+1))
	}
	beacon("ch1", anon(), "2001:db8:0:2::1")
	if got, want := s.Viewers("ch1"), 3+3+1; got != want {
		t.Errorf("after IPv6 sessions: Viewers = %d, want %d", got, want)
	}

	// A signed-in user counts once, however many sessions (tabs) they have.
	for range 4 {
		beacon("ch1", s.Grant("ch1", "u1").Token, "198.51.100.7")
	}
	if got, want := s.Viewers("ch1"), 8; got != want {
		t.Errorf("one user with 4 tabs: Viewers = %d, want %d", got, want)
	}
	if got := s.Viewers("ch2"); got != 0 {
		t.Errorf("another channel: Viewers = %d, want 0", got)
	}

	// Forged, mangled and other channels' tokens count nothing and are refused.
	other := s.Grant("ch2", "").Token
	forger, _ := playback.NewSigner([]byte(strings.Repeat("f", 32)), clk.Now)
	for name, tok := range map[string]string{
		"other channel":   other,
		"other secret":    forger.Mint(playback.Claims{ChannelID: "ch1"}),
		"made up":         "vt0123456789abcdef",
		"empty":           "",
		"truncated":       anon()[:20],
		"long expired":    forger.Mint(playback.Claims{ChannelID: "ch1", Expires: clk.Now().Add(-time.Hour)}),
		"signature moved": strings.Split(anon(), ".")[0] + "." + strings.Split(other, ".")[1],
	} {
		err := beacon("ch1", tok, "203.0.113.9")
		if p, ok := problem.As(err); !ok || p.Code != "InvalidPlaybackToken" || !errors.Is(err, problem.ErrForbidden) {
			t.Errorf("%s: Beacon = %v, want InvalidPlaybackToken", name, err)
		}
	}
	if got, want := s.Viewers("ch1"), 8; got != want {
		t.Errorf("after forged beacons: Viewers = %d, want %d", got, want)
	}

	// Sessions that stop sending beacons drop out after the window; one that keeps sending
	// stays.
	keep := s.Grant("ch1", "u2").Token
	beacon("ch1", keep, "198.51.100.8")
	for range 3 {
		clk.Add(DefaultWindow / 2)
		beacon("ch1", keep, "198.51.100.8")
	}
	if got, want := s.Viewers("ch1"), 1; got != want {
		t.Errorf("after the window: Viewers = %d, want %d (the one still sending)", got, want)
	}
	if got, want := s.Local(), 1; got != want {
		t.Errorf("Local = %d, want %d", got, want)
	}
}

func TestLeaveDropsAtOnce(t *testing.T) {
	clk := newClock()
	s, _ := newService(t, clk, Config{Node: "a"})
	a, b := s.Grant("ch1", "").Token, s.Grant("ch1", "u1").Token
	b2 := s.Grant("ch1", "u1").Token // the same user in a second tab
	for _, tok := range []string{a, b, b2} {
		if _, err := s.Beacon(context.Background(), "ch1", tok, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		leave string
		want  int
	}{
		{a, 1},  // the anonymous viewer left
		{b, 1},  // the user closed one tab and still watches in the other
		{b2, 0}, // and then the other
		{b2, 0}, // a repeated leave changes nothing
	}
	for i, st := range steps {
		if err := s.Leave("ch1", st.leave); err != nil {
			t.Fatalf("step %d: Leave = %v", i, err)
		}
		if got := s.Viewers("ch1"); got != st.want {
			t.Errorf("step %d: Viewers = %d, want %d", i, got, st.want)
		}
	}
	if err := s.Leave("ch2", a); err == nil {
		t.Errorf("Leave with another channel's token succeeded")
	}
}

func TestThousandsOfSessionsFromOneAddress(t *testing.T) {
	clk := newClock()
	s, _ := newService(t, clk, Config{Node: "a"})
	for i := range 3000 {
		if _, err := s.Beacon(context.Background(), "ch1", s.Grant("ch1", "").Token, "192.0.2.1"); err != nil {
			t.Fatalf("beacon %d: %v", i, err)
		}
	}
	if got := s.Viewers("ch1"); got > DefaultPerAddress {
		t.Errorf("3,000 valid sessions from one address count %d, want at most %d", got, DefaultPerAddress)
	}
}

func TestMemoryIsBounded(t *testing.T) {
	clk := newClock()
	c := New(Config{Node: "a", MaxSessions: 100, PerAddress: 1000}, clk.Now, nil)
	var full int
	for i := range 150 {
		err := c.Seen(playback.Claims{ChannelID: "ch1", SessionID: fmt.Sprint("s", i)}, "192.0.2.1")
		if errors.Is(err, ErrFull) {
			full++
		}
	}
	if full != 50 || c.Viewers("ch1") != 100 {
		t.Errorf("150 sessions with room for 100: %d refused, %d counted", full, c.Viewers("ch1"))
	}
	clk.Add(DefaultWindow + time.Second) // the old ones expire and make room
	if err := c.Seen(playback.Claims{ChannelID: "ch1", SessionID: "new"}, "192.0.2.1"); err != nil {
		t.Errorf("after the old sessions expired: %v", err)
	}
}

func TestBannedViewerIsRefusedRenewal(t *testing.T) {
	clk := newClock()
	s, b := newService(t, clk, Config{Node: "a"})
	tok := s.Grant("ch1", "u1")
	clk.Add(BeaconEvery)
	renewed, err := s.Beacon(context.Background(), "ch1", tok.Token, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if renewed.Token == tok.Token || !renewed.Expires.Equal(clk.Now().Add(playback.DefaultTTL)) || renewed.RenewAfter != BeaconEvery {
		t.Errorf("renewal = %+v", renewed)
	}
	signer, _ := playback.NewSigner(make([]byte, 32), clk.Now)
	c1, _ := signer.Verify(tok.Token, "ch1")
	c2, _ := signer.Verify(renewed.Token, "ch1")
	if c1.SessionID != c2.SessionID || c2.UserID != "u1" {
		t.Errorf("the renewed token is for another session: %+v, was %+v", c2, c1)
	}

	b.ban("ch1", "u1")
	_, err = s.Beacon(context.Background(), "ch1", renewed.Token, "192.0.2.1")
	if p, ok := problem.As(err); !ok || p.Code != "BannedFromChannel" {
		t.Errorf("beacon after the ban: %v, want BannedFromChannel", err)
	}
	if got := s.Viewers("ch1"); got != 0 {
		t.Errorf("the banned viewer still counts: %d", got)
	}
	// An expired token is renewed within the grace (a sleeping laptop), not after.
	anon := s.Grant("ch1", "").Token
	clk.Add(playback.DefaultTTL + time.Minute)
	if _, err := s.Beacon(context.Background(), "ch1", anon, "192.0.2.1"); err != nil {
		t.Errorf("renewing a token a minute past its expiry: %v", err)
	}
	clk.Add(renewGrace)
	if _, err := s.Beacon(context.Background(), "ch1", anon, "192.0.2.1"); err == nil {
		t.Errorf("renewed a token past the grace")
	}
}

// TestPrivateChannelRefusesRenewal: once a channel turns private, a viewer not on its
// allowlist (here anonymous) gets no fresh token and stops counting; their current token
// expires within its lifetime, which is how their playback stops on every node.
func TestPrivateChannelRefusesRenewal(t *testing.T) {
	clk := newClock()
	s, b := newService(t, clk, Config{Node: "a"})
	tok := s.Grant("ch1", "")
	if _, err := s.Beacon(context.Background(), "ch1", tok.Token, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if got := s.Viewers("ch1"); got != 1 {
		t.Fatalf("viewers = %d, want 1", got)
	}
	b.makePrivate("ch1")
	_, err := s.Beacon(context.Background(), "ch1", tok.Token, "192.0.2.1")
	if p, ok := problem.As(err); !ok || p.Code != "PrivateChannel" {
		t.Errorf("beacon once private: %v, want PrivateChannel", err)
	}
	if got := s.Viewers("ch1"); got != 0 {
		t.Errorf("a viewer refused renewal still counts: %d", got)
	}
	if err := s.Check("ch1", tok.Token); err != nil {
		t.Errorf("the token minted before is refused before its expiry: %v", err)
	}
	clk.Add(playback.DefaultTTL)
	if err := s.Check("ch1", tok.Token); err == nil {
		t.Errorf("the token minted before still plays past its lifetime")
	}
}

// fakeBus delivers published messages straight to the subscribed handlers.
type fakeBus struct {
	mu       sync.Mutex
	handlers []func(string, []byte)
}

func (f *fakeBus) Publish(_ context.Context, subject string, data []byte) error {
	f.mu.Lock()
	hs := append([]func(string, []byte){}, f.handlers...)
	f.mu.Unlock()
	for _, h := range hs {
		h(subject, data)
	}
	return nil
}

func TestNodesSumAndExpire(t *testing.T) {
	clk := newClock()
	a := New(Config{Node: "a", PublishEvery: time.Second}, clk.Now, nil)
	b := New(Config{Node: "b", PublishEvery: time.Second}, clk.Now, nil)
	fb := &fakeBus{}
	fb.handlers = []func(string, []byte){a.Deliver, b.Deliver}
	for i := range 3 {
		a.Seen(playback.Claims{ChannelID: "ch1", SessionID: fmt.Sprint("a", i)}, fmt.Sprint("192.0.2.", i))
	}
	b.Seen(playback.Claims{ChannelID: "ch1", SessionID: "b0", UserID: "u1"}, "192.0.2.100")
	b.Seen(playback.Claims{ChannelID: "ch2", SessionID: "b1"}, "192.0.2.100")
	a.Publish(context.Background(), fb)
	b.Publish(context.Background(), fb)
	for _, c := range []struct {
		node    *Counter
		channel string
		want    int
	}{{a, "ch1", 4}, {b, "ch1", 4}, {a, "ch2", 1}, {b, "ch2", 1}} {
		if got := c.node.Viewers(c.channel); got != c.want {
			t.Errorf("node %s: Viewers(%s) = %d, want %d", c.node.cfg.Node, c.channel, got, c.want)
		}
	}
	// Node b stops publishing (it died): a drops its counts after three intervals.
	clk.Add(2 * time.Second)
	a.Publish(context.Background(), fb)
	if got := a.Viewers("ch1"); got != 4 {
		t.Errorf("within three intervals: %d, want 4", got)
	}
	clk.Add(2 * time.Second)
	if got := a.Viewers("ch1"); got != 3 {
		t.Errorf("after b went silent: %d, want 3", got)
	}
	// Malformed and impersonating reports change nothing.
	a.Deliver(SubjectPrefix+"c", []byte(`{"node":"d","counts":{"ch1":50}}`))
	a.Deliver(SubjectPrefix+"c", []byte(`not json`))
	a.Deliver(SubjectPrefix+"a", []byte(`{"node":"a","counts":{"ch1":50}}`))
	if got := a.Viewers("ch1"); got != 3 {
		t.Errorf("after malformed reports: %d, want 3", got)
	}
}

func TestBannedViewerDropsOnEveryNode(t *testing.T) {
	clk := newClock()
	a := New(Config{Node: "a"}, clk.Now, nil)
	b := New(Config{Node: "b"}, clk.Now, nil)
	fb := &fakeBus{}
	fb.handlers = []func(string, []byte){
		func(s string, d []byte) {
			if s == DropSubject {
				b.DeliverDrop(s, d)
			}
		},
	}
	a.Seen(playback.Claims{ChannelID: "ch1", SessionID: "s1", UserID: "u1"}, "192.0.2.1")
	b.Seen(playback.Claims{ChannelID: "ch1", SessionID: "s2", UserID: "u1"}, "192.0.2.1")
	b.Seen(playback.Claims{ChannelID: "ch1", SessionID: "s3", UserID: "u2"}, "192.0.2.1")
	b.Seen(playback.Claims{ChannelID: "ch2", SessionID: "s4", UserID: "u1"}, "192.0.2.1")
	a.Banned(context.Background(), fb, "ch1", "u1")
	for _, c := range []struct {
		node    *Counter
		channel string
		want    int
	}{{a, "ch1", 0}, {b, "ch1", 1}, {b, "ch2", 1}} {
		if got := c.node.Viewers(c.channel); got != c.want {
			t.Errorf("node %s after the ban: Viewers(%s) = %d, want %d", c.node.cfg.Node, c.channel, got, c.want)
		}
	}
	b.DeliverDrop(DropSubject, []byte(`{"channelId":"ch2"}`)) // malformed: no user
	if got := b.Viewers("ch2"); got != 1 {
		t.Errorf("a malformed drop changed the count: %d", got)
	}
}

// TestNodesOverTheBus runs two counters on one real (embedded) bus, as two nodes would.
func TestNodesOverTheBus(t *testing.T) {
	ctx := context.Background()
	bb, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bb.Close()
	a := New(Config{Node: "a", PublishEvery: 50 * time.Millisecond}, nil, nil)
	b := New(Config{Node: "b", PublishEvery: 50 * time.Millisecond}, nil, nil)
	for _, c := range []*Counter{a, b} {
		sub, err := bb.Subscribe(SubjectPrefix+">", c.Deliver)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
	}
	a.Seen(playback.Claims{ChannelID: "ch1", SessionID: "a0"}, "192.0.2.1")
	b.Seen(playback.Claims{ChannelID: "ch1", SessionID: "b0"}, "192.0.2.1")
	b.Seen(playback.Claims{ChannelID: "ch1", SessionID: "b1", UserID: "u"}, "192.0.2.1")
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 2)
	go func() { done <- a.Run(runCtx, bb) }()
	go func() { done <- b.Run(runCtx, bb) }()
	waitFor(t, func() bool { return a.Viewers("ch1") == 3 && b.Viewers("ch1") == 3 })

	// b leaving the cluster cleanly publishes an empty set: a drops it at once.
	stop()
	<-done
	<-done
	a.Seen(playback.Claims{ChannelID: "ch9", SessionID: "x"}, "192.0.2.1")
	waitFor(t, func() bool { return a.Viewers("ch1") == 1 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
}

func FuzzDeliver(f *testing.F) {
	f.Add("viewers.counts.b", []byte(`{"node":"b","counts":{"ch1":3},"everyMs":5000}`))
	f.Add("viewers.counts.", []byte(`{}`))
	f.Fuzz(func(t *testing.T, subject string, data []byte) {
		c := New(Config{Node: "a"}, nil, nil)
		c.Deliver(subject, data)
		if n := c.Viewers("ch1"); n < 0 {
			t.Fatalf("negative count %d", n)
		}
	})
}
