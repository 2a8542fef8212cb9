// Package polls is the domain of live polls: a streamer asks a question with two to five
// options for 15 s to 5 min during a live stream; signed-in viewers vote once each; the tally
// is kept by the store (so a restart or another node sees the same one), announced to the
// channel's chat room as it changes, and kept with the stream session once the poll ends.
package polls

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/problem"
)

// Limits of a poll (the reference's, with our longer durations).
const (
	QuestionMax = 256 // code points
	OptionMax   = 40  // code points
	OptionsMin  = 2
	OptionsMax  = 5
	DurationMin = 15  // seconds
	DurationMax = 300 // seconds
)

// ResultsFor is how long after its end a poll's result stays on the channel page.
const ResultsFor = 20 * time.Second

// EventName is the chat room event that carries a poll's state: its attribute "poll" is the
// Poll as JSON. The room gets one when a poll starts, at most every TallyEvery (per node)
// while votes come in, and one with closedAt set when it ends.
const EventName = "app:POLL"

// TallyEvery bounds how often a node announces a poll's changing tally; sweepEvery is how
// often it closes polls whose time is up.
const (
	TallyEvery = 250 * time.Millisecond
	sweepEvery = time.Second
)

// Errors the store answers with.
var (
	ErrNotFound     = errors.New("poll not found")
	ErrOpenPoll     = errors.New("the channel has an open poll")
	ErrAlreadyVoted = errors.New("already voted")
	ErrClosed       = errors.New("poll closed")
)

// Poll is a poll and its tally.
type Poll struct {
	ID        string     `json:"id"`
	ChannelID string     `json:"-"`
	SessionID string     `json:"sessionId"`
	Question  string     `json:"question"`
	Options   []Option   `json:"options"`
	Votes     int        `json:"votes"` // in all
	StartedAt time.Time  `json:"startedAt"`
	EndsAt    time.Time  `json:"endsAt"`
	ClosedAt  *time.Time `json:"closedAt,omitempty"` // set once the poll is over (ended early or on time)
}

// Option is one answer and its votes.
type Option struct {
	Label string `json:"label"`
	Votes int    `json:"votes"`
}

// Open reports whether the poll takes votes at now.
func (p *Poll) Open(now time.Time) bool { return p.ClosedAt == nil && now.Before(p.EndsAt) }

// end is when the poll stopped (or will stop) taking votes.
func (p *Poll) end() time.Time {
	if p.ClosedAt != nil && p.ClosedAt.Before(p.EndsAt) {
		return *p.ClosedAt
	}
	return p.EndsAt
}

// Store keeps polls and votes.
type Store interface {
	// LiveStreamSession is the id of the channel's live stream session, "" when it is not live.
	LiveStreamSession(ctx context.Context, channelID string) (string, error)
	// CreatePoll stores a new poll with zero votes; ErrOpenPoll if the channel has one open.
	CreatePoll(ctx context.Context, p *Poll) error
	// LatestPoll is the channel's most recent poll; ErrNotFound if it never had one.
	LatestPoll(ctx context.Context, channelID string) (*Poll, error)
	PollByID(ctx context.Context, id string) (*Poll, error)
	// Vote records a user's vote if the poll is open at at: ErrClosed, ErrAlreadyVoted.
	Vote(ctx context.Context, pollID, userID string, option int, at time.Time) error
	// VoteOf is the option a user voted for, -1 if none.
	VoteOf(ctx context.Context, pollID, userID string) (int, error)
	// ClosePoll closes an open poll at at, reporting whether this call closed it.
	ClosePoll(ctx context.Context, pollID string, at time.Time) (bool, error)
	// CloseExpiredPolls closes every open poll whose end is not after now and returns their
	// ids; each id is returned by one call only, on whichever node made it.
	CloseExpiredPolls(ctx context.Context, now time.Time) ([]string, error)
	// SessionPolls lists a stream session's polls, oldest first.
	SessionPolls(ctx context.Context, channelID, sessionID string) ([]*Poll, error)
	IsBanned(ctx context.Context, channelID, userID string) (bool, error)
}

// Announcer sends an event to a channel's chat room, on every node.
type Announcer interface {
	SendEvent(ctx context.Context, roomID, name string, attrs map[string]string) error
}

// Deps are what the service is built from. Now may be nil.
type Deps struct {
	Store  Store
	Events Announcer
	Log    *slog.Logger
	Now    func() time.Time
}

// Service runs polls.
type Service struct {
	store  Store
	events Announcer
	log    *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	dirty map[string]string // poll id → channel id: votes taken here since the last tally

	// flushing makes flushes take turns: two at once could announce in the other order,
	// the older tally last, and it stayed until the next vote.
	flushing sync.Mutex
}

// New builds the service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{store: d.Store, events: d.Events, log: d.Log, now: d.Now, dirty: map[string]string{}}
}

// Input is what a streamer asks.
type Input struct {
	Question string   `json:"question"`
	Options  []string `json:"options"`
	Duration int      `json:"duration"` // seconds
}

// Validate checks a poll's input, returning it trimmed.
func Validate(in Input) (Input, error) {
	out := Input{Question: strings.TrimSpace(in.Question), Duration: in.Duration}
	switch n := utf8.RuneCountInString(out.Question); {
	case n == 0:
		return out, problem.Invalid("InvalidPoll", "question", "Ask a question.")
	case n > QuestionMax:
		return out, problem.Invalid("InvalidPoll", "question", fmt.Sprintf("The question must be at most %d characters.", QuestionMax))
	}
	if len(in.Options) < OptionsMin || len(in.Options) > OptionsMax {
		return out, problem.Invalid("InvalidPoll", "options", fmt.Sprintf("A poll has %d to %d options.", OptionsMin, OptionsMax))
	}
	seen := map[string]bool{}
	for _, o := range in.Options {
		o = strings.TrimSpace(o)
		switch n := utf8.RuneCountInString(o); {
		case n == 0:
			return out, problem.Invalid("InvalidPoll", "options", "Options must not be empty.")
		case n > OptionMax:
			return out, problem.Invalid("InvalidPoll", "options", fmt.Sprintf("Options must be at most %d characters.", OptionMax))
		}
		if key := strings.ToLower(o); seen[key] {
			return out, problem.Invalid("InvalidPoll", "options", "Options must be different from each other.")
		} else {
			seen[key] = true
		}
		out.Options = append(out.Options, o)
	}
	if in.Duration < DurationMin || in.Duration > DurationMax {
		return out, problem.Invalid("InvalidPoll", "duration", fmt.Sprintf("A poll runs for %d to %d seconds.", DurationMin, DurationMax))
	}
	return out, nil
}

// Start opens a poll on the channel's live stream.
func (s *Service) Start(ctx context.Context, channelID string, in Input) (*Poll, error) {
	in, err := Validate(in)
	if err != nil {
		return nil, err
	}
	session, err := s.store.LiveStreamSession(ctx, channelID)
	if err != nil {
		return nil, fmt.Errorf("finding the live session: %w", err)
	}
	if session == "" {
		return nil, problem.NotFound("ChannelNotBroadcasting", "Your channel is not live: polls need a live stream.")
	}
	s.Sweep(ctx) // a poll whose time is up but which no node has closed yet must not block this one
	now := s.now().UTC().Truncate(time.Millisecond)
	p := &Poll{ID: "poll_" + channels.RandomID(16), ChannelID: channelID, SessionID: session, Question: in.Question,
		StartedAt: now, EndsAt: now.Add(time.Duration(in.Duration) * time.Second)}
	for _, o := range in.Options {
		p.Options = append(p.Options, Option{Label: o})
	}
	if err := s.store.CreatePoll(ctx, p); errors.Is(err, ErrOpenPoll) {
		return nil, problem.Conflict("PollRunning", "", "A poll is running: end it before starting another.")
	} else if err != nil {
		return nil, fmt.Errorf("creating a poll: %w", err)
	}
	s.announce(ctx, p)
	return p, nil
}

// End closes the channel's open poll early; with none open it does nothing.
func (s *Service) End(ctx context.Context, channelID string) error {
	p, err := s.store.LatestPoll(ctx, channelID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if p.ClosedAt != nil {
		return nil
	}
	return s.finish(ctx, p.ID, s.now().UTC().Truncate(time.Millisecond))
}

// finish closes a poll and announces its result, once, from the node whose call closed it.
func (s *Service) finish(ctx context.Context, pollID string, at time.Time) error {
	closed, err := s.store.ClosePoll(ctx, pollID, at)
	if err != nil || !closed {
		return err
	}
	return s.announceFinal(ctx, pollID)
}

func (s *Service) announceFinal(ctx context.Context, pollID string) error {
	s.mu.Lock()
	delete(s.dirty, pollID)
	s.mu.Unlock()
	p, err := s.store.PollByID(ctx, pollID)
	if err != nil {
		return err
	}
	s.announce(ctx, p)
	return nil
}

// View is a poll as one viewer sees it.
type View struct {
	*Poll
	MyVote *int `json:"myVote"` // the option the viewer chose; null if none (or signed out)
}

// Current is the channel's poll a viewer should see: the open one, or the last one for
// ResultsFor after its end; nil if none. viewerID is "" for a signed-out viewer.
func (s *Service) Current(ctx context.Context, channelID, viewerID string) (*View, error) {
	p, err := s.store.LatestPoll(ctx, channelID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !p.Open(now) && now.Sub(p.end()) > ResultsFor {
		return nil, nil
	}
	v := &View{Poll: p}
	if viewerID != "" {
		choice, err := s.store.VoteOf(ctx, p.ID, viewerID)
		if err != nil {
			return nil, err
		}
		if choice >= 0 {
			v.MyVote = &choice
		}
	}
	return v, nil
}

// Vote records a signed-in viewer's vote on the channel's open poll: once per account, never
// by someone banned from the channel.
func (s *Service) Vote(ctx context.Context, channelID, userID string, option int) (*View, error) {
	banned, err := s.store.IsBanned(ctx, channelID, userID)
	if err != nil {
		return nil, err
	}
	if banned {
		return nil, problem.Forbidden("BannedFromChannel", "You are banned from this channel.")
	}
	p, err := s.store.LatestPoll(ctx, channelID)
	if errors.Is(err, ErrNotFound) {
		return nil, problem.NotFound("NoPoll", "This channel has no poll running.")
	}
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if !p.Open(now) {
		return nil, pollClosed()
	}
	if option < 0 || option >= len(p.Options) {
		return nil, problem.Invalid("InvalidOption", "option", fmt.Sprintf("Choose an option from 0 to %d.", len(p.Options)-1))
	}
	switch err := s.store.Vote(ctx, p.ID, userID, option, now); {
	case errors.Is(err, ErrAlreadyVoted):
		return nil, problem.Conflict("AlreadyVoted", "option", "You have already voted in this poll.")
	case errors.Is(err, ErrClosed):
		return nil, pollClosed()
	case err != nil:
		return nil, fmt.Errorf("voting: %w", err)
	}
	s.mu.Lock()
	s.dirty[p.ID] = channelID
	s.mu.Unlock()
	if p, err = s.store.PollByID(ctx, p.ID); err != nil {
		return nil, err
	}
	return &View{Poll: p, MyVote: &option}, nil
}

func pollClosed() error {
	return problem.Conflict("PollClosed", "", "This poll has ended.")
}

// SessionPolls lists the polls of one of the channel's stream sessions, with their results.
func (s *Service) SessionPolls(ctx context.Context, channelID, sessionID string) ([]*Poll, error) {
	return s.store.SessionPolls(ctx, channelID, sessionID)
}

// Run announces tallies and closes polls whose time is up until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	tally := time.NewTicker(TallyEvery)
	defer tally.Stop()
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tally.C:
			s.Flush(ctx)
		case <-sweep.C:
			s.Sweep(ctx)
		}
	}
}

// Flush announces the tally of every poll voted on here since the last flush.
func (s *Service) Flush(ctx context.Context) {
	s.flushing.Lock()
	defer s.flushing.Unlock()
	s.mu.Lock()
	dirty := s.dirty
	s.dirty = map[string]string{}
	s.mu.Unlock()
	for id := range dirty {
		p, err := s.store.PollByID(ctx, id)
		if err != nil {
			s.log.Warn("reading a poll's tally", "poll", id, "err", err)
			continue
		}
		if p.ClosedAt == nil { // a closed poll's result went out with its closing
			s.announce(ctx, p)
		}
	}
}

// Sweep closes the polls whose time is up and announces their results.
func (s *Service) Sweep(ctx context.Context) {
	ids, err := s.store.CloseExpiredPolls(ctx, s.now().UTC())
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("closing expired polls", "err", err)
		}
		return
	}
	for _, id := range ids {
		if err := s.announceFinal(ctx, id); err != nil {
			s.log.Warn("announcing a poll's result", "poll", id, "err", err)
		}
	}
}

func (s *Service) announce(ctx context.Context, p *Poll) {
	if s.events == nil {
		return
	}
	data, _ := json.Marshal(p)
	if err := s.events.SendEvent(ctx, p.ChannelID, EventName, map[string]string{"poll": string(data)}); err != nil {
		s.log.Warn("announcing a poll", "poll", p.ID, "err", err)
	}
}
