package stages_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/stages"
)

// fakeChannels: every user "u-<name>" owns channel "ch-<name>"; banned holds channel→user.
type fakeChannels struct{ banned map[string]string }

func (f fakeChannels) ByUsername(_ context.Context, username string) (*channels.Profile, error) {
	n := strings.ToLower(username)
	if n == "nobody" {
		return nil, channels.ErrNotFound
	}
	return &channels.Profile{ChannelID: "ch-" + n, UserID: "u-" + n, Username: username}, nil
}

func (f fakeChannels) ForOwner(_ context.Context, userID string) (*channels.Channel, error) {
	return &channels.Channel{ID: "ch-" + strings.TrimPrefix(userID, "u-"), UserID: userID}, nil
}

func (f fakeChannels) access(channelID, userID string) channels.Access {
	return channels.Access{Owner: channelID == "ch-"+strings.TrimPrefix(userID, "u-"), Banned: f.banned[channelID] == userID}
}

func (f fakeChannels) Watchable(_ context.Context, channelID, userID string) (channels.Access, error) {
	return f.access(channelID, userID), nil
}

func (f fakeChannels) MayWatch(_ context.Context, channelID, userID string) error {
	return f.access(channelID, userID).Check()
}

type fakeMedia struct {
	mu           sync.Mutex
	dropped      []string
	closed       []string
	subs         int
	unsubscribed []string
}

func (m *fakeMedia) Publish(context.Context, string, string, string) (string, error) {
	return "answer", nil
}

func (m *fakeMedia) Subscribe(context.Context, string, string, string, string, string) (string, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.subs++
	return fmt.Sprintf("sub-%d", m.subs), "answer", nil
}

func (m *fakeMedia) Unsubscribe(_, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.unsubscribed = append(m.unsubscribed, id)
	return nil
}
func (m *fakeMedia) Drop(_, id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropped = append(m.dropped, id)
}

func (m *fakeMedia) Close(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = append(m.closed, id)
}

type events struct {
	mu    sync.Mutex
	names []string
}

func (e *events) SendEvent(_ context.Context, room, name string, attrs map[string]string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.names = append(e.names, room+" "+attrs["stage"][:strings.Index(attrs["stage"], ",")])
	return nil
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newService(banned map[string]string) (*stages.Service, *fakeMedia, *clock) {
	m := &fakeMedia{}
	clk := &clock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	return stages.New(stages.Deps{Channels: fakeChannels{banned: banned}, Media: m, Events: &events{}, Now: clk.Now}), m, clk
}

func code(err error) string {
	if p, ok := problem.As(err); ok {
		return p.Code
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestRequestLimits(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newService(map[string]string{"ch-host0": "u-bad"})
	for i := range stages.MaxRequestsPerUser + 1 {
		host := "host" + string(rune('0'+i))
		if _, err := s.Start(ctx, "u-"+host, host); err != nil {
			t.Fatal(err)
		}
	}
	if got := code(s.RequestToJoin(ctx, "u-bad", "bad", "host0")); got != "BannedFromChannel" {
		t.Errorf("banned request: %s", got)
	}
	if got := code(s.RequestToJoin(ctx, "u-x", "x", "nobody")); !errors.Is(s.RequestToJoin(ctx, "u-x", "x", "nobody"), channels.ErrNotFound) {
		t.Errorf("request to an unknown channel: %s", got)
	}
	if got := code(s.RequestToJoin(ctx, "u-x", "x", "idle")); got != "NoActiveStage" {
		t.Errorf("request with no stage: %s", got)
	}
	for i := range stages.MaxRequestsPerUser {
		if err := s.RequestToJoin(ctx, "u-eve", "eve", "host"+string(rune('0'+i))); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	// Asking again changes nothing; a sixth stage is too many.
	if err := s.RequestToJoin(ctx, "u-eve", "eve", "host0"); err != nil {
		t.Errorf("asking twice: %v", err)
	}
	last := "host" + string(rune('0'+stages.MaxRequestsPerUser))
	if got := code(s.RequestToJoin(ctx, "u-eve", "eve", last)); got != "TooManyStageRequests" {
		t.Errorf("sixth pending request: %s", got)
	}
	// A stage takes MaxRequests pending requests.
	for i := range stages.MaxRequests {
		if err := s.RequestToJoin(ctx, "u-r"+string(rune('A'+i)), "r", last); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if got := code(s.RequestToJoin(ctx, "u-late", "late", last)); got != "TooManyRequests" {
		t.Errorf("request past the stage's cap: %s", got)
	}
	v, err := s.HostState(ctx, "u-"+last)
	if err != nil || len(v.Requests) != stages.MaxRequests {
		t.Errorf("host sees %d requests (%v), want %d", len(v.Requests), err, stages.MaxRequests)
	}
}

func TestHostGraceAndIdleParticipants(t *testing.T) {
	ctx := context.Background()
	s, media, clk := newService(nil)
	st, err := s.Start(ctx, "u-hana", "hana")
	if err != nil {
		t.Fatal(err)
	}
	// A guest who joins and publishes nothing is dropped after JoinTimeout.
	g, err := s.Join(ctx, "u-ivan", "ivan", "hana", st.InviteCode)
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.Join(ctx, "u-hana", "hana", "hana", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish(ctx, h.StageID, h.ParticipantID, h.Token, "offer"); err != nil {
		t.Fatal(err)
	}
	clk.Add(stages.JoinTimeout)
	s.Sweep(ctx)
	v, _ := s.Public(ctx, "hana", "")
	if len(v.Participants) != 1 || v.Participants[0].ID != h.ParticipantID || !v.HostPresent {
		t.Errorf("after the join timeout: %+v", v)
	}
	if diff := cmp.Diff([]string{g.ParticipantID}, media.dropped); diff != "" {
		t.Errorf("dropped (-want +got):\n%s", diff)
	}
	// The host's connection is lost; the stage waits HostGrace, and a return resets it.
	s.MediaGone(h.StageID, h.ParticipantID)
	clk.Add(stages.HostGrace - time.Second)
	s.Sweep(ctx)
	if !s.Active(ctx, "ch-hana") {
		t.Fatal("stage ended before the grace was up")
	}
	h, err = s.Join(ctx, "u-hana", "hana", "hana", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish(ctx, h.StageID, h.ParticipantID, h.Token, "offer"); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	s.Sweep(ctx)
	if !s.Active(ctx, "ch-hana") {
		t.Fatal("stage ended although the host came back")
	}
	if err := s.Leave(ctx, h.StageID, h.ParticipantID, "wrong"); code(err) != "InvalidParticipantToken" {
		t.Errorf("leaving with a wrong token: %v", err)
	}
	if err := s.Leave(ctx, h.StageID, h.ParticipantID, h.Token); err != nil {
		t.Fatal(err)
	}
	clk.Add(stages.HostGrace)
	s.Sweep(ctx)
	if s.Active(ctx, "ch-hana") {
		t.Fatal("stage still open HostGrace after the host left")
	}
	if diff := cmp.Diff([]string{h.StageID}, media.closed); diff != "" {
		t.Errorf("closed (-want +got):\n%s", diff)
	}
	// A stage whose host never arrives ends too.
	if _, err := s.Start(ctx, "u-hana", "hana"); err != nil {
		t.Fatal(err)
	}
	clk.Add(stages.HostGrace)
	s.Sweep(ctx)
	if s.Active(ctx, "ch-hana") {
		t.Error("a stage the host never joined is still open")
	}
}
