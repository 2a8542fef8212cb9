package notifications_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/bus"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/notifications"
	"github.com/livehouse/livehouse/internal/store/postgres"
	"github.com/livehouse/livehouse/internal/store/sqlite"
	"github.com/livehouse/livehouse/internal/store/sqlstore"
	"github.com/livehouse/livehouse/internal/webpush"
)

// mailbox records notice mail.
type mailbox struct {
	mu   sync.Mutex
	mail []notifications.Mail
}

func (m *mailbox) Send(_ context.Context, msg notifications.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mail = append(m.mail, msg)
	return nil
}

func (m *mailbox) all() []notifications.Mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]notifications.Mail(nil), m.mail...)
}

// pushService is a push service on loopback: it checks each request's VAPID token and
// decrypts its body with the private key of the browser the endpoint belongs to.
type pushService struct {
	t        *testing.T
	srv      *httptest.Server
	vapidKey string // the public key the tokens must verify under
	mu       sync.Mutex
	browsers map[string]browser // by path
	got      []string           // decrypted payloads
	gone     int                // requests to a gone subscription
}

type browser struct {
	key  *ecdh.PrivateKey
	auth []byte
}

func newPushService(t *testing.T, vapidKey string) *pushService {
	p := &pushService{t: t, vapidKey: vapidKey, browsers: map[string]browser{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *pushService) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8192))
	if r.URL.Path == "/gone" {
		p.mu.Lock()
		p.gone++
		p.mu.Unlock()
		w.WriteHeader(http.StatusGone)
		return
	}
	if err := verifyVAPID(r.Header.Get("Authorization"), p.srv.URL, p.vapidKey); err != nil {
		p.t.Errorf("push request: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.Header.Get("Content-Encoding") != "aes128gcm" {
		p.t.Errorf("Content-Encoding = %q", r.Header.Get("Content-Encoding"))
	}
	p.mu.Lock()
	b, ok := p.browsers[r.URL.Path]
	p.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	plain, err := webpush.Decrypt(b.key, b.auth, body)
	if err != nil {
		p.t.Errorf("decrypting a push: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.got = append(p.got, string(plain))
	p.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

// subscribe makes a browser's subscription at path.
func (p *pushService) subscribe(t *testing.T, path string) notifications.Subscription {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	p.mu.Lock()
	p.browsers[path] = browser{key: key, auth: auth}
	p.mu.Unlock()
	return notifications.Subscription{Endpoint: p.srv.URL + path, P256DH: base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes()), Auth: base64.RawURLEncoding.EncodeToString(auth)}
}

func (p *pushService) payloads() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.got...)
}

// verifyVAPID checks an RFC 8292 Authorization header: the ES256 signature under k, k the
// expected key, the audience the push service's origin.
func verifyVAPID(header, aud, wantKey string) error {
	rest, ok := strings.CutPrefix(header, "vapid ")
	if !ok {
		return fmt.Errorf("authorization %q is not vapid", header)
	}
	params := map[string]string{}
	for _, kv := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		params[k] = v
	}
	if params["k"] != wantKey {
		return fmt.Errorf("k = %q, want the server's VAPID key", params["k"])
	}
	raw, _ := base64.RawURLEncoding.DecodeString(params["k"])
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return err
	}
	parts := strings.Split(params["t"], ".")
	if len(parts) != 3 {
		return fmt.Errorf("t is not a JWT")
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if len(sig) != 64 || !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return fmt.Errorf("the JWT's signature does not verify")
	}
	var claims struct{ Aud, Sub string }
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(cb, &claims); err != nil || claims.Aud != aud || claims.Sub == "" {
		return fmt.Errorf("claims %s: want aud %s and a sub", cb, aud)
	}
	return nil
}

// countingStore records each node's claims.
type countingStore struct {
	*sqlstore.DB
	mu     *sync.Mutex
	claims *[]string // "session won|lost"
}

func (c countingStore) ClaimGoLive(ctx context.Context, sessionID, channelID, node string, at, since time.Time) (bool, error) {
	ok, err := c.DB.ClaimGoLive(ctx, sessionID, channelID, node, at, since)
	c.mu.Lock()
	defer c.mu.Unlock()
	result := "lost"
	if ok {
		result = "won"
	}
	*c.claims = append(*c.claims, sessionID+" "+result)
	return ok, err
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// backend opens two stores on one database (one per node) and one bus both nodes are on:
// SQLite and the embedded bus, or PostgreSQL and NATS when the test servers are set.
type backend struct {
	name string
	open func(t *testing.T) (node1, node2 *sqlstore.DB, b1, b2 *bus.Bus)
}

func backends() []backend {
	list := []backend{{"sqlite+embedded", func(t *testing.T) (*sqlstore.DB, *sqlstore.DB, *bus.Bus, *bus.Bus) {
		path := filepath.Join(t.TempDir(), "livehouse.db")
		s1, s2 := openSQLite(t, path), openSQLite(t, path)
		b := openBus(t, "")
		return s1, s2, b, b
	}}}
	pg, nats := os.Getenv("LIVEHOUSE_TEST_POSTGRES_URL"), os.Getenv("LIVEHOUSE_TEST_NATS_URL")
	if pg != "" && nats != "" {
		list = append(list, backend{"postgres+nats", func(t *testing.T) (*sqlstore.DB, *sqlstore.DB, *bus.Bus, *bus.Bus) {
			u := freshSchema(t, pg)
			return openPostgres(t, u), openPostgres(t, u), openBus(t, nats), openBus(t, nats)
		}})
	}
	return list
}

func openSQLite(t *testing.T, path string) *sqlstore.DB {
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openPostgres(t *testing.T, u string) *sqlstore.DB {
	s, err := postgres.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openBus(t *testing.T, u string) *bus.Bus {
	b, err := bus.Open(context.Background(), bus.Config{URL: u, Name: "notifications-test"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// freshSchema makes an empty schema for this test, dropped at its end, and returns a URL
// that uses it.
func freshSchema(t *testing.T, base string) string {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("lh_notify_%d_%d", os.Getpid(), mrand.Uint64())
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE"); admin.Close() })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

var box = func() *channels.KeyBox {
	b, err := channels.NewKeyBox(make([]byte, 32))
	if err != nil {
		panic(err)
	}
	return b
}()

func account(t *testing.T, s *sqlstore.DB, name string) (userID, channelID string) {
	t.Helper()
	now := time.Now().UTC()
	u := &accounts.User{ID: "u_" + name, Username: name, Email: name + "@example.com", PasswordHash: "x", Color: "blue", Avatar: "bird",
		CreatedAt: now, UpdatedAt: now, EmailVerifiedAt: &now}
	ch := channels.New(box, u.ID, channels.TypeBasic, now)
	if err := s.CreateAccount(context.Background(), u, ch); err != nil {
		t.Fatal(err)
	}
	return u.ID, ch.ID
}

// eventually polls cond until it holds; the deadline only stops a broken build from hanging.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 60 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func publish(t *testing.T, b *bus.Bus, channelID, sessionID, name string) {
	t.Helper()
	msg, _ := json.Marshal(map[string]any{"sessionId": sessionID, "channelId": channelID, "name": name, "type": "IVS Stream State Change"})
	if err := b.Publish(context.Background(), notifications.EventSubjectPrefix+channelID, msg); err != nil {
		t.Fatal(err)
	}
}

// TestGoLiveOnceAcrossNodes runs two nodes' notifiers on one database and one bus: a go-live
// sends each follower with the bell on one mail and each of their browsers one push (a valid
// encrypted, VAPID-signed request the test push service decrypts), whichever node wins the
// claim; a reconnect as a new session within 10 minutes, and a second delivery, send
// nothing; a gone subscription is deleted; after 10 minutes a new session notifies again.
func TestGoLiveOnceAcrossNodes(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s1, s2, b1, b2 := be.open(t)
			_, channelID := account(t, s1, "streamer")
			fan, _ := account(t, s1, "fanny")     // bell on, email and push
			quiet, _ := account(t, s1, "quietly") // bell on, email off
			_, _ = account(t, s1, "bystander")    // follows with the bell off
			ctx := context.Background()
			for _, u := range []string{fan, quiet, "u_bystander"} {
				if err := s1.Follow(ctx, u, channelID, time.Now()); err != nil {
					t.Fatal(err)
				}
				if u != "u_bystander" {
					if _, err := s1.SetBell(ctx, u, channelID, true); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := s1.SetNotificationSettings(ctx, quiet, notifications.Settings{Email: false, Push: true}); err != nil {
				t.Fatal(err)
			}
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			client, err := webpush.New(webpush.Config{Key: key, Subject: "mailto:ops@example.com", AllowPrivate: true})
			if err != nil {
				t.Fatal(err)
			}
			push := newPushService(t, client.PublicKeyString())
			for _, sub := range []struct {
				user string
				sub  notifications.Subscription
			}{{fan, push.subscribe(t, "/fan-laptop")}, {quiet, push.subscribe(t, "/quiet-phone")},
				{fan, notifications.Subscription{Endpoint: push.srv.URL + "/gone", P256DH: push.subscribe(t, "/x").P256DH, Auth: push.subscribe(t, "/x").Auth}}} {
				if err := s1.AddPushSubscription(ctx, sub.user, sub.sub, time.Now(), notifications.MaxSubscriptions); err != nil {
					t.Fatal(err)
				}
			}

			clk := &clock{now: time.Now()}
			mail := &mailbox{}
			var mu sync.Mutex
			var claims []string
			for i, node := range []struct {
				store *sqlstore.DB
				bus   *bus.Bus
			}{{s1, b1}, {s2, b2}} {
				n := notifications.NewNotifier(notifications.NotifierDeps{Store: countingStore{node.store, &mu, &claims}, Mail: mail, Push: pushAdapter{client},
					Node: fmt.Sprintf("node-%d", i+1), PublicURL: "https://live.example/", Now: clk.Now})
				sub, err := node.bus.Subscribe(notifications.EventSubjectPrefix+">", n.Deliver)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { sub.Unsubscribe() })
				if err := node.bus.Ping(context.Background()); err != nil { // the server has the subscription
					t.Fatal(err)
				}
				runCtx, stop := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { defer close(done); n.Run(runCtx) }()
				t.Cleanup(func() { stop(); <-done })
			}
			claimsOf := func(session string) (won, lost int) {
				mu.Lock()
				defer mu.Unlock()
				for _, c := range claims {
					switch c {
					case session + " won":
						won++
					case session + " lost":
						lost++
					}
				}
				return won, lost
			}
			bothClaimed := func(session string, times int) func() bool {
				return func() bool { w, l := claimsOf(session); return w+l == 2*times }
			}

			publish(t, b1, channelID, "st-1", "Session Created") // not a go-live yet
			publish(t, b1, channelID, "st-1", "Stream Start")
			eventually(t, "both nodes claim st-1", bothClaimed("st-1", 1))
			eventually(t, "the winner's sends", func() bool { return len(mail.all()) == 1 && len(push.payloads()) == 2 })
			if won, _ := claimsOf("st-1"); won != 1 {
				t.Fatalf("%d nodes won st-1's claim, want 1: %v", won, claims)
			}
			m := mail.all()[0]
			if m.To != "fanny@example.com" || m.Subject != "streamer is live on Livehouse" || m.Link != "https://live.example/streamer" || !strings.Contains(m.Text, "https://live.example/streamer") {
				t.Errorf("mail = %+v", m)
			}
			for _, p := range push.payloads() {
				var got notifications.Push
				if err := json.Unmarshal([]byte(p), &got); err != nil || got.Title != "streamer is live" || got.URL != "/streamer" {
					t.Errorf("push payload %s: %v", p, err)
				}
			}
			// The push service said the third subscription is gone: it was deleted.
			eventually(t, "the gone subscription deleted", func() bool {
				subs, err := s1.PushSubscriptions(ctx, []string{fan})
				return err == nil && len(subs[fan]) == 1 && strings.HasSuffix(subs[fan][0].Endpoint, "/fan-laptop")
			})

			// The encoder comes back after the grace period: a new session, a minute on.
			clk.Add(time.Minute)
			publish(t, b2, channelID, "st-2", "Stream Start")
			publish(t, b1, channelID, "st-1", "Stream Start") // and a late second delivery
			eventually(t, "both nodes claim st-2", bothClaimed("st-2", 1))
			eventually(t, "both nodes see st-1 again", bothClaimed("st-1", 2))
			if won, _ := claimsOf("st-2"); won != 0 {
				t.Errorf("a session within 10 minutes won its claim")
			}
			if n, p := len(mail.all()), len(push.payloads()); n != 1 || p != 2 {
				t.Errorf("after the reconnect: %d mails, %d pushes; want still 1 and 2", n, p)
			}

			// A new session past the window notifies again, once.
			clk.Add(notifications.ThrottleWindow)
			publish(t, b2, channelID, "st-3", "Stream Start")
			eventually(t, "both nodes claim st-3", bothClaimed("st-3", 1))
			eventually(t, "st-3's sends", func() bool { return len(mail.all()) == 2 && len(push.payloads()) == 4 })
			if won, _ := claimsOf("st-3"); won != 1 {
				t.Errorf("%d nodes won st-3's claim, want 1", won)
			}
		})
	}
}

type pushAdapter struct{ c *webpush.Client }

func (p pushAdapter) Push(ctx context.Context, sub notifications.Subscription, payload []byte) error {
	err := p.c.Push(ctx, webpush.Subscription{Endpoint: sub.Endpoint, P256DH: sub.P256DH, Auth: sub.Auth}, payload)
	if err == webpush.ErrGone {
		return notifications.ErrGone
	}
	return err
}

// TestDeliverIgnoresOtherEvents: only a well-formed Stream Start is a go-live; malformed
// bus messages are dropped without a panic.
func TestDeliverIgnoresOtherEvents(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "livehouse.db"))
	_, channelID := account(t, s, "streamer")
	fan, _ := account(t, s, "fanny")
	ctx := context.Background()
	if err := s.Follow(ctx, fan, channelID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetBell(ctx, fan, channelID, true); err != nil {
		t.Fatal(err)
	}
	mail := &mailbox{}
	n := notifications.NewNotifier(notifications.NotifierDeps{Store: s, Mail: mail, Node: "n", PublicURL: "https://live.example"})
	for _, m := range []struct{ subject, data string }{
		{notifications.EventSubjectPrefix + channelID, `{"sessionId":"st-1","name":"Session Created"}`},
		{notifications.EventSubjectPrefix + channelID, `{"sessionId":"","name":"Stream Start"}`},
		{notifications.EventSubjectPrefix + channelID, `not json`},
		{notifications.EventSubjectPrefix, `{"sessionId":"st-1","name":"Stream Start"}`},
		{"other.subject", `{"sessionId":"st-1","name":"Stream Start"}`},
		{notifications.EventSubjectPrefix + channelID, `{"sessionId":"st-9","name":"Stream Start"}`}, // the one go-live
	} {
		n.Deliver(m.subject, []byte(m.data))
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); n.Run(runCtx) }()
	defer func() { stop(); <-done }()
	eventually(t, "the one go-live's mail", func() bool { return len(mail.all()) == 1 })
	// The notifier handles its queue in order: a mail for any earlier message would have come first.
	if got := mail.all(); !bytes.Contains([]byte(got[0].Subject), []byte("streamer")) {
		t.Errorf("mail = %+v", got[0])
	}
	var n2 int
	if err := s.SQL().QueryRow(`SELECT COUNT(*) FROM golive_notices`).Scan(&n2); err != nil || n2 != 1 {
		t.Errorf("%d claims (%v), want 1: only st-9 was a go-live", n2, err)
	}
}
