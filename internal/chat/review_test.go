package chat

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

func sendOne(h *Hub, content string) map[string]any {
	c := join(h, &Grant{RoomID: "r", UserID: "u", Capabilities: []string{CapSend}, Attributes: map[string]string{"username": "u"}})
	c.IP = "192.0.2.7"
	defer h.Leave(c)
	h.Handle(context.Background(), c, &Action{Action: "SEND_MESSAGE", Content: content, RequestID: "q"})
	fs := frames(c)
	if len(fs) == 0 {
		return nil
	}
	return fs[len(fs)-1]
}

func TestWordFilter(t *testing.T) {
	h := newLoopHub()
	h.SetReview(true, NewWordFilter([]string{"spam", " bad word "}))
	for content, wantCode := range map[string]any{
		"hello":              nil,
		"buy SPAM now":       float64(406),
		"spammy is fine":     nil,
		"a Bad Word appears": float64(406),
	} {
		f := sendOne(h, content)
		if f["ErrorCode"] != wantCode {
			t.Errorf("%q: %v", content, f)
		}
	}
	if NewWordFilter(nil) != nil {
		t.Errorf("an empty word list made a filter")
	}
}

func TestWebhookReview(t *testing.T) {
	var mu sync.Mutex
	var last ReviewRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var got ReviewRequest
		json.NewDecoder(r.Body).Decode(&got)
		mu.Lock()
		last = got
		mu.Unlock()
		switch got.Content {
		case "slow": // a handler over its budget, however long that is: it answers once given up on
			<-r.Context().Done()
			json.NewEncoder(w).Encode(ReviewResponse{ReviewResult: "ALLOW", Content: "late"})
		case "deny me":
			json.NewEncoder(w).Encode(ReviewResponse{ReviewResult: "DENY"})
		case "garbage":
			w.Write([]byte(`{"ReviewResult":"MAYBE"}`))
		default:
			json.NewEncoder(w).Encode(ReviewResponse{ReviewResult: "ALLOW", Content: got.Content + " (edited)"})
		}
	}))
	defer srv.Close()

	// A budget far over what a busy machine takes to answer (the 200 ms of production is
	// the managed service's); the late handler is late whatever the budget.
	h := newLoopHub()
	h.reviewBudget = 30 * time.Second
	h.SetReview(true, &Webhook{URL: srv.URL})
	if f := sendOne(h, "hello"); f["Content"] != "hello (edited)" {
		t.Errorf("rewrite: %v", f)
	}
	mu.Lock()
	got := last
	mu.Unlock()
	if got.Sender.UserID != "u" || got.Sender.IP != "192.0.2.7" || len(got.MessageID) != 12 || got.Sender.Attributes["username"] != "u" {
		t.Errorf("review request %+v", got)
	}
	if f := sendOne(h, "deny me"); f["ErrorCode"] != float64(406) {
		t.Errorf("deny: %v", f)
	}
	h.reviewBudget = ReviewBudget // the late handler is given up on after it
	if f := sendOne(h, "slow"); f["Content"] != "slow" {
		t.Errorf("a late handler with fallback ALLOW: %v", f)
	}
	if f := sendOne(h, "garbage"); f["Content"] != "garbage" {
		t.Errorf("a malformed answer with fallback ALLOW: %v", f)
	}

	strict := newLoopHub()
	strict.reviewBudget = ReviewBudget
	strict.SetReview(false, &Webhook{URL: srv.URL})
	if f := sendOne(strict, "slow"); f["ErrorCode"] != float64(406) {
		t.Errorf("a late handler with fallback DENY: %v", f)
	}
}
