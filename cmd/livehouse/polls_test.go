package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestPollAcrossNodes runs a poll on two nodes of a cluster: started through node A, voted
// through both, its tally and result reach a chat connection on node B, and either node
// answers the same tally.
func TestPollAcrossNodes(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	a, stopA := startServer(t, c.vars(t, "node-a"))
	defer stopA()
	b, stopB := startServer(t, c.vars(t, "node-b"))
	defer stopB()

	suffix := c.schema[len(c.schema)-6:]
	owner, fans := "phost_"+suffix, []string{"pfa_" + suffix, "pfb_" + suffix}
	tokens := map[string]string{}
	for _, name := range append([]string{owner}, fans...) {
		if status, _ := post(t, a+"/api/auth/register", "", map[string]string{"username": name, "email": name + "@example.com", "password": "Passw0rd!"}); status != 201 {
			t.Fatalf("register %s: %d", name, status)
		}
		_, l := post(t, b+"/api/auth/login", "", map[string]string{"username": name, "password": "Passw0rd!"})
		tokens[name] = l["token"].(string)
	}
	// The channel is live, as ingest on some node would record it.
	var ch struct{ ChannelID string }
	if status := getJSON(t, a+"/api/channels/"+owner, &ch); status != 200 || ch.ChannelID == "" {
		t.Fatalf("channel: %d %+v", status, ch)
	}
	now := time.Now().UnixMilli()
	if _, err := c.admin.Exec(`INSERT INTO `+c.schema+`.stream_sessions (id, channel_id, created_at, started_at, node) VALUES ($1, $2, $3, $3, 'elsewhere')`, "st-cluster-poll", ch.ChannelID, now); err != nil {
		t.Fatal(err)
	}

	_, tok := post(t, b+"/api/chat/token", "", map[string]string{"channel": owner})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(b, "http")+"/api/chat", &websocket.DialOptions{Subprotocols: []string{tok["token"].(string)}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	// nextPoll reads app:POLL events on node B until one satisfies ok.
	nextPoll := func(ok func(p map[string]any) bool) map[string]any {
		t.Helper()
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				t.Fatalf("reading the chat socket on node B: %v", err)
			}
			var f struct {
				EventName  string
				Attributes map[string]string
			}
			json.Unmarshal(data, &f)
			if f.EventName != "app:POLL" {
				continue
			}
			var p map[string]any
			if err := json.Unmarshal([]byte(f.Attributes["poll"]), &p); err != nil {
				t.Fatal(err)
			}
			if ok(p) {
				return p
			}
		}
	}

	if status, body := post(t, a+"/api/channels/"+owner+"/poll", tokens[owner], map[string]any{"question": "Across?", "options": []string{"yes", "no"}, "duration": 15}); status != 201 {
		t.Fatalf("start through node A: %d %v", status, body)
	}
	nextPoll(func(p map[string]any) bool { return p["question"] == "Across?" })
	if status, _ := post(t, a+"/api/channels/"+owner+"/poll/votes", tokens[fans[0]], map[string]int{"option": 0}); status != 201 {
		t.Fatalf("vote through node A: %d", status)
	}
	if status, _ := post(t, b+"/api/channels/"+owner+"/poll/votes", tokens[fans[1]], map[string]int{"option": 1}); status != 201 {
		t.Fatalf("vote through node B: %d", status)
	}
	if status, body := post(t, b+"/api/channels/"+owner+"/poll/votes", tokens[fans[0]], map[string]int{"option": 1}); status != 409 {
		t.Errorf("second vote through the other node: %d %v, want 409", status, body)
	}
	nextPoll(func(p map[string]any) bool { return p["votes"] == 2.0 })
	for _, node := range []string{a, b} {
		var got struct {
			Poll struct {
				Votes   int
				Options []struct{ Votes int }
			}
		}
		getJSON(t, node+"/api/channels/"+owner+"/poll", &got)
		if got.Poll.Votes != 2 || len(got.Poll.Options) != 2 || got.Poll.Options[0].Votes != 1 || got.Poll.Options[1].Votes != 1 {
			t.Errorf("%s answers the tally %+v, want 1 and 1", node, got.Poll)
		}
	}
	final := nextPoll(func(p map[string]any) bool { return p["closedAt"] != nil })
	if final["votes"] != 2.0 {
		t.Errorf("result %v, want 2 votes", final)
	}
}
