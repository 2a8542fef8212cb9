package stages_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/stages"
	"github.com/livehouse/livehouse/internal/viewers"
)

// fakeAudience: a token is "{session}:{anything}"; it counts the sessions beaconed and not
// left, and refuses the sessions in banned.
type fakeAudience struct {
	mu      sync.Mutex
	counted map[string]bool
	beacons int
	banned  map[string]bool
}

func session(token string) string { s, _, _ := strings.Cut(token, ":"); return s }

func (a *fakeAudience) Check(_, token string) error {
	if !strings.Contains(token, ":") {
		return problem.Forbidden("InvalidPlaybackToken", "bad token")
	}
	return nil
}

func (a *fakeAudience) Session(_, token string) (string, error) { return session(token), nil }

func (a *fakeAudience) Beacon(_ context.Context, _, token, _ string) (viewers.Ticket, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.banned[session(token)] {
		delete(a.counted, session(token))
		return viewers.Ticket{}, problem.Forbidden("BannedFromChannel", "banned")
	}
	a.beacons++
	a.counted[session(token)] = true
	return viewers.Ticket{Token: session(token) + ":renewed", RenewAfter: viewers.BeaconEvery}, nil
}

func (a *fakeAudience) Leave(_, token string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.counted, session(token))
	return nil
}

func (a *fakeAudience) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.counted)
}

// TestSpectatorsCount: a spectator counts as one viewer of the channel from its first
// subscription (whatever token each carries) until its last ends, by unsubscribing, by the
// SFU's word, or with the stage; its session is renewed while it watches, and a refused
// renewal (a ban) ends its subscriptions. Participants' subscriptions do not count.
func TestSpectatorsCount(t *testing.T) {
	ctx := context.Background()
	media := &fakeMedia{}
	aud := &fakeAudience{counted: map[string]bool{}, banned: map[string]bool{}}
	clk := &clock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	s := stages.New(stages.Deps{Channels: fakeChannels{}, Tokens: aud, Audience: aud, Media: media, Events: &events{}, Now: clk.Now})
	st, err := s.Start(ctx, "u-hana", "hana")
	if err != nil {
		t.Fatal(err)
	}
	host := publishing(t, s, "hana", "")
	guest := publishing(t, s, "ivan", st.InviteCode)
	subscribe := func(publisher, token string) string {
		t.Helper()
		id, _, err := s.Subscribe(ctx, st.ID, publisher, token, "192.0.2.1:5000", "offer")
		if err != nil {
			t.Fatalf("subscribing with %s: %v", token, err)
		}
		return id
	}
	// Participants watching each other are not viewers.
	subscribe(guest.ParticipantID, host.Token)
	subscribe(host.ParticipantID, guest.Token)
	if got := aud.count(); got != 0 {
		t.Fatalf("participants counted as viewers: %d", got)
	}
	if _, _, err := s.Subscribe(ctx, st.ID, host.ParticipantID, "no-token", "192.0.2.1:5000", "offer"); code(err) != "InvalidPlaybackToken" || aud.count() != 0 {
		t.Errorf("a bad token: %v, count %d", err, aud.count())
	}
	// One spectator (session s1), two subscriptions with two readings' tokens: one viewer.
	s1a := subscribe(host.ParticipantID, "s1:first")
	s1b := subscribe(guest.ParticipantID, "s1:second")
	if got := aud.count(); got != 1 {
		t.Errorf("one spectator with two subscriptions counts %d", got)
	}
	s2 := subscribe(host.ParticipantID, "s2:x")
	if got := aud.count(); got != 2 {
		t.Errorf("two spectators count %d", got)
	}
	// s2 leaves: one fewer.
	if err := s.Unsubscribe(st.ID, s2); err != nil {
		t.Fatal(err)
	}
	if got := aud.count(); got != 1 {
		t.Errorf("after s2 left: %d", got)
	}
	s.SubscriptionEnded(st.ID, s2, "") // the SFU's word, after the fact: nothing more
	// The SFU ends one of s1's subscriptions (its publisher left, its connection failed): s1
	// still watches the other. A participant's subscription ending changes nothing.
	s.SubscriptionEnded(st.ID, s1a, "")
	s.SubscriptionEnded(st.ID, "sub-1", host.ParticipantID)
	if got := aud.count(); got != 1 {
		t.Errorf("s1 with one subscription left counts %d, want 1", got)
	}
	// Renewal: nothing before it is due, a beacon once it is.
	before := aud.beacons
	s.Sweep(ctx)
	if aud.beacons != before {
		t.Errorf("renewed before it was due: %d beacons, want %d", aud.beacons, before)
	}
	clk.Add(viewers.BeaconEvery)
	s.Sweep(ctx)
	if aud.beacons != before+1 {
		t.Errorf("after %s: %d beacons, want %d", viewers.BeaconEvery, aud.beacons, before+1)
	}
	// s1 is banned: its next renewal is refused, and its subscription ends.
	aud.mu.Lock()
	aud.banned["s1"] = true
	aud.mu.Unlock()
	clk.Add(viewers.BeaconEvery)
	s.Sweep(ctx)
	if !slices.Contains(media.unsubscribed, s1b) || aud.count() != 0 {
		t.Errorf("after s1's ban: unsubscribed %v, count %d", media.unsubscribed, aud.count())
	}
	if _, _, err := s.Subscribe(ctx, st.ID, host.ParticipantID, "s1:again", "192.0.2.1:5000", "offer"); code(err) != "BannedFromChannel" || aud.count() != 0 {
		t.Errorf("the banned spectator subscribing again: %v, count %d", err, aud.count())
	}
	// The stage ends: its spectators no longer count.
	subscribe(host.ParticipantID, "s3:x")
	subscribe(guest.ParticipantID, "s4:x")
	if got := aud.count(); got != 2 {
		t.Errorf("two new spectators count %d", got)
	}
	if err := s.End(ctx, "u-hana"); err != nil {
		t.Fatal(err)
	}
	if got := aud.count(); got != 0 {
		t.Errorf("after the stage ended: %d", got)
	}
}
