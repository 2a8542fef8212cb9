package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// TestTwoNodesShareChat runs two livehouse processes on one PostgreSQL database and one NATS
// server, as a cluster does, and chats, deletes and bans across them.
func TestTwoNodesShareChat(t *testing.T) {
	pg, natsURL := os.Getenv("LIVEHOUSE_TEST_POSTGRES_URL"), os.Getenv("LIVEHOUSE_TEST_NATS_URL")
	if pg == "" || natsURL == "" {
		t.Skip("LIVEHOUSE_TEST_POSTGRES_URL and LIVEHOUSE_TEST_NATS_URL are needed for the cluster test")
	}
	admin, err := sql.Open("pgx", pg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	schema := fmt.Sprintf("lh_cluster_%d_%d", os.Getpid(), rand.Uint64())
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	defer admin.Exec("DROP SCHEMA " + schema + " CASCADE")
	u, _ := url.Parse(pg)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	node := func(name string) (string, func() error) {
		return startServer(t, map[string]string{
			"LIVEHOUSE_DATA_DIR": t.TempDir(), "LIVEHOUSE_DATABASE_URL": u.String(), "LIVEHOUSE_NATS_URL": natsURL,
			"LIVEHOUSE_SECRET_KEY": strings.Repeat("ab", 32), "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "error",
			"LIVEHOUSE_RTMP_ADDR": freePort(t), "LIVEHOUSE_NODE_NAME": name,
		})
	}
	a, stopA := node("node-a")
	defer stopA()
	b, stopB := node("node-b")
	defer stopB()

	owner, viewer := "host_"+schema[len(schema)-6:], "fan_"+schema[len(schema)-6:]
	for _, name := range []string{owner, viewer} {
		if status, _ := post(t, a+"/api/auth/register", "", map[string]string{"username": name, "email": name + "@example.com", "password": "Passw0rd!"}); status != 201 {
			t.Fatalf("register %s: %d", name, status)
		}
	}
	_, ol := post(t, a+"/api/auth/login", "", map[string]string{"username": owner, "password": "Passw0rd!"})
	_, vl := post(t, b+"/api/auth/login", "", map[string]string{"username": viewer, "password": "Passw0rd!"}) // a session made on B
	ownerToken, viewerToken := ol["token"].(string), vl["token"].(string)

	dial := func(base, session string) *websocket.Conn {
		t.Helper()
		_, tok := post(t, base+"/api/chat/token", session, map[string]string{"channel": owner})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/chat", &websocket.DialOptions{Subprotocols: []string{tok["token"].(string)}})
		if err != nil {
			t.Fatalf("dial %s: %v", base, err)
		}
		return ws
	}
	read := func(ws *websocket.Conn) map[string]any {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, data, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var f map[string]any
		json.Unmarshal(data, &f)
		return f
	}
	// Tokens made on one node are taken on the other.
	onA := dial(b, ownerToken) // the owner's token comes from B, the socket goes to A below
	onA.CloseNow()
	host := dial(a, ownerToken)
	fan := dial(b, viewerToken)

	fan.Write(context.Background(), websocket.MessageText, []byte(`{"Action":"SEND_MESSAGE","Content":"across nodes","RequestId":"x1"}`))
	if f := read(fan); f["Content"] != "across nodes" {
		t.Fatalf("sender got %v", f)
	}
	m := read(host)
	if m["Type"] != "MESSAGE" || m["Content"] != "across nodes" {
		t.Fatalf("the other node got %v", m)
	}
	host.Write(context.Background(), websocket.MessageText, []byte(`{"Action":"DELETE_MESSAGE","Id":"`+m["Id"].(string)+`","RequestId":"x2"}`))
	if f := read(fan); f["EventName"] != "aws:DELETE_MESSAGE" {
		t.Errorf("delete on A reached B as %v", f)
	}
	read(host) // the owner's own copy of the event

	// A ban made through node A closes the viewer's connection on node B.
	if status, _ := putReq(t, a+"/api/channels/"+owner+"/bans/"+viewer, ownerToken); status != 204 {
		t.Fatalf("ban: %d", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := fan.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the banned viewer's connection on the other node stayed open")
			}
			break
		}
	}
	if status, _ := post(t, b+"/api/chat/token", viewerToken, map[string]string{"channel": owner}); status != 403 {
		t.Errorf("banned viewer got a token on the other node: %d", status)
	}
}
