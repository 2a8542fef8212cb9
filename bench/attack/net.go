package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/livehouse/livehouse/bench/internal/harness"
)

// password is every account's the attack program makes.
const password = "Attack-passw0rd"

// src is the i-th source address of a block: 127.block.y.z, one per i. Each attack takes its
// own block, and the normal viewer stays on 127.0.0.1.
func src(block, i int) net.IP {
	return net.IPv4(127, byte(block), byte(1+i/250%250), byte(1+i%250))
}

// clientFrom is an HTTP client whose connections come from ip.
func clientFrom(ip net.IP) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 90 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 64, DisableCompression: true}}
}

// raw is a request body sent as is.
type raw struct {
	data        []byte
	contentType string
}

// call makes one request (body nil, raw or a value sent as JSON) and returns the status and
// the body.
func call(c *http.Client, method, url, session string, body any) (int, []byte, error) {
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case raw:
		rd, ct = bytes.NewReader(b.data), b.contentType
	default:
		j, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if session != "" {
		req.Header.Set("Authorization", "Bearer "+session)
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, out, err
}

func get(c *http.Client, url string) (int, []byte, error) { return call(c, "GET", url, "", nil) }

func decodeJSON(body []byte, out any) error {
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decoding %.200q: %w", body, err)
	}
	return nil
}

// register signs up an account with the program's password and signs it in.
func register(c *http.Client, s *harness.Server, name, email string) (session string, err error) {
	status, body, err := call(c, "POST", s.Base+"/api/auth/register", "", map[string]string{"username": name, "email": email, "password": password})
	if err != nil {
		return "", err
	}
	if status >= 300 {
		return "", fmt.Errorf("sign-up of %s: %d %s", name, status, body)
	}
	session, _, _, err = login(c, s, name, password)
	return session, err
}

// login signs in and returns the session token, the stream key and the channel id.
func login(c *http.Client, s *harness.Server, name, pw string) (session, key, channelID string, err error) {
	var out struct {
		Token string
		User  struct {
			Channel struct{ StreamKey, ID string }
		}
	}
	status, body, err := call(c, "POST", s.Base+"/api/auth/login", "", map[string]string{"username": name, "password": pw})
	if err != nil {
		return "", "", "", err
	}
	if status != http.StatusOK {
		return "", "", "", fmt.Errorf("sign-in of %s: %d %s", name, status, body)
	}
	if err := decodeJSON(body, &out); err != nil {
		return "", "", "", err
	}
	return out.Token, out.User.Channel.StreamKey, out.User.Channel.ID, nil
}

// registerChannel signs up a streamer and returns its session, stream key and channel id.
func registerChannel(s *harness.Server, name string) (session, key, channelID string, err error) {
	if _, err := register(http.DefaultClient, s, name, name+"@attack.example"); err != nil {
		return "", "", "", err
	}
	return login(http.DefaultClient, s, name, password)
}

// statuses counts answers by status ("err" for a request that got none).
type statuses struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *statuses) add(status int, err error) {
	key := fmt.Sprint(status)
	if err != nil {
		key = "no answer"
		if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Timeout") {
			key = "timeout"
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[string]int{}
	}
	s.n[key]++
}

func (s *statuses) get(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[key]
}

// count is how many answers had one of the statuses.
func (s *statuses) count(keys ...string) int {
	t := 0
	for _, k := range keys {
		t += s.get(k)
	}
	return t
}

// total is how many requests were counted.
func (s *statuses) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := 0
	for _, v := range s.n {
		t += v
	}
	return t
}

// String lists the counts, e.g. "401×5 429×95".
func (s *statuses) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.n))
	for k := range s.n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s×%d", k, s.n[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// parallel runs f(i) for i in [0, n) on workers goroutines, stopping early when ctx is done.
func parallel(ctx context.Context, n, workers int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				guard(func() { f(i) })
			}
		})
	}
	wg.Wait()
}

// guard runs f, turning a panic into a line on stderr: a goroutine's panic would otherwise
// end the whole program, and the table must come out whatever the server answers.
func guard(f func()) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(os.Stderr, "attack: recovered: %v\n%s", p, debug.Stack())
		}
	}()
	f()
}

// together runs f(i) for i in [0, n) at once: every goroutine waits at a gate that opens when
// all have started.
func together(n int, f func(i int)) {
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-gate
			guard(func() { f(i) })
		})
	}
	close(gate)
	wg.Wait()
}

// chatToken asks for a chat token for the channel (anonymous when session is empty).
func chatToken(c *http.Client, e *env, session string) (string, error) {
	status, body, err := call(c, "POST", e.Base+"/api/chat/token", session, map[string]string{"channel": e.name})
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("chat token: %d %s", status, bytes.TrimSpace(body))
	}
	var t struct{ Token string }
	return t.Token, decodeJSON(body, &t)
}

// chatConn is a chat WebSocket.
type chatConn struct {
	net.Conn
	rw io.ReadWriter // reads through whatever the handshake had buffered
}

// dialChat opens the chat socket with a token, from ip (nil: any), with a receive buffer of
// rcvbuf bytes when it is not 0 (a small one fills fast when the client never reads).
func dialChat(ctx context.Context, e *env, token string, ip net.IP, rcvbuf int) (*chatConn, error) {
	nd := &net.Dialer{Timeout: 5 * time.Second}
	if ip != nil {
		nd.LocalAddr = &net.TCPAddr{IP: ip}
	}
	if rcvbuf > 0 {
		nd.Control = func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf) })
		}
	}
	d := ws.Dialer{Protocols: []string{token}, Timeout: 5 * time.Second, NetDial: nd.DialContext}
	conn, br, _, err := d.Dial(ctx, "ws"+strings.TrimPrefix(e.Base, "http")+"/api/chat")
	if err != nil {
		return nil, err
	}
	c := &chatConn{Conn: conn, rw: conn}
	if br != nil {
		c.rw = struct {
			io.Reader
			io.Writer
		}{br, conn}
	}
	return c, nil
}

// frame is a chat frame from the server, as far as the attacks read it.
type frame struct {
	Type      string
	RequestID string `json:"RequestId"`
	Content   string
	ErrorCode int
}

// read reads the next text frame (answering pings on the way).
func (c *chatConn) read() (frame, int, error) {
	for {
		data, op, err := wsutil.ReadServerData(c.rw)
		if err != nil {
			return frame{}, 0, err
		}
		if op != ws.OpText {
			continue
		}
		var f frame
		_ = json.Unmarshal(data, &f)
		return f, len(data), nil
	}
}

// send sends a SEND_MESSAGE action.
func (c *chatConn) send(requestID, content string, attrs map[string]string) error {
	msg, _ := json.Marshal(map[string]any{"Action": "SEND_MESSAGE", "RequestId": requestID, "Content": content, "Attributes": attrs})
	return wsutil.WriteClientText(c.Conn, msg)
}

// closedWithin reports whether the server closes the socket within d, reading (and dropping)
// whatever it sends meanwhile.
func (c *chatConn) closedWithin(d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	for {
		if _, _, err := c.read(); err != nil {
			var ne net.Error
			return !(errors.As(err, &ne) && ne.Timeout())
		}
	}
}
