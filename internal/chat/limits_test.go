package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// bigAttributes returns n attributes whose JSON is exactly size bytes (n ≥ 1).
func bigAttributes(n, size int) map[string]string {
	m := map[string]string{}
	used := 1 // {}, less the last comma
	for i := range n {
		k := fmt.Sprintf("k%03d", i)
		m[k] = ""
		used += len(k) + 6
	}
	m["k000"] = strings.Repeat("v", size-used)
	return m
}

// actionCases is the table of SEND_MESSAGE actions and what the protocol answers them: 0 for
// accepted, else the IVS error code. FuzzSendMessage is seeded from it.
var actionCases = []struct {
	name string
	a    Action
	want int
}{
	{"plain", Action{Action: "SEND_MESSAGE", Content: "hello", RequestID: "r1"}, 0},
	{"max content", Action{Action: "SEND_MESSAGE", Content: strings.Repeat("é", MaxContent)}, 0},
	{"content too long", Action{Action: "SEND_MESSAGE", Content: strings.Repeat("é", MaxContent+1)}, 413},
	{"empty content", Action{Action: "SEND_MESSAGE", Content: ""}, 400},
	{"attributes", Action{Action: "SEND_MESSAGE", Content: "x", Attributes: map[string]string{"color": "red", "emote": "wave"}}, 0},
	{"max attributes JSON", Action{Action: "SEND_MESSAGE", Content: "x", Attributes: bigAttributes(3, MaxAttributesJSON)}, 0},
	{"attributes JSON too big", Action{Action: "SEND_MESSAGE", Content: "x", Attributes: bigAttributes(3, MaxAttributesJSON+1)}, 413},
	{"attributes escaped past the limit", Action{Action: "SEND_MESSAGE", Content: "x", Attributes: map[string]string{"a": strings.Repeat("<", 200)}}, 413},
	{"too many attributes", Action{Action: "SEND_MESSAGE", Content: "x", Attributes: bigAttributes(MaxAttributes+1, 400)}, 413},
	{"max attribute count", Action{Action: "SEND_MESSAGE", Content: "x", Attributes: bigAttributes(MaxAttributes, 400)}, 0},
	{"empty attribute key", Action{Action: "SEND_MESSAGE", Content: "x", Attributes: map[string]string{"": "v"}}, 400},
	{"attribute key too long", Action{Action: "SEND_MESSAGE", Content: "x", Attributes: map[string]string{strings.Repeat("k", MaxAttributeKey+1): "v"}}, 413},
	{"max attribute key", Action{Action: "SEND_MESSAGE", Content: "x", Attributes: map[string]string{strings.Repeat("k", MaxAttributeKey): "v"}}, 0},
	{"request id too long", Action{Action: "SEND_MESSAGE", Content: "x", RequestID: strings.Repeat("r", MaxRequestID+1)}, 413},
	{"max request id", Action{Action: "SEND_MESSAGE", Content: "x", RequestID: strings.Repeat("r", MaxRequestID)}, 0},
	{"delete reason too long", Action{Action: "DELETE_MESSAGE", ID: "abcdefghijkl", Reason: strings.Repeat("é", MaxReason+1)}, 413},
	{"disconnect user id too long", Action{Action: "DISCONNECT_USER", UserID: strings.Repeat("u", MaxUserID+1)}, 413},
	{"unknown action", Action{Action: "SHOUT", Content: "x"}, 400},
}

// answer handles one action on a fresh hub from a connection that may do everything, and
// returns the error code it got (0 when it was carried out) and the frames the room got.
func answer(t testing.TB, a *Action) (int, []map[string]any) {
	h := newLoopHub()
	c := join(h, &Grant{RoomID: "r", UserID: "u", Capabilities: []string{CapSend, CapDelete, CapDisconnect}})
	h.Handle(context.Background(), c, a)
	got := frames(c)
	if len(got) == 1 && got[0]["Type"] == "ERROR" {
		code, _ := got[0]["ErrorCode"].(float64)
		return int(code), got
	}
	return 0, got
}

func TestActionLimits(t *testing.T) {
	for _, tc := range actionCases {
		t.Run(tc.name, func(t *testing.T) {
			if got, frames := answer(t, &tc.a); got != tc.want {
				t.Errorf("got code %d (%v), want %d", got, frames, tc.want)
			}
		})
	}
}

// A review handler's rewrite is held to the sender's limits: one past them is the
// reviewer's failure, and the fallback decides.
func TestReviewRewriteIsChecked(t *testing.T) {
	for _, tc := range []struct {
		name          string
		fallbackAllow bool
		want          string // the content delivered, or "" for refused
	}{{"fallback deny", false, ""}, {"fallback allow", true, "original"}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newLoopHub()
			h.SetReview(tc.fallbackAllow, reviewFunc(func(req *ReviewRequest) *ReviewResponse {
				return &ReviewResponse{ReviewResult: "ALLOW", Content: req.Content, Attributes: bigAttributes(2, 10*MaxAttributesJSON)}
			}))
			c := join(h, &Grant{RoomID: "r", UserID: "u", Capabilities: []string{CapSend}})
			h.Handle(context.Background(), c, &Action{Action: "SEND_MESSAGE", Content: "original"})
			got := frames(c)
			if len(got) != 1 {
				t.Fatalf("got %v", got)
			}
			content, _ := got[0]["Content"].(string)
			attrs, _ := got[0]["Attributes"].(map[string]any)
			if content != tc.want || len(attrs) != 0 {
				t.Errorf("got %v, want content %q without the rewritten attributes", got[0], tc.want)
			}
		})
	}
}

type reviewFunc func(*ReviewRequest) *ReviewResponse

func (f reviewFunc) Review(_ context.Context, req *ReviewRequest) (*ReviewResponse, error) {
	return f(req), nil
}

// largest is a MESSAGE frame as large as a client can make one.
func largest(id string) *Frame {
	return &Frame{Type: "MESSAGE", ID: id, RequestID: strings.Repeat("\u2028", MaxRequestID/3),
		Content:    strings.Repeat("\u2028", MaxContent), // JSON escapes each as 6 bytes
		Attributes: bigAttributes(3, MaxAttributesJSON),
		Sender:     &Sender{UserID: "u", Attributes: map[string]string{"username": strings.Repeat("u", 20), "avatarUrl": strings.Repeat("a", 100)}},
		SendTime:   "2026-11-25T12:00:00.000Z"}
}

func deliver(h *Hub, room string, f *Frame) {
	env, _ := json.Marshal(map[string]any{"frame": f})
	h.Deliver(SubjectPrefix+room, env)
}

// The history keeps at most HistorySize messages and HistoryBytes of JSON, newest first to
// stay; every joiner until the next change shares one encoding of it.
func TestHistoryIsBoundedAndEncodedOnce(t *testing.T) {
	h := newLoopHub()
	b, _ := json.Marshal(largest("000000000000"))
	if len(b) > MaxFrameBytes {
		t.Fatalf("the largest frame is %d bytes, past MaxFrameBytes %d", len(b), MaxFrameBytes)
	}
	for i := range 3 * HistorySize {
		deliver(h, "r", largest(fmt.Sprintf("%012d", i)))
	}
	h.fanning.Wait()
	a, b2 := join(h, &Grant{RoomID: "r", UserID: "anonymous-a"}), join(h, &Grant{RoomID: "r", UserID: "anonymous-b"})
	sa, sb := a.sink.(*sink), b2.sink.(*sink)
	size := 0
	for _, f := range sa.frames {
		size += len(f)
	}
	if size > HistoryBytes || size+len(b) <= HistoryBytes {
		t.Errorf("history holds %d bytes of JSON, want the most that fits in %d", size, HistoryBytes)
	}
	var last Frame
	json.Unmarshal(sa.frames[len(sa.frames)-1], &last)
	if last.ID != fmt.Sprintf("%012d", 3*HistorySize-1) {
		t.Errorf("the history ends with %s, want the newest message", last.ID)
	}
	if &sa.frames[0][0] != &sb.frames[0][0] {
		t.Errorf("two joiners got separate encodings of the same history")
	}

	// Ordinary messages: the count bounds it.
	h2 := newLoopHub()
	for i := range HistorySize + 5 {
		deliver(h2, "r", &Frame{Type: "MESSAGE", ID: fmt.Sprintf("%012d", i), Content: "hi"})
	}
	h2.fanning.Wait()
	if n := len(frames(join(h2, &Grant{RoomID: "r", UserID: "anonymous-c"}))); n != HistorySize {
		t.Errorf("a joiner got %d messages of history, want %d", n, HistorySize)
	}
}

// clock is a settable time for the rate limits.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newClockedHub(clk *clock, roomRate int) *Hub {
	var h *Hub
	h = NewHub(&memTokens{m: map[string]string{}}, func(_ context.Context, subject string, data []byte) error {
		h.Deliver(subject, data)
		return nil
	}, slog.New(slog.DiscardHandler), clk.Now)
	h.SetRoomRate(roomRate)
	return h
}

// tally counts a connection's 429s and the messages it was sent, by sender.
func tally(c *Conn, bySender map[string]int) (limited int) {
	for _, f := range frames(c) {
		if f["Type"] == "ERROR" && f["ErrorCode"] == float64(429) {
			limited++
		}
		if f["Type"] == "MESSAGE" {
			bySender[f["Sender"].(map[string]any)["UserId"].(string)]++
		}
	}
	return limited
}

// One user flooding from 100 connections, or twenty users each at their own limit, cannot
// take a room's rate from another user sending at the allowed rate.
func TestRoomRateIsSharedFairly(t *testing.T) {
	for _, tc := range []struct {
		name           string
		users, sockets int // flooders, and connections each
	}{{"one user, 100 sockets", 1, 100}, {"twenty users", 20, 5}} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
			h := newClockedHub(clk, DefaultRoomRate)
			var flood []*Conn
			for u := range tc.users {
				for range tc.sockets {
					flood = append(flood, join(h, &Grant{RoomID: "r", UserID: fmt.Sprintf("flooder%d", u), Capabilities: []string{CapSend}}))
				}
			}
			other := join(h, &Grant{RoomID: "r", UserID: "other", Capabilities: []string{CapSend}})
			refused, bySender := 0, map[string]int{}
			// Ten steps of 100 ms: each flooding socket sends at its connection's limit, in
			// parallel; the other user sends once a step, their allowed rate.
			for step := range 10 {
				var wg sync.WaitGroup
				for _, c := range flood {
					wg.Go(func() { h.Handle(context.Background(), c, &Action{Action: "SEND_MESSAGE", Content: "spam"}) })
				}
				wg.Wait()
				h.Handle(context.Background(), other, &Action{Action: "SEND_MESSAGE", Content: fmt.Sprint(step), RequestID: fmt.Sprint(step)})
				refused += tally(other, bySender)
				clk.add(100 * time.Millisecond)
			}
			if refused != 0 {
				t.Errorf("%d of the other user's 10 messages refused, want none", refused)
			}
			if bySender["other"] != 10 {
				t.Errorf("the room got %d of the other user's messages, want 10", bySender["other"])
			}
			// Over the second, a flooder gets at most their burst and their rate through,
			// however many sockets they send from.
			for u := range tc.users {
				if n := bySender[fmt.Sprintf("flooder%d", u)]; n > 2*PerUserRate {
					t.Errorf("flooder%d got %d messages through in a second, want at most %d", u, n, 2*PerUserRate)
				}
			}
			if bySender["flooder0"] == 0 {
				t.Errorf("the flooder got nothing through; the test floods nothing")
			}
		})
	}
}
