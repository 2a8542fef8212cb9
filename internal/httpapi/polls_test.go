package httpapi_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// startSession puts a live stream session for the user's channel in the store, as ingest does.
func (e *env) startSession(u user, id string) {
	e.t.Helper()
	ch, err := e.store.ChannelByUser(context.Background(), u.id)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.OpenStreamSession(context.Background(), id, ch.ID, "", e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.StartStreamSession(context.Background(), id, e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
}

type pollBody struct {
	Poll *struct {
		ID       string
		Question string
		Options  []struct {
			Label string
			Votes int
		}
		Votes    int
		ClosedAt *time.Time
		MyVote   *int
	}
}

func (e *env) poll(channel, token string) pollBody {
	e.t.Helper()
	var b pollBody
	res := e.want(e.call("GET", "/api/channels/"+channel+"/poll", token, nil), 200)
	if err := json.Unmarshal(res.body, &b); err != nil {
		e.t.Fatal(err)
	}
	return b
}

func TestPolls(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	owner, alice, bob, troll := e.signUp("owner"), e.signUp("alice"), e.signUp("bobby"), e.signUp("troll")
	in := map[string]any{"question": "Next game?", "options": []string{"Chess", "Go"}, "duration": 60}

	if e.poll("owner", "").Poll != nil {
		t.Error("a poll before any was started")
	}
	// Offline: no poll; not signed in or not the owner: refused, nothing started.
	if got := e.want(e.call("POST", "/api/channels/owner/poll", owner.token, in), 404).errorCode(t); got != "ChannelNotBroadcasting" {
		t.Errorf("offline start: %s", got)
	}
	e.startSession(owner, "st-poll")
	e.want(e.call("POST", "/api/channels/owner/poll", "", in), 401)
	if got := e.want(e.call("POST", "/api/channels/owner/poll", alice.token, in), 403).errorCode(t); got != "NotChannelOwner" {
		t.Errorf("another user starting the owner's poll: %s", got)
	}
	if e.poll("owner", "").Poll != nil {
		t.Error("a refused start left a poll")
	}
	for _, bad := range []map[string]any{
		{"question": "", "options": []string{"a", "b"}, "duration": 60},
		{"question": "q", "options": []string{"a"}, "duration": 60},
		{"question": "q", "options": []string{"a", "b", "c", "d", "e", "f"}, "duration": 60},
		{"question": "q", "options": []string{"a", "b"}, "duration": 14},
		{"question": "q", "options": []string{"a", "b"}, "duration": 301},
	} {
		e.want(e.call("POST", "/api/channels/owner/poll", owner.token, bad), 400)
	}
	e.want(e.call("POST", "/api/channels/owner/poll", owner.token, in), 201)
	e.want(e.call("POST", "/api/channels/owner/poll", owner.token, in), 409)

	// Votes: signed in only, once each, a valid option, not when banned.
	e.want(e.call("POST", "/api/channels/owner/poll/votes", "", map[string]int{"option": 0}), 401)
	e.want(e.call("POST", "/api/channels/owner/poll/votes", alice.token, map[string]int{"option": 2}), 400)
	e.want(e.call("POST", "/api/channels/owner/poll/votes", alice.token, map[string]any{}), 400)
	e.want(e.call("POST", "/api/channels/owner/poll/votes", alice.token, map[string]int{"option": 1}), 201)
	if got := e.want(e.call("POST", "/api/channels/owner/poll/votes", alice.token, map[string]int{"option": 0}), 409).errorCode(t); got != "AlreadyVoted" {
		t.Errorf("second vote: %s", got)
	}
	e.want(e.call("POST", "/api/channels/owner/poll/votes", bob.token, map[string]int{"option": 1}), 201)
	e.want(e.call("PUT", "/api/channels/owner/bans/troll", owner.token, nil), 204)
	e.want(e.call("POST", "/api/channels/owner/poll/votes", troll.token, map[string]int{"option": 0}), 403)
	e.want(e.call("POST", "/api/channels/nobody/poll/votes", bob.token, map[string]int{"option": 0}), 404)

	got := e.poll("owner", alice.token).Poll
	if got == nil || got.Votes != 2 || got.Options[1].Votes != 2 || got.Options[0].Votes != 0 || got.MyVote == nil || *got.MyVote != 1 {
		t.Fatalf("alice's view of the poll = %+v", got)
	}
	if anon := e.poll("owner", "").Poll; anon.MyVote != nil || anon.Votes != 2 {
		t.Errorf("a signed-out view: %+v, want the tally and no vote", anon)
	}

	// Only the owner ends it; a vote after the end is refused.
	if got := e.want(e.call("DELETE", "/api/channels/owner/poll", alice.token, nil), 403).errorCode(t); got != "NotChannelOwner" {
		t.Errorf("another user ending the poll: %s", got)
	}
	if e.poll("owner", "").Poll.ClosedAt != nil {
		t.Error("a refused end closed the poll")
	}
	e.want(e.call("DELETE", "/api/channels/owner/poll", owner.token, nil), 204)
	e.want(e.call("POST", "/api/channels/owner/poll/votes", troll.token, map[string]int{"option": 0}), 403)
	third := e.signUp("third")
	if got := e.want(e.call("POST", "/api/channels/owner/poll/votes", third.token, map[string]int{"option": 0}), 409).errorCode(t); got != "PollClosed" {
		t.Errorf("vote after the end: %s", got)
	}
	final := e.poll("owner", "").Poll
	if final == nil || final.ClosedAt == nil || final.Votes != 2 {
		t.Errorf("final result = %+v", final)
	}

	// The result stays with the session, for its owner only.
	var list struct{ Polls []struct{ Votes int } }
	res := e.want(e.call("GET", "/api/me/sessions/st-poll/polls", owner.token, nil), 200)
	if err := json.Unmarshal(res.body, &list); err != nil || len(list.Polls) != 1 || list.Polls[0].Votes != 2 {
		t.Errorf("session polls = %s, %v", res.body, err)
	}
	res = e.want(e.call("GET", "/api/me/sessions/st-poll/polls", alice.token, nil), 200)
	if err := json.Unmarshal(res.body, &list); err != nil || len(list.Polls) != 0 {
		t.Errorf("another user's view of the session's polls = %s", res.body)
	}
	e.want(e.call("GET", "/api/me/sessions/st-poll/polls", "", nil), 401)

	// A private channel's poll is for its owner and its allowlist: the rest are refused, as
	// for the channel's other content, and cannot vote.
	e.want(e.call("PUT", "/api/channels/owner/privacy", owner.token, map[string]any{"private": true}), 200)
	e.want(e.call("PUT", "/api/channels/owner/allowlist/alice", owner.token, nil), 204)
	e.clock.Add(time.Minute) // the last poll's result is no longer shown
	e.want(e.call("POST", "/api/channels/owner/poll", owner.token, in), 201)
	for name, token := range map[string]string{"signed out": "", "bobby": bob.token} {
		if got := e.want(e.call("GET", "/api/channels/owner/poll", token, nil), 403).errorCode(t); got != "PrivateChannel" {
			t.Errorf("%s reading a private channel's poll: %s", name, got)
		}
	}
	if got := e.want(e.call("POST", "/api/channels/owner/poll/votes", bob.token, map[string]int{"option": 0}), 403).errorCode(t); got != "PrivateChannel" {
		t.Errorf("a stranger voting on a private channel's poll: %s", got)
	}
	e.want(e.call("POST", "/api/channels/owner/poll/votes", alice.token, map[string]int{"option": 0}), 201)
	if p := e.poll("owner", owner.token).Poll; p == nil || p.Votes != 1 {
		t.Errorf("the owner's view of the private poll = %+v, want alice's one vote", p)
	}
}

// A poll's start, tally and result reach chat connections as app:POLL events.
func TestPollEventsOverChat(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	owner, alice := e.signUp("owner"), e.signUp("alice")
	e.startSession(owner, "st-ev")
	tok, _ := e.chatToken("", "owner")
	viewer, err := e.connect(tok)
	if err != nil {
		t.Fatal(err)
	}
	nextPoll := func() map[string]any {
		t.Helper()
		for {
			f := viewer.next()
			if f["EventName"] != "app:POLL" {
				continue
			}
			var p map[string]any
			if err := json.Unmarshal([]byte(f["Attributes"].(map[string]any)["poll"].(string)), &p); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	e.want(e.call("POST", "/api/channels/owner/poll", owner.token, map[string]any{"question": "q", "options": []string{"a", "b"}, "duration": 15}), 201)
	if p := nextPoll(); p["question"] != "q" || p["votes"] != 0.0 {
		t.Errorf("start event %v", p)
	}
	e.want(e.call("POST", "/api/channels/owner/poll/votes", alice.token, map[string]int{"option": 0}), 201)
	e.polls.Flush(context.Background())
	if p := nextPoll(); p["votes"] != 1.0 || p["closedAt"] != nil {
		t.Errorf("tally event %v", p)
	}
	e.clock.Add(15 * time.Second)
	e.polls.Sweep(context.Background())
	if p := nextPoll(); p["votes"] != 1.0 || p["closedAt"] == nil {
		t.Errorf("result event %v", p)
	}
}

func TestChatSettingsRoutes(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	owner, alice := e.signUp("owner"), e.signUp("alice")
	on := map[string]any{"followersOnly": true, "followersMinutes": 0, "slowSeconds": 5}
	e.want(e.call("PUT", "/api/channels/owner/chat-settings", "", on), 401)
	if got := e.want(e.call("PUT", "/api/channels/owner/chat-settings", alice.token, on), 403).errorCode(t); got != "NotChannelOwner" {
		t.Errorf("another user changing the controls: %s", got)
	}
	if got := e.want(e.call("GET", "/api/channels/owner/chat-settings", "", nil), 200).json(t); got["followersOnly"] != false || got["slowSeconds"] != 0.0 {
		t.Errorf("controls after a refused change: %v", got)
	}
	e.want(e.call("PUT", "/api/channels/owner/chat-settings", owner.token, map[string]any{"slowSeconds": 1}), 400)
	e.want(e.call("PUT", "/api/channels/owner/chat-settings", owner.token, on), 200)
	if got := e.want(e.call("GET", "/api/channels/owner/chat-settings", alice.token, nil), 200).json(t); got["followersOnly"] != true || got["slowSeconds"] != 5.0 {
		t.Errorf("controls = %v", got)
	}
	e.want(e.call("GET", "/api/channels/nobody/chat-settings", "", nil), 404)

	// Enforced on the socket with the protocol's errors: 403 for a non-follower, 429 in slow mode.
	tok, _ := e.chatToken(alice.token, "owner")
	c, err := e.connect(tok)
	if err != nil {
		t.Fatal(err)
	}
	answer := func(id string) map[string]any {
		t.Helper()
		c.send(map[string]string{"Action": "SEND_MESSAGE", "RequestId": id, "Content": "hello " + id})
		for {
			if f := c.next(); f["RequestId"] == id {
				return f
			}
		}
	}
	if f := answer("1"); f["Type"] != "ERROR" || f["ErrorCode"] != 403.0 {
		t.Errorf("a non-follower's message: %v, want a 403 ERROR", f)
	}
	e.want(e.call("PUT", "/api/me/following/owner", alice.token, nil), 204)
	if f := answer("2"); f["Type"] != "MESSAGE" {
		t.Errorf("a follower's message: %v", f)
	}
	if f := answer("3"); f["Type"] != "ERROR" || f["ErrorCode"] != 429.0 {
		t.Errorf("a second message in slow mode: %v, want a 429 ERROR", f)
	}
}
