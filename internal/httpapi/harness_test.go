package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/actions"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/chat"
	"github.com/livehouse/livehouse/internal/chat/socket"
	"github.com/livehouse/livehouse/internal/httpapi"
	"github.com/livehouse/livehouse/internal/imageproxy"
	"github.com/livehouse/livehouse/internal/media/record"
	"github.com/livehouse/livehouse/internal/notifications"
	"github.com/livehouse/livehouse/internal/playback"
	"github.com/livehouse/livehouse/internal/polls"
	"github.com/livehouse/livehouse/internal/recordings"
	"github.com/livehouse/livehouse/internal/stages"
	"github.com/livehouse/livehouse/internal/storage"
	"github.com/livehouse/livehouse/internal/store/sqlite"
	"github.com/livehouse/livehouse/internal/store/sqlstore"
	"github.com/livehouse/livehouse/internal/streams"
	"github.com/livehouse/livehouse/internal/viewers"
)

// fastHash keeps tests quick; the real parameters are measured by the benchmarks.
var fastHash = accounts.HashParams{MemoryKiB: 64, Time: 1, Threads: 1}

// outbox records mail instead of sending it.
type outbox struct {
	mu      sync.Mutex
	mail    []accounts.Mail
	changed chan struct{} // closed and replaced at each mail
}

func (o *outbox) Send(_ context.Context, m accounts.Mail) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mail = append(o.mail, m)
	if o.changed != nil {
		close(o.changed)
	}
	o.changed = make(chan struct{})
	return nil
}

// await waits for the n-th mail to the address: reset and resend mail is sent off the
// request path. The deadline only keeps a broken build from hanging.
func (o *outbox) await(t *testing.T, to string, n int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		o.mu.Lock()
		got := 0
		for _, m := range o.mail {
			if m.To == to {
				got++
			}
		}
		if o.changed == nil {
			o.changed = make(chan struct{})
		}
		changed := o.changed
		o.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("mail %d to %s never came (%d did)", n, to, got)
		}
	}
}

var codeRE = regexp.MustCompile(`[?&]code=([^&\s]+)`)

// lastCode returns the code in the newest mail to the address.
func (o *outbox) lastCode(t *testing.T, to string) string {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.mail) - 1; i >= 0; i-- {
		if o.mail[i].To == to {
			m := codeRE.FindStringSubmatch(o.mail[i].Link)
			if m == nil {
				t.Fatalf("mail to %s has no code in its link %q", to, o.mail[i].Link)
			}
			code, _ := url.QueryUnescape(m[1])
			return code
		}
	}
	t.Fatalf("no mail to %s", to)
	return ""
}

func (o *outbox) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.mail)
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

type env struct {
	t      testing.TB
	srv    *httptest.Server
	mail   *outbox
	clock  *clock
	acc    *accounts.Service
	store  *sqlstore.DB
	box    *channels.KeyBox
	live   *liveSet
	tokens *playback.Signer
	views  *viewers.Service
	media  storage.Store
	polls  *polls.Service
	stages *stages.Service // newEnvWithStages only
	events *eventLog       // the chat room events the stages sent
}

// liveSet stands in for the live-stream service: the channels marked live, and the cues
// stream actions wrote into them.
type liveSet struct {
	mu      sync.Mutex
	ids     map[string]bool
	cues    []actions.Cue
	viewers map[string]int // channel id → viewers, as the HLS output counts them
}

func (l *liveSet) Viewers(channelID string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.viewers[channelID]
}

func (l *liveSet) Live(channelID string) *streams.Live {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.ids[channelID] {
		return nil
	}
	return &streams.Live{SessionID: "st-test", Channel: streams.Channel{ID: channelID}}
}

func (l *liveSet) PutCue(channelID string, c actions.Cue) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.ids[channelID] {
		return actions.ErrNotLive
	}
	l.cues = append(l.cues, c)
	return nil
}

func (l *liveSet) sent() []actions.Cue {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]actions.Cue(nil), l.cues...)
}

// goLive marks a user's channel live and returns its id.
func (e *env) goLive(u user) string {
	e.t.Helper()
	ch, err := e.store.ChannelByUser(context.Background(), u.id)
	if err != nil {
		e.t.Fatal(err)
	}
	e.live.mu.Lock()
	defer e.live.mu.Unlock()
	e.live.ids[ch.ID] = true
	return ch.ID
}

type envOption func(*accounts.Config, *httpapi.Config)

func hashParams(p accounts.HashParams) envOption {
	return func(a *accounts.Config, _ *httpapi.Config) { a.HashParams = p }
}

func autoVerify(on bool) envOption {
	return func(a *accounts.Config, h *httpapi.Config) { a.AutoVerify, h.AutoVerify = on, on }
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	return newEnvWithChat(t, socket.Config{}, opts...)
}

// newEnvWithChat is newEnv with the chat sockets' limits set.
func newEnvWithChat(t testing.TB, chatSockets socket.Config, opts ...envOption) *env {
	t.Helper()
	return buildEnv(t, chatSockets, false, opts...)
}

// newEnvWithStages is newEnv with stages and their SFU, on a loopback UDP port.
func newEnvWithStages(t testing.TB, opts ...envOption) *env {
	t.Helper()
	return buildEnv(t, socket.Config{}, true, opts...)
}

func buildEnv(t testing.TB, chatSockets socket.Config, withStages bool, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	box, err := channels.NewKeyBox(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	acfg := accounts.Config{PublicURL: "http://livehouse.test", AutoVerify: false, ChannelType: "BASIC", HashParams: fastHash}
	hcfg := httpapi.Config{Stage: "dev", PublicURL: "http://livehouse.test", RTMPURL: "rtmp://livehouse.test:1935/live/", AllowedOrigins: []string{"https://app.example"}, ChannelType: "BASIC"}
	for _, o := range opts {
		o(&acfg, &hcfg)
	}
	mail := &outbox{}
	clk := &clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	acc := accounts.NewService(acfg, store, box, mail, log, clk.Now)
	mailCtx, stopMail := context.WithCancel(context.Background())
	mailDone := make(chan struct{})
	go func() { defer close(mailDone); acc.Run(mailCtx) }()
	t.Cleanup(func() { stopMail(); <-mailDone })
	chs := channels.NewService(store, box, log, clk.Now, nil)
	var hub *chat.Hub
	publish := func(_ context.Context, subject string, data []byte) error {
		hub.Deliver(subject, data) // one node: the bus loops straight back
		return nil
	}
	hub = chat.NewHub(store, publish, log, nil)
	hub.SetAccess(chat.StoreAccess(store))
	hub.SetControls(store)
	pollService := polls.New(polls.Deps{Store: store, Events: hub, Log: log, Now: clk.Now})
	chs.OnBan(hub.Ban)
	chs.OnDisallow(func(ctx context.Context, channelID, userID string) {
		hub.DisconnectUser(ctx, channelID, userID, "no longer allowed")
	})
	chs.OnPrivate(func(ctx context.Context, channelID string, keep []string) {
		if err := hub.Restrict(ctx, channelID, keep); err != nil {
			t.Errorf("Restrict: %v", err)
		}
	})
	acc.BeforeDelete(func(ctx context.Context, userID string) {
		chat.EndUser(ctx, publish, userID, "account deleted", time.Now())
	})
	acc.OnSuspend(func(ctx context.Context, userID string) {
		chat.EndUser(ctx, publish, userID, "account suspended", time.Now())
	})
	sockets, err := socket.New(hub, log, chatSockets)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sockets.Close)
	live := &liveSet{ids: map[string]bool{}, viewers: map[string]int{}}
	act := actions.NewService(store, live, live, log, clk.Now, actions.Options{})
	signer, err := playback.NewSigner(bytes.Repeat([]byte{7}, 32), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	views := viewers.NewService(viewers.New(viewers.Config{Node: "test"}, clk.Now, log), signer, channels.AccessCheck{Store: store}, 0, clk.Now)
	media, err := storage.NewFolder(filepath.Join(t.TempDir(), "recordings"))
	if err != nil {
		t.Fatal(err)
	}
	recs := recordings.NewService(recordings.Deps{Store: store, Media: media, Finisher: record.Store{Media: media}, Log: log, Now: clk.Now, Enabled: true})
	var stageService *stages.Service
	events := &eventLog{next: hub}
	if withStages {
		stageService = startStages(t, chs, views, events, clk.Now, log)
	}
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Deps{
		Config: hcfg, Log: log, Accounts: acc, Channels: chs, Chat: hub, Sockets: sockets, Actions: act,
		Views: views, Viewers: views,
		Checks:     []httpapi.Check{{Name: "database", Ping: store.Ping}},
		Health:     streams.NewHealth(store, nil, log, clk.Now),
		Images:     imageproxy.New(imageproxy.Config{}),
		Recordings: recs,

		Notifications: notifications.NewService(notifications.Config{PublicKey: testPushKey}, store, chs, clk.Now),
		Polls:         pollService,
		Stages:        stageService,
	}))
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, mail: mail, clock: clk, acc: acc, store: store, box: box, live: live, views: views, tokens: signer, media: media, polls: pollService,
		stages: stageService, events: events}
}

// response is a finished request.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// errorCode returns error.code of an error body.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	var b struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(r.body, &b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("not an error body (%v): %s", err, r.body)
	}
	return b.Error.Code
}

// imageBody is sent with its sniffed image type.
type imageBody []byte

// formBody is sent as a form instead of JSON.
type formBody string

// call sends a request with an optional Bearer token and a body (a string is sent as is,
// anything else as JSON).
func (e *env) call(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case imageBody:
		rd, ctype = bytes.NewReader(b), http.DetectContentType(b)
	case formBody:
		rd, ctype = strings.NewReader(string(b)), "application/x-www-form-urlencoded"
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

func (e *env) want(r response, status int) response {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

const password = "Passw0rd!"

// user is a registered, verified, signed-in account.
type user struct {
	name, email, token, id, streamKey string
}

func (e *env) signUp(name string) user {
	e.t.Helper()
	email := strings.ToLower(name) + "@example.com"
	e.want(e.call("POST", "/api/auth/register", "", map[string]string{"username": name, "email": email, "password": password}), 201)
	if _, err := e.acc.MarkVerified(context.Background(), name); err != nil {
		e.t.Fatal(err)
	}
	return e.login(name, email, password)
}

func (e *env) login(name, email, pw string) user {
	e.t.Helper()
	res := e.want(e.call("POST", "/api/auth/login", "", map[string]string{"username": name, "password": pw}), 200)
	var b struct {
		Token string
		User  struct {
			ID      string
			Channel struct{ StreamKey string }
		}
	}
	if err := json.Unmarshal(res.body, &b); err != nil || b.Token == "" {
		e.t.Fatalf("login response %s: %v", res.body, err)
	}
	return user{name: name, email: email, token: b.Token, id: b.User.ID, streamKey: b.User.Channel.StreamKey}
}
