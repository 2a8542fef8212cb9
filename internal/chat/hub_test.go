package chat

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// memTokens is an in-memory TokenStore.
type memTokens struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *memTokens) CreateChatToken(_ context.Context, hash, grant string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[hash] = grant
	return nil
}

func (s *memTokens) TakeChatToken(_ context.Context, hash string, _ time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.m[hash]
	if !ok {
		return "", ErrInvalidToken
	}
	delete(s.m, hash)
	return g, nil
}

func (s *memTokens) PurgeChatTokens(context.Context, time.Time) (int64, error) { return 0, nil }

func newLoopHub() *Hub {
	var h *Hub
	h = NewHub(&memTokens{m: map[string]string{}}, func(_ context.Context, subject string, data []byte) error {
		h.Deliver(subject, data)
		return nil
	}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	return h
}

// sink is a connection's transport that keeps what it is sent.
type sink struct {
	hub    *Hub
	mu     sync.Mutex
	frames [][]byte
	closed string
}

func (s *sink) Send(f *Encoded) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frames = append(s.frames, f.JSON...)
}

func (s *sink) Close(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed == "" {
		s.closed = reason
	}
}

func join(h *Hub, g *Grant) *Conn {
	c, err := h.Join(g, &sink{hub: h}, "")
	if err != nil {
		panic(err)
	}
	return c
}

// frames takes the frames a connection has been sent, once the room's fan-out is done.
func frames(c *Conn) []map[string]any {
	s := c.sink.(*sink)
	s.hub.fanning.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, b := range s.frames {
		var f map[string]any
		json.Unmarshal(b, &f)
		out = append(out, f)
	}
	s.frames = nil
	return out
}

func TestTokensAreSingleUse(t *testing.T) {
	h := newLoopHub()
	tok, tokenExp, sessionExp, err := h.IssueToken(context.Background(), &Grant{RoomID: "r", UserID: "u", SessionDuration: time.Hour})
	if err != nil || !sessionExp.After(tokenExp) {
		t.Fatalf("IssueToken: %v, %v %v", err, tokenExp, sessionExp)
	}
	if g, err := h.Redeem(context.Background(), tok); err != nil || g.UserID != "u" {
		t.Fatalf("Redeem = %+v, %v", g, err)
	}
	if _, err := h.Redeem(context.Background(), tok); err != ErrInvalidToken {
		t.Errorf("second Redeem = %v, want ErrInvalidToken", err)
	}
}

func TestRateLimits(t *testing.T) {
	h := newLoopHub()
	c := join(h, &Grant{RoomID: "r", UserID: "u", Capabilities: []string{CapSend}})
	for i := range PerConnRate + 5 {
		h.Handle(context.Background(), c, &Action{Action: "SEND_MESSAGE", Content: "x", RequestID: string(rune('a' + i))})
	}
	limited := 0
	for _, f := range frames(c) {
		if f["Type"] == "ERROR" && f["ErrorCode"] == float64(429) {
			limited++
		}
	}
	if limited != 5 {
		t.Errorf("%d actions limited, want 5", limited)
	}
}

func TestRoomRate(t *testing.T) {
	h := newLoopHub()
	h.SetRoomRate(3)
	limited := 0
	for range 5 {
		c := join(h, &Grant{RoomID: "r", UserID: "u", Capabilities: []string{CapSend}})
		h.Handle(context.Background(), c, &Action{Action: "SEND_MESSAGE", Content: "x"})
		for _, f := range frames(c) {
			if f["ErrorCode"] == float64(429) {
				limited++
			}
		}
		h.Leave(c)
	}
	if limited != 2 {
		t.Errorf("%d messages limited by the room, want 2", limited)
	}
}

// FuzzAction decodes arbitrary client frames and handles them: nothing may panic, and every
// frame answered to the sender is valid JSON of a known type.
func FuzzAction(f *testing.F) {
	for _, seed := range []string{
		`{"Action":"SEND_MESSAGE","Content":"hi","RequestId":"1"}`,
		`{"Action":"DELETE_MESSAGE","Id":"abcdefghijkl","Reason":"x"}`,
		`{"Action":"DISCONNECT_USER","UserId":"u","Reason":"x"}`,
		`{"Action":"NOPE"}`, `{}`, `[]`, `{"Content":5}`, `{"Attributes":{"a":"b"},"Action":"SEND_MESSAGE","Content":"é"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newLoopHub()
		c := join(h, &Grant{RoomID: "r", UserID: "u", Capabilities: []string{CapSend, CapDelete, CapDisconnect}})
		var a Action
		if json.Unmarshal(data, &a) != nil {
			return
		}
		h.Handle(context.Background(), c, &a)
		for _, fr := range frames(c) {
			switch fr["Type"] {
			case "MESSAGE", "EVENT", "ERROR":
			default:
				t.Fatalf("frame of unknown type: %v", fr)
			}
		}
	})
}

// gate is a transport whose first Send waits until released, like a fan-out to a large room.
type gate struct {
	sink
	entered, release chan struct{}
	sends            [][][]byte
}

func (g *gate) Send(f *Encoded) {
	g.mu.Lock()
	first := len(g.sends) == 0
	g.sends = append(g.sends, f.JSON)
	g.mu.Unlock()
	if first {
		close(g.entered)
		<-g.release
	}
}

// Frames that arrive while a fan-out is under way go out together, in order, in the next one.
func TestBusyRoomBatchesFrames(t *testing.T) {
	h := newLoopHub()
	h.SetRoomRate(1000)
	g := &gate{entered: make(chan struct{}), release: make(chan struct{})}
	h.Join(&Grant{RoomID: "r", UserID: "anonymous-reader"}, g, "")
	sender := join(h, &Grant{RoomID: "r", UserID: "u", Capabilities: []string{CapSend}})
	h.Handle(context.Background(), sender, &Action{Action: "SEND_MESSAGE", Content: "1"})
	<-g.entered
	for _, content := range []string{"2", "3", "4"} {
		h.Handle(context.Background(), sender, &Action{Action: "SEND_MESSAGE", Content: content})
	}
	close(g.release)
	h.fanning.Wait()
	var got [][]string
	for _, batch := range g.sends {
		var contents []string
		for _, b := range batch {
			var f Frame
			json.Unmarshal(b, &f)
			contents = append(contents, f.Content)
		}
		got = append(got, contents)
	}
	if len(got) != 2 || strings.Join(got[0], ",") != "1" || strings.Join(got[1], ",") != "2,3,4" {
		t.Errorf("sends %v, want [[1] [2 3 4]]", got)
	}
	// Each fan-out is timed, from its oldest frame's arrival.
	var m dto.Metric
	h.fanoutDelay.Write(&m)
	if n := m.GetHistogram().GetSampleCount(); n != 2 {
		t.Errorf("%d fan-outs timed, want 2", n)
	}
}

// A disconnected (banned) user's messages leave the history: a late joiner, such as a viewer
// who reloads the page, does not get them back.
func TestHistoryDropsDisconnectedUser(t *testing.T) {
	tests := []struct {
		name       string
		disconnect func(h *Hub, mod *Conn)
		want       []string
	}{
		{"no disconnect", func(*Hub, *Conn) {}, []string{"a1", "b1", "a2"}},
		{"moderator's DISCONNECT_USER", func(h *Hub, mod *Conn) {
			h.Handle(context.Background(), mod, &Action{Action: "DISCONNECT_USER", UserID: "a", Reason: "Kicked by moderator"})
		}, []string{"b1"}},
		{"ban from the server", func(h *Hub, _ *Conn) {
			h.DisconnectUser(context.Background(), "r", "a", "banned")
		}, []string{"b1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newLoopHub()
			h.SetRoomRate(1000)
			a := join(h, &Grant{RoomID: "r", UserID: "a", Capabilities: []string{CapSend}})
			b := join(h, &Grant{RoomID: "r", UserID: "b", Capabilities: []string{CapSend}})
			mod := join(h, &Grant{RoomID: "r", UserID: "owner", Capabilities: []string{CapSend, CapDelete, CapDisconnect}})
			h.Handle(context.Background(), a, &Action{Action: "SEND_MESSAGE", Content: "a1"})
			h.Handle(context.Background(), b, &Action{Action: "SEND_MESSAGE", Content: "b1"})
			h.Handle(context.Background(), a, &Action{Action: "SEND_MESSAGE", Content: "a2"})
			tt.disconnect(h, mod)
			h.fanning.Wait()
			late := join(h, &Grant{RoomID: "r", UserID: "late"})
			var got []string
			for _, f := range frames(late) {
				if f["Type"] == "MESSAGE" {
					got = append(got, f["Content"].(string))
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("history = %q, want %q", got, tt.want)
			}
		})
	}
}
