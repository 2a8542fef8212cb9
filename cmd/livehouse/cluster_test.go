package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// cluster is a fresh PostgreSQL schema on the test database and the test NATS server, for
// nodes that share them as a cluster does.
type cluster struct {
	admin   *sql.DB
	schema  string
	dbURL   string
	natsURL string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	pg, natsURL := os.Getenv("LIVEHOUSE_TEST_POSTGRES_URL"), os.Getenv("LIVEHOUSE_TEST_NATS_URL")
	if pg == "" || natsURL == "" {
		t.Skip("LIVEHOUSE_TEST_POSTGRES_URL and LIVEHOUSE_TEST_NATS_URL are needed for the cluster test")
	}
	admin, err := sql.Open("pgx", pg)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("lh_cluster_%d_%d", os.Getpid(), rand.Uint32())
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	u, _ := url.Parse(pg)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return &cluster{admin: admin, schema: schema, dbURL: u.String(), natsURL: natsURL}
}

// vars is the environment of a node of the cluster. Test runs side by side share the NATS
// server, so each cluster namespaces its subjects with its schema's name; before that, nodes of
// the same name in two runs published their viewer counts on the same subject
// (viewers.counts.{node}), each run's replacing the other's. Node names carry the schema too,
// as a second guard.
func (c *cluster) vars(t *testing.T, node string) map[string]string {
	return map[string]string{
		"LIVEHOUSE_DATA_DIR": t.TempDir(), "LIVEHOUSE_DATABASE_URL": c.dbURL, "LIVEHOUSE_NATS_URL": c.natsURL,
		"LIVEHOUSE_SECRET_KEY": testSecret, "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "error",
		"LIVEHOUSE_RTMP_ADDR": freePort(t), "LIVEHOUSE_NODE_NAME": c.nodeName(node), "LIVEHOUSE_NATS_SUBJECT_PREFIX": c.schema,
	}
}

// nodeName is the name a node of this cluster runs under.
func (c *cluster) nodeName(node string) string { return node + "-" + c.schema }

// TestTwoNodesShareChat runs two livehouse processes on one PostgreSQL database and one NATS
// server, as a cluster does, and chats, deletes and bans across them.
func TestTwoNodesShareChat(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	node := func(name string) (string, func() error) {
		return startServer(t, c.vars(t, name))
	}
	a, stopA := node("node-a")
	defer stopA()
	b, stopB := node("node-b")
	defer stopB()

	owner, viewer := "host_"+c.schema[len(c.schema)-6:], "fan_"+c.schema[len(c.schema)-6:]
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

	// A token minted on B before the ban connects on neither node after it.
	_, minted := post(t, b+"/api/chat/token", viewerToken, map[string]string{"channel": owner})

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
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ws, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(a, "http")+"/api/chat", &websocket.DialOptions{Subprotocols: []string{minted["token"].(string)}}); err == nil {
		ws.CloseNow()
		t.Errorf("a token minted before the ban connected after it")
	} else if res == nil || res.StatusCode != 403 {
		t.Errorf("a token minted before the ban: %v, want 403", err)
	}
}

// TestMain lets the test binary stand in for the livehouse program: with
// LIVEHOUSE_TEST_SERVE=1 it serves instead of testing, so a test can run a node in a process
// of its own and kill it without a clean shutdown.
//
// Every test of this package calls t.Parallel: each owns its servers (ports 0, its own data
// dir, PostgreSQL schema and NATS subject prefix), and alone most of a test's time is waiting
// on ffmpeg publishing in real time (the package used a quarter of one core for 344 s), so
// `go test -parallel` of them overlap those waits.
func TestMain(m *testing.M) {
	if os.Getenv("LIVEHOUSE_TEST_SERVE") == "1" {
		err := run(context.Background(), []string{"livehouse", "serve"}, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
		fmt.Fprintln(os.Stderr, "livehouse:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// startProcess runs `livehouse serve` as a child process and waits for /healthz.
func startProcess(t *testing.T, vars map[string]string) (base string, cmd *exec.Cmd) {
	t.Helper()
	addr := freePort(t)
	vars["LIVEHOUSE_HTTP_ADDR"] = addr
	vars["LIVEHOUSE_WEBRTC_ADDR"] = "127.0.0.1:0"
	vars["LIVEHOUSE_RTMPS_ADDR"] = "127.0.0.1:0"
	vars["LIVEHOUSE_SRT_ADDR"] = "127.0.0.1:0"
	vars["LIVEHOUSE_RECONNECT_GRACE_SECONDS"] = "0" // a publisher that stops frees the channel at once
	vars["LIVEHOUSE_TEST_SERVE"] = "1"
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	base = "http://" + addr
	waitFor(t, 30*time.Second, "the child node to be healthy", func() bool {
		select {
		case <-exited:
			t.Fatalf("the child node exited:\n%s", logs.String())
		default:
		}
		res, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	return base, cmd
}

// channelSessions lists the channel's sessions, oldest first: node and event names, the last
// event's detail. The recorder's events are left out: it writes Recording Start once its first
// segment is stored, a moment after Stream Start that a busy machine stretches, so whether one
// is listed yet says nothing about which node owns the session.
func (c *cluster) channelSessions(t *testing.T, channelID string) []string {
	t.Helper()
	rows, err := c.admin.Query(`SELECT s.id, s.node, COALESCE(string_agg(e.name, ',' ORDER BY e.seq), ''), s.ended_at IS NULL
		FROM `+c.schema+`.stream_sessions s
		LEFT JOIN `+c.schema+`.stream_events e ON e.session_id = s.id AND e.type <> 'IVS Recording State Change'
		WHERE s.channel_id = $1 GROUP BY s.id, s.node, s.created_at, s.ended_at ORDER BY s.created_at`, channelID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, node, events string
		var open bool
		if err := rows.Scan(&id, &node, &events, &open); err != nil {
			t.Fatal(err)
		}
		state := "ended"
		if open {
			state = "open"
		}
		out = append(out, node+" "+state+" "+events)
	}
	return out
}

// lastEndReason is the detail of the channel's latest Session Ended event.
func (c *cluster) lastEndReason(t *testing.T, channelID string) string {
	t.Helper()
	var detail string
	err := c.admin.QueryRow(`SELECT e.detail FROM `+c.schema+`.stream_events e JOIN `+c.schema+`.stream_sessions s ON s.id = e.session_id
		WHERE s.channel_id = $1 AND e.name = 'Session Ended' ORDER BY s.created_at DESC, e.seq DESC LIMIT 1`, channelID).Scan(&detail)
	if err != nil {
		t.Fatal(err)
	}
	return detail
}

// channelEvents lists a channel's sessions' events, oldest session first, for a failure's message.
func (c *cluster) channelEvents(t *testing.T, channelID string) string {
	t.Helper()
	rows, err := c.admin.Query(`SELECT s.id, s.node, e.seq, e.name, e.detail FROM `+c.schema+`.stream_events e JOIN `+c.schema+`.stream_sessions s ON s.id = e.session_id
		WHERE s.channel_id = $1 ORDER BY s.created_at, e.seq`, channelID)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, node, name, detail string
		var seq int64
		if err := rows.Scan(&id, &node, &seq, &name, &detail); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "%s %s %d %s %s\n", id, node, seq, name, detail)
	}
	return b.String()
}

// TestOnePublisherAcrossNodes: a stream key live on node A is refused on node B; once A dies
// without a clean shutdown and its lease runs out, B takes the key, A's session ended with its
// events. Then an operator's suspension, run as a command elsewhere, ends B's stream over the
// bus.
func TestOnePublisherAcrossNodes(t *testing.T) {
	t.Parallel()
	needTool(t, "ffmpeg")
	c := newCluster(t)
	varsA, varsB := c.vars(t, "node-a"), c.vars(t, "node-b")
	for _, v := range []map[string]string{varsA, varsB} {
		v["LIVEHOUSE_NODE_LEASE_SECONDS"] = "1"
	}
	_, nodeA := startProcess(t, varsA)
	b, stopB := startServer(t, varsB)
	defer stopB()
	_, key, channelID, _ := signUpStreamer(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	pubA := publish(ctx, "rtmp://"+varsA["LIVEHOUSE_RTMP_ADDR"]+"/live/"+key)
	if err := pubA.Start(); err != nil {
		t.Fatal(err)
	}
	pubAExited := make(chan struct{})
	go func() { pubA.Wait(); close(pubAExited) }()
	var page map[string]any
	waitFor(t, 30*time.Second, "the channel live through node A", func() bool {
		getJSON(t, b+"/api/channels/streamer", &page)
		return page["isLive"] == true
	})

	// The same key on node B is refused, as a second publisher on one node is.
	second := publish(ctx, "rtmp://"+varsB["LIVEHOUSE_RTMP_ADDR"]+"/live/"+key, "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac")
	if out, err := second.CombinedOutput(); err == nil {
		t.Errorf("a second publisher on node B succeeded: %s", out)
	}
	if diff := cmp.Diff([]string{c.nodeName("node-a") + " open Session Created,Stream Start"}, c.channelSessions(t, channelID)); diff != "" {
		t.Errorf("sessions while A is live (-want +got):\n%s", diff)
	}

	// Node A dies without ending anything; its encoder loses the connection.
	if err := nodeA.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pubAExited:
	case <-time.After(30 * time.Second):
		t.Fatal("the encoder of node A did not notice the node was gone")
	}
	waitFor(t, 30*time.Second, "node A's lease to expire", func() bool {
		var expired bool
		err := c.admin.QueryRow(`SELECT expires_at < $1 FROM `+c.schema+`.node_leases WHERE node = $2`, time.Now().UnixMilli(), c.nodeName("node-a")).Scan(&expired)
		return err == nil && expired
	})
	pubB := publish(ctx, "rtmp://"+varsB["LIVEHOUSE_RTMP_ADDR"]+"/live/"+key)
	if err := pubB.Start(); err != nil {
		t.Fatal(err)
	}
	pubBExited := make(chan error, 1)
	go func() { pubBExited <- pubB.Wait() }()
	waitFor(t, 30*time.Second, "the channel live through node B", func() bool {
		sessions := c.channelSessions(t, channelID)
		return len(sessions) == 2 && sessions[1] == c.nodeName("node-b")+" open Session Created,Stream Start"
	})
	if diff := cmp.Diff([]string{c.nodeName("node-a") + " ended Session Created,Stream Start,Stream End,Session Ended", c.nodeName("node-b") + " open Session Created,Stream Start"}, c.channelSessions(t, channelID)); diff != "" {
		t.Errorf("sessions after node A's lease expired (-want +got):\n%s", diff)
	}

	// An operator suspends the streamer from a machine of its own: node B ends the stream.
	var out, errOut bytes.Buffer
	cmdVars := c.vars(t, "operator")
	if err := run(ctx, []string{"livehouse", "user", "suspend", "streamer", "--reason", "test"}, envFunc(cmdVars), strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("user suspend: %v\n%s", err, errOut.String())
	}
	select {
	case <-pubBExited:
	case <-time.After(20 * time.Second):
		t.Fatal("the suspended streamer's encoder on node B was not disconnected")
	}
	// The encoder's connection closes as the session ends; its Session Ended event may be
	// written just after.
	for deadline := time.Now().Add(30 * time.Second); c.lastEndReason(t, channelID) != `{"reason":"account suspended"}`; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("B's session did not end for the suspension; the channel's events:\n%s", c.channelEvents(t, channelID))
		}
	}
	var unavailable struct{ Error struct{ Code string } }
	if status := getJSON(t, b+"/api/channels/streamer", &unavailable); status != 404 || unavailable.Error.Code != "ChannelUnavailable" {
		t.Errorf("channel page of the suspended streamer: %d %+v", status, unavailable)
	}
}
