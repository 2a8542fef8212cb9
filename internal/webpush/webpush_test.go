package webpush_test

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/webpush"
)

// Browser is a browser's side of a subscription: its key pair and auth secret.
type Browser struct {
	Key  *ecdh.PrivateKey
	Auth []byte
}

func NewBrowser(t testing.TB) Browser {
	t.Helper()
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	return Browser{Key: key, Auth: auth}
}

func (b Browser) Subscription(endpoint string) webpush.Subscription {
	return webpush.Subscription{Endpoint: endpoint, P256DH: base64.RawURLEncoding.EncodeToString(b.Key.PublicKey().Bytes()), Auth: base64.RawURLEncoding.EncodeToString(b.Auth)}
}

// received is one request the test push service took.
type received struct {
	header http.Header
	body   []byte
}

func pushService(t *testing.T, status int) (*httptest.Server, func() []received) {
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{header: r.Header.Clone(), body: body})
		mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received { mu.Lock(); defer mu.Unlock(); return append([]received(nil), got...) }
}

// checkVAPID verifies an Authorization header as a push service does (RFC 8292): the JWT's
// ES256 signature under the key k, its audience and expiry; it returns the claims.
func checkVAPID(t *testing.T, header, wantAud string, wantKey string) map[string]any {
	t.Helper()
	rest, ok := strings.CutPrefix(header, "vapid ")
	if !ok {
		t.Fatalf("Authorization = %q, want the vapid scheme", header)
	}
	params := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		params[k] = v
	}
	if params["k"] != wantKey {
		t.Errorf("k = %q, want %q", params["k"], wantKey)
	}
	raw, err := base64.RawURLEncoding.DecodeString(params["k"])
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		t.Fatalf("k is not a P-256 key: %v", err)
	}
	parts := strings.Split(params["t"], ".")
	if len(parts) != 3 {
		t.Fatalf("t = %q is not a JWT", params["t"])
	}
	var head map[string]string
	if hb, _ := base64.RawURLEncoding.DecodeString(parts[0]); json.Unmarshal(hb, &head) != nil || head["alg"] != "ES256" {
		t.Errorf("JWT header = %v, want alg ES256", head)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if len(sig) != 64 || !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("the VAPID JWT's signature does not verify under k")
	}
	var claims map[string]any
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(cb, &claims); err != nil {
		t.Fatal(err)
	}
	if claims["aud"] != wantAud {
		t.Errorf("aud = %v, want %s", claims["aud"], wantAud)
	}
	exp, _ := claims["exp"].(float64)
	if d := time.Until(time.Unix(int64(exp), 0)); d <= 0 || d > 24*time.Hour {
		t.Errorf("exp is %v from now, want within 24 h (RFC 8292)", d)
	}
	return claims
}

func newClient(t *testing.T) *webpush.Client {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := webpush.New(webpush.Config{Key: key, Subject: "mailto:ops@example.com", TTL: 15 * time.Minute, AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPushIsEncryptedAndSigned(t *testing.T) {
	srv, got := pushService(t, http.StatusCreated)
	c := newClient(t)
	b := NewBrowser(t)
	payload := []byte(`{"title":"alice is live","url":"/alice"}`)
	if err := c.Push(context.Background(), b.Subscription(srv.URL+"/push/abc"), payload); err != nil {
		t.Fatal(err)
	}
	reqs := got()
	if len(reqs) != 1 {
		t.Fatalf("push service got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	for name, want := range map[string]string{"Content-Encoding": "aes128gcm", "Ttl": "900", "Content-Type": "application/octet-stream"} {
		if g := r.header.Get(name); g != want {
			t.Errorf("%s = %q, want %q", name, g, want)
		}
	}
	claims := checkVAPID(t, r.header.Get("Authorization"), srv.URL, c.PublicKeyString())
	if claims["sub"] != "mailto:ops@example.com" {
		t.Errorf("sub = %v", claims["sub"])
	}
	plain, err := webpush.Decrypt(b.Key, b.Auth, r.body)
	if err != nil {
		t.Fatal(err)
	}
	if string(plain) != string(payload) {
		t.Errorf("decrypted %q, want %q", plain, payload)
	}
	// Another browser's key cannot read it.
	if _, err := webpush.Decrypt(NewBrowser(t).Key, b.Auth, r.body); err == nil {
		t.Error("another browser's key decrypted the message")
	}
}

func TestPushAnswers(t *testing.T) {
	tests := []struct {
		status  int
		wantErr error // nil: success; errAny: some error
	}{
		{http.StatusCreated, nil},
		{http.StatusNotFound, webpush.ErrGone},
		{http.StatusGone, webpush.ErrGone},
		{http.StatusTooManyRequests, errAny},
		{http.StatusBadRequest, errAny},
	}
	for _, tt := range tests {
		srv, _ := pushService(t, tt.status)
		err := newClient(t).Push(context.Background(), NewBrowser(t).Subscription(srv.URL), []byte("x"))
		switch {
		case tt.wantErr == nil && err != nil, tt.wantErr != nil && err == nil:
			t.Errorf("status %d: err = %v, want %v", tt.status, err, tt.wantErr)
		case tt.wantErr == webpush.ErrGone && !errors.Is(err, webpush.ErrGone):
			t.Errorf("status %d: err = %v, want ErrGone", tt.status, err)
		case tt.status >= 400 && tt.wantErr == errAny && errors.Is(err, webpush.ErrGone):
			t.Errorf("status %d: err = ErrGone, want another error", tt.status)
		}
	}
}

var errAny = errors.New("any error")

// TestPrivateAddressesRefused: without AllowPrivate, an endpoint on loopback (where a user
// could point the server at its own network) is not reached, and http is refused.
func TestPrivateAddressesRefused(t *testing.T) {
	srv, got := pushService(t, http.StatusCreated)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c, err := webpush.New(webpush.Config{Key: key, Subject: "mailto:ops@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	b := NewBrowser(t)
	for _, endpoint := range []string{srv.URL, strings.Replace(srv.URL, "http://", "https://", 1), "https://[::1]:1/x", "https://10.0.0.1:1/x"} {
		if err := c.Push(context.Background(), b.Subscription(endpoint), []byte("x")); err == nil {
			t.Errorf("Push to %s succeeded", endpoint)
		}
	}
	if n := len(got()); n != 0 {
		t.Errorf("the loopback push service got %d requests", n)
	}
}

func TestPayloadBound(t *testing.T) {
	b := NewBrowser(t)
	if _, err := webpush.Encrypt(b.Subscription("https://push.example/x"), make([]byte, webpush.MaxPayload)); err != nil {
		t.Errorf("MaxPayload bytes: %v", err)
	}
	if _, err := webpush.Encrypt(b.Subscription("https://push.example/x"), make([]byte, webpush.MaxPayload+1)); err == nil {
		t.Error("MaxPayload+1 bytes encrypted")
	}
	body, _ := webpush.Encrypt(b.Subscription("https://push.example/x"), make([]byte, webpush.MaxPayload))
	if len(body) > 4096 {
		t.Errorf("body of %d bytes, over the 4096 every push service takes", len(body))
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vapid.pem")
	first, err := webpush.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := webpush.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Equal(again) {
		t.Error("the key read back differs from the one created")
	}
	raw, _ := first.Bytes()
	parsed, err := webpush.ParseKey(base64.RawURLEncoding.EncodeToString(raw))
	if err != nil || !parsed.Equal(first) {
		t.Errorf("ParseKey = %v; want the same key", err)
	}
	for _, bad := range []string{"", "!!", base64.RawURLEncoding.EncodeToString(make([]byte, 31))} {
		if _, err := webpush.ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
}
