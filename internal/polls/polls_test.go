package polls_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/polls"
	"github.com/livehouse/livehouse/internal/problem"
)

// memStore is an in-memory polls.Store with the same rules as the SQL one.
type memStore struct {
	mu     sync.Mutex
	live   map[string]string // channel → session
	polls  []*polls.Poll
	votes  map[string]map[string]int // poll → user → option
	banned map[string]bool           // channel/user
}

func newMemStore() *memStore {
	return &memStore{live: map[string]string{}, votes: map[string]map[string]int{}, banned: map[string]bool{}}
}

func clone(p *polls.Poll) *polls.Poll {
	c := *p
	c.Options = slices.Clone(p.Options)
	return &c
}

func (m *memStore) LiveStreamSession(_ context.Context, ch string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.live[ch], nil
}

func (m *memStore) CreatePoll(_ context.Context, p *polls.Poll) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, q := range m.polls {
		if q.ChannelID == p.ChannelID && q.ClosedAt == nil {
			return polls.ErrOpenPoll
		}
	}
	m.polls = append(m.polls, clone(p))
	m.votes[p.ID] = map[string]int{}
	return nil
}

func (m *memStore) byID(id string) *polls.Poll {
	for _, p := range m.polls {
		if p.ID == id {
			return p
		}
	}
	return nil
}

func (m *memStore) LatestPoll(_ context.Context, ch string) (*polls.Poll, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.polls) - 1; i >= 0; i-- {
		if m.polls[i].ChannelID == ch {
			return clone(m.polls[i]), nil
		}
	}
	return nil, polls.ErrNotFound
}

func (m *memStore) PollByID(_ context.Context, id string) (*polls.Poll, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.byID(id); p != nil {
		return clone(p), nil
	}
	return nil, polls.ErrNotFound
}

func (m *memStore) Vote(_ context.Context, id, user string, option int, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.byID(id)
	if p == nil || !p.Open(at) {
		return polls.ErrClosed
	}
	if _, ok := m.votes[id][user]; ok {
		return polls.ErrAlreadyVoted
	}
	m.votes[id][user] = option
	p.Options[option].Votes++
	p.Votes++
	return nil
}

func (m *memStore) VoteOf(_ context.Context, id, user string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o, ok := m.votes[id][user]; ok {
		return o, nil
	}
	return -1, nil
}

func (m *memStore) ClosePoll(_ context.Context, id string, at time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.byID(id)
	if p == nil || p.ClosedAt != nil {
		return false, nil
	}
	p.ClosedAt = &at
	return true, nil
}

func (m *memStore) CloseExpiredPolls(_ context.Context, now time.Time) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for _, p := range m.polls {
		if p.ClosedAt == nil && !now.Before(p.EndsAt) {
			at := p.EndsAt
			p.ClosedAt = &at
			ids = append(ids, p.ID)
		}
	}
	return ids, nil
}

func (m *memStore) SessionPolls(_ context.Context, ch, session string) ([]*polls.Poll, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*polls.Poll
	for _, p := range m.polls {
		if p.ChannelID == ch && p.SessionID == session {
			out = append(out, clone(p))
		}
	}
	return out, nil
}

func (m *memStore) IsBanned(_ context.Context, ch, user string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.banned[ch+"/"+user], nil
}

// events records what was announced.
type events struct {
	mu   sync.Mutex
	sent []*polls.Poll
}

func (e *events) SendEvent(_ context.Context, room, name string, attrs map[string]string) error {
	if name != polls.EventName {
		return errors.New("unexpected event " + name)
	}
	var p polls.Poll
	if err := json.Unmarshal([]byte(attrs["poll"]), &p); err != nil {
		return err
	}
	p.ChannelID = room
	e.mu.Lock()
	e.sent = append(e.sent, &p)
	e.mu.Unlock()
	return nil
}

func (e *events) last() *polls.Poll {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.sent) == 0 {
		return nil
	}
	return e.sent[len(e.sent)-1]
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func setup(t *testing.T) (*polls.Service, *memStore, *events, *clock) {
	t.Helper()
	st := newMemStore()
	st.live["ch1"] = "st-1"
	ev := &events{}
	c := &clock{t: time.Date(2026, 12, 5, 20, 0, 0, 0, time.UTC)}
	s := polls.New(polls.Deps{Store: st, Events: ev, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: c.now})
	return s, st, ev, c
}

func code(err error) string {
	if p, ok := problem.As(err); ok {
		return p.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestValidate(t *testing.T) {
	long := strings.Repeat("x", polls.OptionMax+1)
	tests := []struct {
		name      string
		in        polls.Input
		wantField string // "" = valid
	}{
		{"valid", polls.Input{Question: " Best? ", Options: []string{"a", "b"}, Duration: 15}, ""},
		{"five options, 5 min", polls.Input{Question: "q", Options: []string{"a", "b", "c", "d", "e"}, Duration: 300}, ""},
		{"no question", polls.Input{Question: "  ", Options: []string{"a", "b"}, Duration: 15}, "question"},
		{"long question", polls.Input{Question: strings.Repeat("é", polls.QuestionMax+1), Options: []string{"a", "b"}, Duration: 15}, "question"},
		{"one option", polls.Input{Question: "q", Options: []string{"a"}, Duration: 15}, "options"},
		{"six options", polls.Input{Question: "q", Options: []string{"a", "b", "c", "d", "e", "f"}, Duration: 15}, "options"},
		{"empty option", polls.Input{Question: "q", Options: []string{"a", " "}, Duration: 15}, "options"},
		{"long option", polls.Input{Question: "q", Options: []string{"a", long}, Duration: 15}, "options"},
		{"duplicate options", polls.Input{Question: "q", Options: []string{"Yes", " yes"}, Duration: 15}, "options"},
		{"14 s", polls.Input{Question: "q", Options: []string{"a", "b"}, Duration: 14}, "duration"},
		{"301 s", polls.Input{Question: "q", Options: []string{"a", "b"}, Duration: 301}, "duration"},
	}
	for _, tt := range tests {
		_, err := polls.Validate(tt.in)
		var got string
		if p, ok := problem.As(err); ok {
			got = p.Field
			if !errors.Is(err, problem.ErrInvalid) {
				t.Errorf("%s: kind %v, want invalid", tt.name, p.Kind)
			}
		} else if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.wantField {
			t.Errorf("%s: field %q, want %q (err %v)", tt.name, got, tt.wantField, err)
		}
	}
}

func TestStartNeedsLiveAndOnlyOneOpen(t *testing.T) {
	s, st, ev, _ := setup(t)
	ctx := context.Background()
	in := polls.Input{Question: "Pizza?", Options: []string{"Yes", "No"}, Duration: 30}
	if _, err := s.Start(ctx, "offline", in); code(err) != "ChannelNotBroadcasting" {
		t.Errorf("offline channel: got %v, want ChannelNotBroadcasting", err)
	}
	p, err := s.Start(ctx, "ch1", in)
	if err != nil {
		t.Fatal(err)
	}
	if p.SessionID != "st-1" || len(p.Options) != 2 || !p.EndsAt.Equal(p.StartedAt.Add(30*time.Second)) {
		t.Errorf("started poll = %+v", p)
	}
	if got := ev.last(); got == nil || got.ID != p.ID {
		t.Errorf("start not announced: %+v", got)
	}
	if _, err := s.Start(ctx, "ch1", in); code(err) != "PollRunning" {
		t.Errorf("second poll: got %v, want PollRunning", err)
	}
	if len(st.polls) != 1 {
		t.Errorf("%d polls stored, want 1", len(st.polls))
	}
}

func TestVoteOncePerAccount(t *testing.T) {
	s, st, _, _ := setup(t)
	ctx := context.Background()
	if _, err := s.Vote(ctx, "ch1", "u1", 0); code(err) != "NoPoll" {
		t.Errorf("vote without a poll: got %v, want NoPoll", err)
	}
	if _, err := s.Start(ctx, "ch1", polls.Input{Question: "q", Options: []string{"a", "b", "c"}, Duration: 15}); err != nil {
		t.Fatal(err)
	}
	st.banned["ch1/banned"] = true
	tests := []struct {
		user   string
		option int
		want   string
	}{
		{"u1", 1, ""},
		{"u1", 1, "AlreadyVoted"},
		{"u1", 2, "AlreadyVoted"},
		{"u2", 3, "InvalidOption"},
		{"u2", -1, "InvalidOption"},
		{"u2", 2, ""},
		{"banned", 0, "BannedFromChannel"},
	}
	for _, tt := range tests {
		if _, err := s.Vote(ctx, "ch1", tt.user, tt.option); code(err) != tt.want {
			t.Errorf("Vote(%s, %d) = %v, want %q", tt.user, tt.option, err, tt.want)
		}
	}
	v, err := s.Current(ctx, "ch1", "u1")
	if err != nil {
		t.Fatal(err)
	}
	got := []int{v.Options[0].Votes, v.Options[1].Votes, v.Options[2].Votes, v.Votes}
	if diff := cmp.Diff([]int{0, 1, 1, 2}, got); diff != "" {
		t.Errorf("tally (-want +got):\n%s", diff)
	}
	if v.MyVote == nil || *v.MyVote != 1 {
		t.Errorf("u1's vote = %v, want 1", v.MyVote)
	}
	if v, _ := s.Current(ctx, "ch1", ""); v.MyVote != nil {
		t.Errorf("a signed-out viewer's vote = %v, want none", *v.MyVote)
	}
}

func TestExpiryClosesAndKeepsResult(t *testing.T) {
	s, _, ev, c := setup(t)
	ctx := context.Background()
	p, err := s.Start(ctx, "ch1", polls.Input{Question: "q", Options: []string{"a", "b"}, Duration: 15})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Vote(ctx, "ch1", "u1", 0); err != nil {
		t.Fatal(err)
	}
	c.add(14*time.Second + 999*time.Millisecond)
	s.Sweep(ctx)
	if got := ev.last(); got.ClosedAt != nil {
		t.Fatalf("closed before its end: %+v", got)
	}
	if _, err := s.Vote(ctx, "ch1", "u2", 1); err != nil {
		t.Errorf("vote in the last millisecond: %v", err)
	}
	c.add(time.Millisecond)
	if _, err := s.Vote(ctx, "ch1", "u3", 1); code(err) != "PollClosed" {
		t.Errorf("vote at the end: got %v, want PollClosed", err)
	}
	s.Sweep(ctx)
	final := ev.last()
	if final.ClosedAt == nil || !final.ClosedAt.Equal(p.EndsAt) || final.Votes != 2 {
		t.Errorf("final announcement = %+v, want closed at its end with 2 votes", final)
	}
	n := len(ev.sent)
	s.Sweep(ctx)
	s.Flush(ctx)
	if len(ev.sent) != n {
		t.Errorf("a closed poll was announced again")
	}
	// The result shows for ResultsFor, and stays with the session.
	c.add(polls.ResultsFor)
	if v, _ := s.Current(ctx, "ch1", ""); v == nil || v.ClosedAt == nil {
		t.Errorf("result not shown within ResultsFor: %+v", v)
	}
	c.add(time.Millisecond)
	if v, _ := s.Current(ctx, "ch1", ""); v != nil {
		t.Errorf("result still shown after ResultsFor: %+v", v)
	}
	list, err := s.SessionPolls(ctx, "ch1", "st-1")
	if err != nil || len(list) != 1 || list[0].Votes != 2 {
		t.Errorf("SessionPolls = %+v, %v; want the poll with 2 votes", list, err)
	}
}

func TestEndEarly(t *testing.T) {
	s, _, ev, _ := setup(t)
	ctx := context.Background()
	if err := s.End(ctx, "ch1"); err != nil {
		t.Errorf("End with no poll: %v", err)
	}
	if _, err := s.Start(ctx, "ch1", polls.Input{Question: "q", Options: []string{"a", "b"}, Duration: 60}); err != nil {
		t.Fatal(err)
	}
	if err := s.End(ctx, "ch1"); err != nil {
		t.Fatal(err)
	}
	if got := ev.last(); got.ClosedAt == nil {
		t.Errorf("end not announced: %+v", got)
	}
	if _, err := s.Vote(ctx, "ch1", "u1", 0); code(err) != "PollClosed" {
		t.Errorf("vote after End: got %v, want PollClosed", err)
	}
	if _, err := s.Start(ctx, "ch1", polls.Input{Question: "next", Options: []string{"a", "b"}, Duration: 60}); err != nil {
		t.Errorf("a new poll after End: %v", err)
	}
}

// 100 viewers vote at once, some twice: each account counts once and the tally adds up.
func TestConcurrentVotes(t *testing.T) {
	s, _, ev, _ := setup(t)
	ctx := context.Background()
	if _, err := s.Start(ctx, "ch1", polls.Input{Question: "q", Options: []string{"a", "b", "c"}, Duration: 60}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, refused := 0, 0
	for i := range 100 {
		wg.Go(func() {
			user := "u" + string(rune('A'+i%50)) // 50 accounts, each voting twice
			_, err := s.Vote(ctx, "ch1", user, i%3)
			mu.Lock()
			defer mu.Unlock()
			switch code(err) {
			case "":
				accepted++
			case "AlreadyVoted":
				refused++
			default:
				t.Errorf("vote %d: %v", i, err)
			}
		})
		if i%10 == 0 {
			wg.Go(func() { s.Flush(ctx) })
		}
	}
	wg.Wait()
	if accepted != 50 || refused != 50 {
		t.Errorf("accepted %d, refused %d; want 50 and 50", accepted, refused)
	}
	s.Flush(ctx)
	got := ev.last()
	sum := 0
	for _, o := range got.Options {
		sum += o.Votes
	}
	if got.Votes != 50 || sum != 50 {
		t.Errorf("announced tally %+v: %d votes, options sum %d; want 50", got.Options, got.Votes, sum)
	}
}

// Two nodes share the store: votes through either count in one tally, each node announces
// what it read, and only one of them announces the result.
func TestTwoNodes(t *testing.T) {
	st := newMemStore()
	st.live["ch1"] = "st-1"
	c := &clock{t: time.Date(2026, 12, 5, 20, 0, 0, 0, time.UTC)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	evA, evB := &events{}, &events{}
	a := polls.New(polls.Deps{Store: st, Events: evA, Log: log, Now: c.now})
	b := polls.New(polls.Deps{Store: st, Events: evB, Log: log, Now: c.now})
	ctx := context.Background()
	if _, err := a.Start(ctx, "ch1", polls.Input{Question: "q", Options: []string{"a", "b"}, Duration: 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Vote(ctx, "ch1", "u1", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Vote(ctx, "ch1", "u2", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Vote(ctx, "ch1", "u1", 1); code(err) != "AlreadyVoted" {
		t.Errorf("u1 voting again through the other node: %v", err)
	}
	a.Flush(ctx)
	b.Flush(ctx)
	for name, ev := range map[string]*events{"a": evA, "b": evB} {
		if got := ev.last(); got.Votes != 2 {
			t.Errorf("node %s announced %d votes, want 2", name, got.Votes)
		}
	}
	c.add(20 * time.Second)
	nA, nB := len(evA.sent), len(evB.sent)
	var wg sync.WaitGroup
	wg.Go(func() { a.Sweep(ctx) })
	wg.Go(func() { b.Sweep(ctx) })
	wg.Wait()
	if finals := len(evA.sent) - nA + len(evB.sent) - nB; finals != 1 {
		t.Errorf("%d result announcements, want 1", finals)
	}
}
