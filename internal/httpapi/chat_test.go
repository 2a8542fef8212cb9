package httpapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// chatClient is one IVS-chat connection.
type chatClient struct {
	t  *testing.T
	ws *websocket.Conn
}

func (e *env) chatToken(token, channel string) (string, []any) {
	e.t.Helper()
	res := e.want(e.call("POST", "/api/chat/token", token, map[string]string{"channel": channel}), 200).json(e.t.(*testing.T))
	return res["token"].(string), res["capabilities"].([]any)
}

func (e *env) connect(chatToken string) (*chatClient, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/api/chat", &websocket.DialOptions{Subprotocols: []string{chatToken}})
	if err != nil {
		return nil, err
	}
	return &chatClient{t: e.t.(*testing.T), ws: ws}, nil
}

func (c *chatClient) send(action map[string]string) {
	c.t.Helper()
	b, _ := json.Marshal(action)
	if err := c.ws.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

// next reads the next frame, failing after 30 s (a failure's timeout: frames come in milliseconds).
func (c *chatClient) next() map[string]any {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	var f map[string]any
	if err := json.Unmarshal(b, &f); err != nil {
		c.t.Fatal(err)
	}
	return f
}

func TestChatProtocol(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	owner := e.signUp("owner")
	viewer := e.signUp("viewer")

	// Capabilities by caller.
	anonToken, caps := e.chatToken("", "owner")
	if len(caps) != 1 || caps[0] != "VIEW_MESSAGE" {
		t.Errorf("anonymous capabilities %v", caps)
	}
	viewerToken, caps := e.chatToken(viewer.token, "owner")
	if len(caps) != 2 || caps[0] != "SEND_MESSAGE" {
		t.Errorf("viewer capabilities %v", caps)
	}
	ownerToken, caps := e.chatToken(owner.token, "owner")
	if len(caps) != 4 {
		t.Errorf("owner capabilities %v", caps)
	}
	e.want(e.call("POST", "/api/chat/token", "", map[string]string{"channel": "nobody"}), 404)
	e.want(e.call("POST", "/api/chat/token", "", map[string]any{"channel": "owner", "sessionDurationInMinutes": 181}), 400)

	anon, err := e.connect(anonToken)
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.connect(viewerToken)
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.connect(ownerToken)
	if err != nil {
		t.Fatal(err)
	}
	// Tokens are single-use.
	if _, err := e.connect(viewerToken); err == nil {
		t.Errorf("a used token connected again")
	}

	// The viewer sends; everyone gets it, the sender with its RequestId.
	v.send(map[string]string{"Action": "SEND_MESSAGE", "Content": "hello", "RequestId": "r1"})
	var msgID string
	for _, c := range []*chatClient{v, anon, o} {
		f := c.next()
		sender := f["Sender"].(map[string]any)
		if f["Type"] != "MESSAGE" || f["Content"] != "hello" || f["RequestId"] != "r1" || len(f["Id"].(string)) != 12 ||
			sender["UserId"] != viewer.id || sender["Attributes"].(map[string]any)["username"] != "viewer" || f["SendTime"] == "" {
			t.Fatalf("message frame %v", f)
		}
		msgID = f["Id"].(string)
	}
	// Errors: anonymous send (403), too long (413), bad JSON (400), viewer delete (403).
	anon.send(map[string]string{"Action": "SEND_MESSAGE", "Content": "hi", "RequestId": "r2"})
	if f := anon.next(); f["Type"] != "ERROR" || f["ErrorCode"] != float64(403) || f["RequestId"] != "r2" {
		t.Errorf("anonymous send: %v", f)
	}
	v.send(map[string]string{"Action": "SEND_MESSAGE", "Content": strings.Repeat("é", 501), "RequestId": "r3"})
	if f := v.next(); f["ErrorCode"] != float64(413) {
		t.Errorf("long message: %v", f)
	}
	v.send(map[string]string{"Action": "DELETE_MESSAGE", "Id": msgID, "RequestId": "r4"})
	if f := v.next(); f["ErrorCode"] != float64(403) {
		t.Errorf("viewer delete: %v", f)
	}
	v.ws.Write(context.Background(), websocket.MessageText, []byte("{not json"))
	if f := v.next(); f["ErrorCode"] != float64(400) {
		t.Errorf("bad JSON: %v", f)
	}
	v.send(map[string]string{"Action": "SEND_MESSAGE", "Content": strings.Repeat("é", 500), "RequestId": "r5"})
	for _, c := range []*chatClient{v, anon, o} {
		if f := c.next(); f["Type"] != "MESSAGE" || f["RequestId"] != "r5" {
			t.Fatalf("500 code points: %v", f)
		}
	}

	// The owner deletes the first message: everyone gets the event.
	o.send(map[string]string{"Action": "DELETE_MESSAGE", "Id": msgID, "Reason": "spam", "RequestId": "r6"})
	for _, c := range []*chatClient{v, anon, o} {
		f := c.next()
		a := f["Attributes"].(map[string]any)
		if f["Type"] != "EVENT" || f["EventName"] != "aws:DELETE_MESSAGE" || a["MessageID"] != msgID || a["MessageId"] != msgID || a["Reason"] != "spam" {
			t.Fatalf("delete event %v", f)
		}
	}

	// A late joiner gets the history, without the deleted message.
	late, err := e.connect(func() string { tok, _ := e.chatToken("", "owner"); return tok }())
	if err != nil {
		t.Fatal(err)
	}
	if f := late.next(); f["RequestId"] != "r5" {
		t.Errorf("history starts with %v, want the 500-character message", f)
	}

	// The owner bans the viewer: the ban event reaches the room, the viewer's connection
	// closes, and they get no new token.
	e.want(e.call("PUT", "/api/channels/owner/bans/viewer", owner.token, nil), 204)
	if f := o.next(); f["EventName"] != "aws:DISCONNECT_USER" || f["Attributes"].(map[string]any)["UserId"] != viewer.id {
		t.Errorf("disconnect event %v", f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := v.ws.Read(ctx); err != nil {
			if websocket.CloseStatus(err) == -1 && ctx.Err() != nil {
				t.Fatalf("the banned viewer's connection stayed open")
			}
			break
		}
	}
	e.want(e.call("POST", "/api/chat/token", viewer.token, map[string]string{"channel": "owner"}), 403)
}
