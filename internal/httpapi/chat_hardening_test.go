package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/livehouse/livehouse/internal/chat/socket"
)

// dialChat opens the chat WebSocket with a token and returns the connection, or the refused
// upgrade's response.
func (e *env) dialChat(chatToken string) (*chatClient, *http.Response) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/api/chat", &websocket.DialOptions{Subprotocols: []string{chatToken}})
	if err != nil {
		if res == nil {
			e.t.Fatalf("dialing chat: %v", err)
		}
		return nil, res
	}
	e.t.Cleanup(func() { ws.CloseNow() })
	return &chatClient{t: e.t.(*testing.T), ws: ws}, nil
}

// refused checks a refused upgrade's status, error code and (for 429) Retry-After.
func refused(t *testing.T, res *http.Response, status int, code string) {
	t.Helper()
	if res == nil {
		t.Fatalf("the socket connected; want %d %s", status, code)
	}
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != status || body.Error.Code != code {
		t.Errorf("refused with %d %q, want %d %q", res.StatusCode, body.Error.Code, status, code)
	}
	if status == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
		t.Errorf("a 429 without Retry-After")
	}
}

// closedBy reads until the connection ends and returns its close status and reason, after
// checking the frames before it: the IVS DISCONNECT_USER event for the user, if want is set.
func (c *chatClient) closedBy(wantEventFor string) (websocket.StatusCode, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sawEvent := false
	for {
		_, b, err := c.ws.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				c.t.Fatalf("the connection stayed open")
			}
			if wantEventFor != "" && !sawEvent {
				c.t.Errorf("closed without the DISCONNECT_USER event for %s first", wantEventFor)
			}
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason
			}
			return -1, err.Error()
		}
		var f map[string]any
		json.Unmarshal(b, &f)
		if attrs, _ := f["Attributes"].(map[string]any); f["EventName"] == "aws:DISCONNECT_USER" && attrs["UserId"] == wantEventFor {
			sawEvent = true
		}
	}
}

// A token minted before a ban does not connect after it; a connected socket is sent the
// DISCONNECT_USER event and closed (1008 "banned").
func TestChatBanVoidsTokensAndSockets(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	owner := e.signUp("owner")
	viewer := e.signUp("viewer")
	minted, _ := e.chatToken(viewer.token, "owner")
	liveToken, _ := e.chatToken(viewer.token, "owner")
	v, _ := e.dialChat(liveToken)
	if v == nil {
		t.Fatal("the viewer could not connect")
	}
	v.send(map[string]string{"Action": "SEND_MESSAGE", "Content": "before", "RequestId": "b"})
	if f := v.next(); f["Type"] != "MESSAGE" {
		t.Fatalf("before the ban: %v", f)
	}

	e.want(e.call("PUT", "/api/channels/owner/bans/viewer", owner.token, nil), 204)
	if code, reason := v.closedBy(viewer.id); code != websocket.StatusPolicyViolation || reason != "banned" {
		t.Errorf("the banned viewer's socket closed with %d %q, want 1008 banned", code, reason)
	}
	_, res := e.dialChat(minted)
	refused(t, res, http.StatusForbidden, "BannedFromChannel")

	// Unbanned, a new token connects and sends.
	e.want(e.call("DELETE", "/api/channels/owner/bans/viewer", owner.token, nil), 204)
	tok, _ := e.chatToken(viewer.token, "owner")
	again, res := e.dialChat(tok)
	if again == nil {
		t.Fatalf("after the unban: %d", res.StatusCode)
	}
	again.send(map[string]string{"Action": "SEND_MESSAGE", "Content": "after", "RequestId": "a"})
	for {
		if f := again.next(); f["RequestId"] == "a" {
			if f["Type"] != "MESSAGE" {
				t.Errorf("after the unban: %v", f)
			}
			break
		}
	}
}

// Deleting an account closes its chat sockets and voids its tokens; so does an operator's
// suspension.
func TestChatEndsWithTheAccount(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	e.signUp("owner")
	for _, tc := range []struct {
		name   string
		end    func(u user)
		reason string
	}{
		{"deleted", func(u user) {
			e.want(e.call("DELETE", "/api/me", u.token, map[string]string{"password": password}), 204)
		}, "account deleted"},
		{"suspended", func(u user) {
			if _, err := e.acc.Suspend(context.Background(), u.name, "spam"); err != nil {
				t.Fatal(err)
			}
		}, "account suspended"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := e.signUp("user" + tc.name)
			minted, _ := e.chatToken(u.token, "owner")
			liveToken, _ := e.chatToken(u.token, "owner")
			c, _ := e.dialChat(liveToken)
			if c == nil {
				t.Fatal("could not connect")
			}
			c.send(map[string]string{"Action": "SEND_MESSAGE", "Content": "here", "RequestId": "h"})
			if f := c.next(); f["RequestId"] != "h" { // in the room, not only upgraded
				t.Fatalf("got %v", f)
			}
			tc.end(u)
			if code, reason := c.closedBy(u.id); code != websocket.StatusPolicyViolation || reason != tc.reason {
				t.Errorf("closed with %d %q, want 1008 %q", code, reason, tc.reason)
			}
			_, res := e.dialChat(minted)
			refused(t, res, http.StatusForbidden, "AccountUnavailable")
		})
	}
}

// Chat sockets past the per-address or per-user cap are refused at the upgrade with 429 and
// Retry-After, and a closed socket frees its place.
func TestChatSocketCaps(t *testing.T) {
	e := newEnvWithChat(t, socket.Config{PerAddress: 3, PerUser: 2}, autoVerify(true))
	e.signUp("owner")
	viewer := e.signUp("viewer")
	var open []*chatClient
	for range 2 {
		tok, _ := e.chatToken(viewer.token, "owner")
		c, res := e.dialChat(tok)
		if c == nil {
			t.Fatalf("socket %d refused: %d", len(open)+1, res.StatusCode)
		}
		open = append(open, c)
	}
	tok, _ := e.chatToken(viewer.token, "owner")
	_, res := e.dialChat(tok)
	refused(t, res, http.StatusTooManyRequests, "TooManyConnections")

	anon, _ := e.chatToken("", "owner")
	if c, _ := e.dialChat(anon); c == nil {
		t.Fatal("the third socket from the address was refused")
	}
	anon, _ = e.chatToken("", "owner")
	_, res = e.dialChat(anon)
	refused(t, res, http.StatusTooManyRequests, "TooManyConnections")

	open[0].ws.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(30 * time.Second)
	for {
		tok, _ := e.chatToken(viewer.token, "owner")
		c, _ := e.dialChat(tok)
		if c != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed socket never freed its place")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
