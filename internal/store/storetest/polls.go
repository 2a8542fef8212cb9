package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/chat"
	"github.com/livehouse/livehouse/internal/polls"
)

// A poll needs a live session, one is open per channel, each account votes once, a vote
// after the end or after a close is refused, and expired polls are closed once.
func testPolls(t *testing.T, s Store) {
	ctx := context.Background()
	_, ch := mustCreate(t, s, "streamer", "streamer@example.com", true)
	var voters []string
	for i := range 3 {
		u, _ := mustCreate(t, s, fmt.Sprintf("voter%d", i), fmt.Sprintf("voter%d@example.com", i), true)
		voters = append(voters, u.ID)
	}
	if id, err := s.LiveStreamSession(ctx, ch.ID); err != nil || id != "" {
		t.Errorf("LiveStreamSession before going live = %q, %v; want none", id, err)
	}
	mustOpenSession(t, s, "st-poll", ch.ID, t0)
	if id, _ := s.LiveStreamSession(ctx, ch.ID); id != "" {
		t.Errorf("LiveStreamSession of a session not started = %q, want none", id)
	}
	if err := s.StartStreamSession(ctx, "st-poll", t0); err != nil {
		t.Fatal(err)
	}
	if id, err := s.LiveStreamSession(ctx, ch.ID); err != nil || id != "st-poll" {
		t.Errorf("LiveStreamSession = %q, %v; want st-poll", id, err)
	}
	if _, err := s.LatestPoll(ctx, ch.ID); !errors.Is(err, polls.ErrNotFound) {
		t.Errorf("LatestPoll with none = %v, want ErrNotFound", err)
	}
	p := &polls.Poll{ID: "poll_1", ChannelID: ch.ID, SessionID: "st-poll", Question: "Best?", StartedAt: t0, EndsAt: t0.Add(30 * time.Second),
		Options: []polls.Option{{Label: "a"}, {Label: "b"}, {Label: "c"}}}
	if err := s.CreatePoll(ctx, p); err != nil {
		t.Fatal(err)
	}
	second := *p
	second.ID = "poll_2"
	if err := s.CreatePoll(ctx, &second); !errors.Is(err, polls.ErrOpenPoll) {
		t.Errorf("a second open poll: got %v, want ErrOpenPoll", err)
	}
	votes := []struct {
		user   string
		option int
		at     time.Time
		want   error
	}{
		{voters[0], 2, t0.Add(time.Second), nil},
		{voters[0], 1, t0.Add(2 * time.Second), polls.ErrAlreadyVoted},
		{voters[1], 2, t0.Add(29 * time.Second), nil},
		{voters[2], 0, t0.Add(30 * time.Second), polls.ErrClosed},
	}
	for _, v := range votes {
		if err := s.Vote(ctx, p.ID, v.user, v.option, v.at); !errors.Is(err, v.want) {
			t.Errorf("Vote(%s, %d) = %v, want %v", v.user, v.option, err, v.want)
		}
	}
	got, err := s.LatestPoll(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := *p
	want.Options = []polls.Option{{Label: "a"}, {Label: "b"}, {Label: "c", Votes: 2}}
	want.Votes = 2
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("LatestPoll (-want +got):\n%s", diff)
	}
	if o, err := s.VoteOf(ctx, p.ID, voters[0]); err != nil || o != 2 {
		t.Errorf("VoteOf(voter0) = %d, %v; want 2", o, err)
	}
	if o, err := s.VoteOf(ctx, p.ID, voters[2]); err != nil || o != -1 {
		t.Errorf("VoteOf(voter2) = %d, %v; want -1", o, err)
	}
	// Sweeping before the end closes nothing; at the end, it closes the poll at its end, once.
	if ids, err := s.CloseExpiredPolls(ctx, t0.Add(29*time.Second)); err != nil || len(ids) != 0 {
		t.Errorf("CloseExpiredPolls before the end = %v, %v", ids, err)
	}
	if ids, err := s.CloseExpiredPolls(ctx, t0.Add(40*time.Second)); err != nil || !cmp.Equal(ids, []string{p.ID}) {
		t.Errorf("CloseExpiredPolls = %v, %v; want [%s]", ids, err, p.ID)
	}
	if ids, _ := s.CloseExpiredPolls(ctx, t0.Add(41*time.Second)); len(ids) != 0 {
		t.Errorf("second CloseExpiredPolls = %v, want none", ids)
	}
	got, _ = s.PollByID(ctx, p.ID)
	if got.ClosedAt == nil || !got.ClosedAt.Equal(p.EndsAt) {
		t.Errorf("closed at %v, want its end %v", got.ClosedAt, p.EndsAt)
	}
	// A new poll may start now; closing it early refuses later votes, and closes it once.
	second.StartedAt, second.EndsAt = t0.Add(time.Minute), t0.Add(5*time.Minute)
	if err := s.CreatePoll(ctx, &second); err != nil {
		t.Fatalf("a poll after the first closed: %v", err)
	}
	if ok, err := s.ClosePoll(ctx, second.ID, t0.Add(2*time.Minute)); err != nil || !ok {
		t.Errorf("ClosePoll = %v, %v; want true", ok, err)
	}
	if ok, _ := s.ClosePoll(ctx, second.ID, t0.Add(3*time.Minute)); ok {
		t.Error("ClosePoll of a closed poll = true")
	}
	if err := s.Vote(ctx, second.ID, voters[2], 0, t0.Add(2*time.Minute+time.Second)); !errors.Is(err, polls.ErrClosed) {
		t.Errorf("vote after ClosePoll = %v, want ErrClosed", err)
	}
	list, err := s.SessionPolls(ctx, ch.ID, "st-poll")
	if err != nil || len(list) != 2 || list[0].ID != p.ID || list[1].ID != second.ID || list[0].Votes != 2 {
		t.Errorf("SessionPolls = %+v, %v; want both, oldest first", list, err)
	}
	if list, _ := s.SessionPolls(ctx, "other", "st-poll"); len(list) != 0 {
		t.Errorf("SessionPolls of another channel = %+v, want none", list)
	}
}

// Concurrent votes by many accounts all count, each once.
func testPollConcurrentVotes(t *testing.T, s Store) {
	ctx := context.Background()
	_, ch := mustCreate(t, s, "streamer", "streamer@example.com", true)
	mustOpenSession(t, s, "st-c", ch.ID, t0)
	p := &polls.Poll{ID: "poll_c", ChannelID: ch.ID, SessionID: "st-c", Question: "q", StartedAt: t0, EndsAt: t0.Add(time.Minute),
		Options: []polls.Option{{Label: "a"}, {Label: "b"}}}
	if err := s.CreatePoll(ctx, p); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var users []string
	for i := range n {
		u, _ := mustCreate(t, s, fmt.Sprintf("fan%d", i), fmt.Sprintf("fan%d@example.com", i), true)
		users = append(users, u.ID)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range 2 * n { // every account votes twice
		wg.Go(func() {
			err := s.Vote(ctx, p.ID, users[i%n], i%2, t0.Add(time.Second))
			if err != nil && !errors.Is(err, polls.ErrAlreadyVoted) {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Vote: %v", err)
	}
	got, err := s.PollByID(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Votes != n || got.Options[0].Votes+got.Options[1].Votes != n {
		t.Errorf("tally %+v with %d votes; want %d in all", got.Options, got.Votes, n)
	}
}

// Chat settings default to off, are replaced whole, and follows tell since when.
func testChatSettings(t *testing.T, s Store) {
	ctx := context.Background()
	fan, _ := mustCreate(t, s, "fanny", "fan@example.com", true)
	_, ch := mustCreate(t, s, "streamer", "streamer@example.com", true)
	if got, err := s.ChatSettings(ctx, ch.ID); err != nil || got != (chat.Settings{}) {
		t.Errorf("ChatSettings with none = %+v, %v; want off", got, err)
	}
	for _, want := range []chat.Settings{{FollowersOnly: true, FollowersMinutes: 10, SlowSeconds: 30}, {SlowSeconds: 3}} {
		if err := s.PutChatSettings(ctx, ch.ID, want, t0); err != nil {
			t.Fatal(err)
		}
		if got, err := s.ChatSettings(ctx, ch.ID); err != nil || got != want {
			t.Errorf("ChatSettings = %+v, %v; want %+v", got, err, want)
		}
	}
	if at, err := s.FollowedSince(ctx, ch.ID, fan.ID); err != nil || at != nil {
		t.Errorf("FollowedSince without a follow = %v, %v", at, err)
	}
	if err := s.Follow(ctx, fan.ID, ch.ID, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if at, err := s.FollowedSince(ctx, ch.ID, fan.ID); err != nil || at == nil || !at.Equal(t0.Add(time.Hour)) {
		t.Errorf("FollowedSince = %v, %v; want %v", at, err, t0.Add(time.Hour))
	}
}

// BenchVotes measures a vote (the poll's row, the vote, its option's count, in one
// transaction) by 1,000 accounts in turn; every 1,000 votes a new poll takes over.
func BenchVotes(b *testing.B, s Store) {
	ctx := context.Background()
	u, ch := newAccount("benchstreamer", "benchstreamer@example.com", true)
	if err := s.CreateAccount(ctx, u, ch); err != nil {
		b.Fatal(err)
	}
	const n = 1000
	users := make([]string, n)
	for i := range users {
		v, vch := newAccount(fmt.Sprintf("benchvoter%d", i), fmt.Sprintf("benchvoter%d@example.com", i), true)
		if err := s.CreateAccount(ctx, v, vch); err != nil {
			b.Fatal(err)
		}
		users[i] = v.ID
	}
	if err := s.OpenStreamSession(ctx, "st-bench", ch.ID, "", t0); err != nil {
		b.Fatal(err)
	}
	var poll string
	i := 0
	for b.Loop() {
		if i%n == 0 {
			b.StopTimer()
			if poll != "" {
				if _, err := s.ClosePoll(ctx, poll, t0); err != nil {
					b.Fatal(err)
				}
			}
			poll = fmt.Sprintf("poll_bench%d", i/n)
			p := &polls.Poll{ID: poll, ChannelID: ch.ID, SessionID: "st-bench", Question: "q", StartedAt: t0, EndsAt: t0.Add(time.Hour),
				Options: []polls.Option{{Label: "a"}, {Label: "b"}, {Label: "c"}}}
			if err := s.CreatePoll(ctx, p); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if err := s.Vote(ctx, poll, users[i%n], i%3, t0.Add(time.Second)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
