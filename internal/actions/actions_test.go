package actions

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/streams"
)

type fakeSink struct {
	mu   sync.Mutex
	cues []Cue
}

func (f *fakeSink) PutCue(_ string, c Cue) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cues = append(f.cues, c)
	return nil
}

type fakeLives map[string]*streams.Live

func (f fakeLives) Live(id string) *streams.Live { return f[id] }

type fakeStore map[string]json.RawMessage

func (f fakeStore) SaveActionConfig(_ context.Context, userID, name string, data json.RawMessage, _ time.Time) error {
	f[userID+"/"+name] = data
	return nil
}
func (f fakeStore) ActionConfigs(_ context.Context, userID string) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	for k, v := range f {
		if u, name, _ := strings.Cut(k, "/"); u == userID {
			out[name] = v
		}
	}
	return out, nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup(t *testing.T) (*Service, *fakeSink, fakeStore, *clock, *channels.Channel) {
	sink, store, lives := &fakeSink{}, fakeStore{}, fakeLives{}
	ch := &channels.Channel{ID: "ch_1", UserID: "u_1"}
	lives["ch_1"] = &streams.Live{SessionID: "st-1", Channel: streams.Channel{ID: "ch_1"}}
	c := &clock{time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	s := NewService(store, sink, lives, slog.New(slog.NewTextHandler(io.Discard, nil)), c.now, Options{})
	return s, sink, store, c, ch
}

const quiz = `{"question":"Capital of Canada?","answers":["Vancouver"," Ottawa ","Calgary"],"correctAnswerIndex":1,"duration":25}`

func TestStartQuiz(t *testing.T) {
	s, sink, store, _, ch := setup(t)
	a, err := s.Start(context.Background(), ch, Quiz, json.RawMessage(quiz))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"question":"Capital of Canada?","answers":["Vancouver","Ottawa","Calgary"],"correctAnswerIndex":1,"duration":25}`
	if string(a.Data) != want || a.Duration != 25 || a.ExpiresAt == nil || !strings.HasPrefix(a.ID, "sa-") {
		t.Errorf("action = %+v", a)
	}
	if len(sink.cues) != 1 || string(sink.cues[0].Payload) != `{"name":"quiz","data":`+want+`}` || sink.cues[0].Duration != 25*time.Second {
		t.Errorf("cues = %+v", sink.cues)
	}
	if string(store["u_1/quiz"]) != want {
		t.Errorf("saved = %s", store["u_1/quiz"])
	}
	if s.Active("ch_1") != a {
		t.Errorf("not active")
	}
}

func TestValidation(t *testing.T) {
	cases := []struct {
		name, data, field string
	}{
		{Quiz, `{"question":"Q","answers":["a","b"],"correctAnswerIndex":0,"duration":15}`, "answers"},
		{Quiz, `{"question":"Q","answers":["a","b"," a"],"correctAnswerIndex":0,"duration":15}`, "answers.2"},
		{Quiz, `{"question":"Q","answers":["a","b","c"],"correctAnswerIndex":0,"duration":40}`, "duration"},
		{Quiz, `{"question":"Q","answers":["a","b","c"],"correctAnswerIndex":3,"duration":15}`, "correctAnswerIndex"},
		{Quiz, `{"question":"","answers":["a","b","c"],"correctAnswerIndex":0,"duration":15}`, "question"},
		{Quiz, `{"question":"Q","answers":["a","b","c"],"correctAnswerIndex":0,"duration":15,"extra":1}`, "data"},
		{Product, `{"title":"Sneakers","price":"$250","imageUrl":"javascript:alert(1)","description":""}`, "imageUrl"},
		{Product, `{"title":"` + strings.Repeat("x", 33) + `","price":"$250","imageUrl":"https://example.com/a.png"}`, "title"},
		{Notice, `{"title":"Hi","message":"","duration":15}`, "message"},
		{Notice, `{"title":"Hi","message":"m","duration":4}`, "duration"},
		{Celebration, `{"duration":31}`, "duration"},
		{"poll", `{}`, "name"},
		{AmazonProduct, `{"title":"t","price":"1","imageUrl":"https://x/y","productUrl":"https://x/z"}`, "name"},
	}
	for _, c := range cases {
		s, sink, store, _, ch := setup(t)
		_, err := s.Start(context.Background(), ch, c.name, json.RawMessage(c.data))
		p, ok := problem.As(err)
		if !ok || !errors.Is(err, problem.ErrInvalid) || p.Field != c.field {
			t.Errorf("%s %s: err %v, want field %q", c.name, c.data, err, c.field)
		}
		if len(sink.cues) != 0 || len(store) != 0 || s.Active("ch_1") != nil {
			t.Errorf("%s: a refused action changed something", c.name)
		}
	}
	// Saving allows an unfinished form, but not one over the limits.
	s, _, store, _, _ := setup(t)
	if _, err := s.Save(context.Background(), "u_1", Quiz, json.RawMessage(`{"question":"","answers":["","",""],"correctAnswerIndex":0,"duration":15}`)); err != nil {
		t.Errorf("saving an empty quiz: %v", err)
	}
	if _, err := s.Save(context.Background(), "u_1", Notice, json.RawMessage(`{"title":"","message":"","duration":99}`)); !errors.Is(err, problem.ErrInvalid) || store["u_1/notice"] != nil {
		t.Errorf("saving a notice of 99 s: %v", err)
	}
}

func TestNotLiveTooLargeAndRate(t *testing.T) {
	s, sink, _, c, ch := setup(t)
	off := &channels.Channel{ID: "ch_off", UserID: "u_2"}
	if _, err := s.Start(context.Background(), off, Celebration, nil); !errors.Is(err, problem.ErrNotFound) {
		t.Errorf("offline channel: %v", err)
	}
	big := `{"title":"` + strings.Repeat("é", 24) + `","message":"` + strings.Repeat("😀", 256) + `","duration":15}`
	if _, err := s.Start(context.Background(), ch, Notice, json.RawMessage(big)); !errors.Is(err, problem.ErrTooLarge) {
		t.Errorf("over 1 KB: %v", err)
	}
	for i := 0; i < RatePerSecond; i++ {
		if _, err := s.Start(context.Background(), ch, Celebration, nil); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if _, err := s.Start(context.Background(), ch, Celebration, nil); !errors.Is(err, problem.ErrThrottled) {
		t.Errorf("6th in a second: %v", err)
	}
	c.t = c.t.Add(time.Second)
	if _, err := s.Start(context.Background(), ch, Celebration, nil); err != nil {
		t.Errorf("after a second: %v", err)
	}
	if len(sink.cues) != RatePerSecond+1 {
		t.Errorf("%d cues sent", len(sink.cues))
	}
}

func TestReplaceStopAndStreamEnd(t *testing.T) {
	s, sink, _, _, ch := setup(t)
	ctx := context.Background()
	first, _ := s.Start(ctx, ch, Product, json.RawMessage(`{"title":"Sneakers","price":"$250","imageUrl":"https://example.com/s.png","description":"nice"}`))
	if first.ExpiresAt != nil || first.Duration != 0 {
		t.Errorf("a product is perpetual: %+v", first)
	}
	second, _ := s.Start(ctx, ch, Notice, json.RawMessage(`{"title":"Hi","message":"Thanks all","duration":15}`))
	if s.Active("ch_1") != second {
		t.Errorf("a new action does not replace the active one")
	}
	if err := s.Stop(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if s.Active("ch_1") != nil || len(sink.cues) != 3 || sink.cues[2].Payload != nil || sink.cues[2].ID != second.ID {
		t.Errorf("stop: active %v, cues %+v", s.Active("ch_1"), sink.cues)
	}
	// The stream's end clears the action.
	_, _ = s.Start(ctx, ch, Product, json.RawMessage(`{"title":"Hat","price":"$5","imageUrl":"https://example.com/h.png"}`))
	run := s.Output().Start(streams.NewView("st-1", streams.Channel{ID: "ch_1"}, stream.New(stream.Tracks{})))
	ended, end := context.WithCancel(context.Background())
	end()
	if err := run(ended, nil); err != nil {
		t.Fatal(err)
	}
	if s.Active("ch_1") != nil {
		t.Errorf("the stream ended but the action is active")
	}
}

func TestTimedActionExpires(t *testing.T) {
	s, _, _, _, ch := setup(t)
	a, err := s.Start(context.Background(), ch, Celebration, json.RawMessage(`{"duration":5}`))
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	timer := s.active["ch_1"].timer
	s.mu.Unlock()
	if timer == nil {
		t.Fatal("a timed action has no expiry")
	}
	s.clear("ch_1", "sa-other") // an older action's timer does nothing
	if s.Active("ch_1") != a {
		t.Fatal("cleared by another action's expiry")
	}
	s.clear("ch_1", a.ID)
	if s.Active("ch_1") != nil {
		t.Errorf("still active after expiry")
	}
}

type fakeBus struct {
	mu   sync.Mutex
	msgs []string
}

func (b *fakeBus) Publish(_ context.Context, subject string, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, subject+" "+string(data))
	return nil
}

// Every start and every end goes on the bus for the channel, for other nodes and WebRTC viewers.
func TestPublishedOnTheBus(t *testing.T) {
	s, _, _, _, ch := setup(t)
	bus := &fakeBus{}
	s.SetBus(bus)
	a, err := s.Start(context.Background(), ch, Celebration, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	if len(bus.msgs) != 2 || !strings.HasPrefix(bus.msgs[0], `streams.actions.ch_1 {"action":{"id":"`+a.ID+`","name":"celebration"`) ||
		bus.msgs[1] != `streams.actions.ch_1 {"action":null,"channelId":"ch_1"}` {
		t.Errorf("bus: %q", bus.msgs)
	}
}
