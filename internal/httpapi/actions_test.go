package httpapi_test

import (
	"strings"
	"testing"
)

// A streamer starts, reads and stops their own actions; another user sees none of them, and
// a refused action changes nothing.
func TestStreamActions(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	owner, other := e.signUp("owner"), e.signUp("other")
	quiz := map[string]any{"question": "Capital of Canada?", "answers": []string{"Vancouver", "Ottawa", "Calgary"}, "correctAnswerIndex": 1, "duration": 25}

	res := e.call("POST", "/api/me/stream-actions", owner.token, map[string]any{"name": "quiz", "data": quiz})
	if res.status != 404 || res.json(t)["error"].(map[string]any)["code"] != "ChannelNotBroadcasting" {
		t.Errorf("offline: %d %s", res.status, res.body)
	}
	e.goLive(owner)
	bad := map[string]any{"question": "Q", "answers": []string{"a", "b", "a"}, "correctAnswerIndex": 0, "duration": 15}
	res = e.call("POST", "/api/me/stream-actions", owner.token, map[string]any{"name": "quiz", "data": bad})
	if res.status != 400 || !strings.Contains(string(res.body), "Duplicate answer") {
		t.Errorf("duplicate answers: %d %s", res.status, res.body)
	}
	res = e.want(e.call("POST", "/api/me/stream-actions", owner.token, map[string]any{"name": "quiz", "data": quiz}), 201)
	id := res.json(t)["id"].(string)
	if cues := e.live.sent(); len(cues) != 1 || cues[0].ID != id || !strings.Contains(string(cues[0].Payload), `"name":"quiz"`) {
		t.Errorf("cues = %+v", cues)
	}

	got := e.want(e.call("GET", "/api/me/stream-actions", owner.token, nil), 200).json(t)
	if got["active"].(map[string]any)["id"] != id || got["saved"].(map[string]any)["quiz"] == nil {
		t.Errorf("owner's view: %v", got)
	}
	theirs := e.want(e.call("GET", "/api/me/stream-actions", other.token, nil), 200).json(t)
	if theirs["active"] != nil || len(theirs["saved"].(map[string]any)) != 0 {
		t.Errorf("another user sees the owner's actions: %v", theirs)
	}
	// Another user's stop does not touch the owner's channel.
	e.want(e.call("DELETE", "/api/me/stream-actions", other.token, nil), 404)
	e.want(e.call("DELETE", "/api/me/stream-actions", owner.token, nil), 204)
	got = e.want(e.call("GET", "/api/me/stream-actions", owner.token, nil), 200).json(t)
	if cues := e.live.sent(); got["active"] != nil || len(cues) != 2 || cues[1].Payload != nil {
		t.Errorf("after stop: %v, cues %+v", got, cues)
	}

	// Saving validates within limits and stores the normalised data.
	e.want(e.call("PUT", "/api/me/stream-actions/saved/notice", owner.token, map[string]any{"title": strings.Repeat("x", 25), "message": "", "duration": 15}), 400)
	saved := e.want(e.call("PUT", "/api/me/stream-actions/saved/notice", owner.token, map[string]any{"title": " 200k subs ", "message": "", "duration": 25}), 200).json(t)
	if saved["title"] != "200k subs" {
		t.Errorf("saved = %v", saved)
	}
	e.want(e.call("PUT", "/api/me/stream-actions/saved/amazon_product", owner.token, map[string]any{}), 400)

	// More than five in a second is refused.
	status := 0
	for i := 0; i < 6 && status != 429; i++ {
		status = e.call("POST", "/api/me/stream-actions", owner.token, map[string]any{"name": "celebration"}).status
	}
	if status != 429 {
		t.Errorf("six actions in a second: last status %d", status)
	}
}
