package chat

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/problem"
)

// fakeControls keeps settings and follows in memory.
type fakeControls struct {
	mu       sync.Mutex
	settings map[string]Settings
	follows  map[string]time.Time // room/user
	reads    int
}

func (f *fakeControls) ChatSettings(_ context.Context, room string) (Settings, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.settings[room], nil
}

func (f *fakeControls) PutChatSettings(_ context.Context, room string, s Settings, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settings[room] = s
	return nil
}

func (f *fakeControls) FollowedSince(_ context.Context, room, user string) (*time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if at, ok := f.follows[room+"/"+user]; ok {
		return &at, nil
	}
	return nil, nil
}

func controlledHub(t *testing.T) (*Hub, *clock, *fakeControls) {
	t.Helper()
	clk := &clock{now: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
	h := newClockedHub(clk, DefaultRoomRate)
	fc := &fakeControls{settings: map[string]Settings{}, follows: map[string]time.Time{}}
	h.SetControls(fc)
	return h, clk, fc
}

// sendAs sends one message and answers the error code it got, 0 if it went out.
func sendAs(t *testing.T, h *Hub, c *Conn, text string) (int, string) {
	t.Helper()
	h.Handle(context.Background(), c, &Action{Action: "SEND_MESSAGE", RequestID: "r-" + text, Content: text})
	for _, f := range frames(c) {
		if f["RequestId"] != "r-"+text {
			continue
		}
		if f["Type"] == "ERROR" {
			return int(f["ErrorCode"].(float64)), f["ErrorMessage"].(string)
		}
		return 0, ""
	}
	t.Fatalf("no answer to %q", text)
	return 0, ""
}

func TestSettingsValidate(t *testing.T) {
	tests := []struct {
		s     Settings
		field string
	}{
		{Settings{}, ""},
		{Settings{FollowersOnly: true, FollowersMinutes: 10, SlowSeconds: 3}, ""},
		{Settings{SlowSeconds: SlowMax}, ""},
		{Settings{SlowSeconds: 2}, "slowSeconds"},
		{Settings{SlowSeconds: SlowMax + 1}, "slowSeconds"},
		{Settings{SlowSeconds: -1}, "slowSeconds"},
		{Settings{FollowersOnly: true, FollowersMinutes: -1}, "followersMinutes"},
		{Settings{FollowersOnly: true, FollowersMinutes: MaxFollowersMinutes + 1}, "followersMinutes"},
		{Settings{FollowersMinutes: 5}, "followersMinutes"},
	}
	for _, tt := range tests {
		err := tt.s.Validate()
		var got string
		if p, ok := problem.As(err); ok {
			got = p.Field
		}
		if got != tt.field {
			t.Errorf("%+v: field %q, want %q (%v)", tt.s, got, tt.field, err)
		}
	}
}

// Followers-only refuses non-followers and recent followers with a 403 ERROR; the owner is
// exempt.
func TestFollowersOnly(t *testing.T) {
	ctx := context.Background()
	h, clk, fc := controlledHub(t)
	if err := h.UpdateSettings(ctx, "r", Settings{FollowersOnly: true, FollowersMinutes: 10}); err != nil {
		t.Fatal(err)
	}
	fc.follows["r/old"] = clk.Now().Add(-time.Hour)
	fc.follows["r/new"] = clk.Now().Add(-time.Minute)
	conn := func(user string, caps ...string) *Conn {
		return join(h, &Grant{RoomID: "r", UserID: user, Capabilities: append([]string{CapSend}, caps...)})
	}
	tests := []struct {
		conn *Conn
		want int
	}{
		{conn("stranger"), 403},
		{conn("new"), 403},
		{conn("old"), 0},
		{conn("owner", CapDelete, CapDisconnect), 0},
	}
	for _, tt := range tests {
		if got, msg := sendAs(t, h, tt.conn, "hi"); got != tt.want {
			t.Errorf("%s: code %d (%s), want %d", tt.conn.Grant.UserID, got, msg, tt.want)
		}
	}
	clk.add(9 * time.Minute)
	if got, _ := sendAs(t, h, tests[1].conn, "now"); got != 0 {
		t.Errorf("a follower of 10 minutes: code %d, want 0", got)
	}
	// Turning it off takes effect at once (through the room event, without a store read).
	reads := fc.reads
	if err := h.UpdateSettings(ctx, "r", Settings{}); err != nil {
		t.Fatal(err)
	}
	if got, msg := sendAs(t, h, tests[0].conn, "free"); got != 0 {
		t.Errorf("after turning it off: code %d (%s)", got, msg)
	}
	if fc.reads != reads {
		t.Errorf("the store was read %d times after the settings event, want 0", fc.reads-reads)
	}
}

// Slow mode lets a user send one message per interval (over all their connections and
// messages that came through other nodes), answering 429; the owner is exempt.
func TestSlowMode(t *testing.T) {
	ctx := context.Background()
	h, clk, _ := controlledHub(t)
	if err := h.UpdateSettings(ctx, "r", Settings{SlowSeconds: 30}); err != nil {
		t.Fatal(err)
	}
	fan := join(h, &Grant{RoomID: "r", UserID: "fan", Capabilities: []string{CapSend}})
	fan2 := join(h, &Grant{RoomID: "r", UserID: "fan", Capabilities: []string{CapSend}})
	owner := join(h, &Grant{RoomID: "r", UserID: "owner", Capabilities: []string{CapSend, CapDelete, CapDisconnect}})
	if got, _ := sendAs(t, h, fan, "one"); got != 0 {
		t.Fatalf("first message: code %d", got)
	}
	clk.add(29 * time.Second)
	if got, msg := sendAs(t, h, fan2, "two"); got != 429 || msg == "" {
		t.Errorf("second message within 30 s from another connection: code %d, want 429", got)
	}
	for i := range 3 {
		if got, _ := sendAs(t, h, owner, "o"+string(rune('0'+i))); got != 0 {
			t.Errorf("owner message %d: code %d, want 0", i, got)
		}
	}
	clk.add(time.Second)
	if got, _ := sendAs(t, h, fan, "three"); got != 0 {
		t.Errorf("a message after 30 s: code %d, want 0", got)
	}
	// A message the user sent through another node counts too.
	clk.add(time.Minute)
	other := Encode(&Frame{Type: "MESSAGE", ID: NewID(), Content: "elsewhere", Sender: &Sender{UserID: "fan"}, SendTime: clk.Now().UTC().Format(sendTimeLayout)})
	h.Deliver(SubjectPrefix+"r", []byte(`{"frame":`+string(other.JSON[0])+`}`))
	if got, _ := sendAs(t, h, fan, "four"); got != 429 {
		t.Errorf("after a message through another node: code %d, want 429", got)
	}
}

func TestUpdateSettingsRefusesBadInput(t *testing.T) {
	h, _, fc := controlledHub(t)
	err := h.UpdateSettings(context.Background(), "r", Settings{SlowSeconds: 1})
	if !errors.Is(err, problem.ErrInvalid) {
		t.Errorf("UpdateSettings(slow 1 s) = %v, want invalid", err)
	}
	if _, ok := fc.settings["r"]; ok {
		t.Error("invalid settings were stored")
	}
}
