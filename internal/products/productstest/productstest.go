// Package productstest is a local stand-in for the Product Advertising API 5.0 SearchItems
// operation, for tests: it checks each request's AWS Signature Version 4 against the keys it
// was given, records the request, and answers with responses shaped like PA-API's (the
// recordings directory).
package productstest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

//go:embed recordings/*.json
var recordings embed.FS

// Reply is one answer of the stand-in.
type Reply struct {
	Status int
	Body   []byte // may contain {{AccessKey}}, replaced by the access key of the request
}

func recorded(status int, name string) Reply {
	b, err := recordings.ReadFile("recordings/" + name)
	if err != nil {
		panic(err)
	}
	return Reply{Status: status, Body: b}
}

// Answers shaped like PA-API's.
var (
	Found              = recorded(http.StatusOK, "search-items.json") // 3 products of 146
	NoResults          = recorded(http.StatusOK, "no-results.json")
	TooManyRequests    = recorded(http.StatusTooManyRequests, "too-many-requests.json")
	UnrecognizedClient = recorded(http.StatusUnauthorized, "unrecognized-client.json")
	InvalidSignature   = recorded(http.StatusUnauthorized, "invalid-signature.json")
	AccessDenied       = recorded(http.StatusForbidden, "access-denied.json") // quotes the access key
	InvalidParameter   = recorded(http.StatusBadRequest, "invalid-parameter.json")
	InternalFailure    = recorded(http.StatusInternalServerError, "internal-failure.json")
	incomplete         = recorded(http.StatusBadRequest, "incomplete-signature.json")
)

// Keys a stand-in accepts unless told otherwise.
const (
	AccessKey = "AKLIVEHOUSETEST12345"
	SecretKey = "lhTestSecret/0123456789abcdefghijklmnopqrst"
)

// Target is the X-Amz-Target of SearchItems.
const Target = "com.amazon.paapi5.v1.ProductAdvertisingAPIv1.SearchItems"

// Request is a request the stand-in accepted: signed correctly with its keys.
type Request struct {
	Header http.Header
	Body   SearchItems
}

// SearchItems is the body of a SearchItems request.
type SearchItems struct {
	Keywords              string
	ItemCount             int
	ItemPage              int
	SortBy                string
	Availability          string
	LanguagesOfPreference []string
	Marketplace           string
	PartnerTag            string
	PartnerType           string
	Resources             []string
}

// Server is the stand-in. Set its fields before the first request.
type Server struct {
	*httptest.Server
	t         testing.TB
	AccessKey string
	SecretKey string
	Region    string           // region requests must be signed for
	Now       func() time.Time // the server's clock: signatures older than 5 minutes are refused

	mu       sync.Mutex
	replies  []Reply
	requests []Request
	calls    int
}

// New starts a stand-in that accepts AccessKey and SecretKey for us-east-1 (the United States
// marketplace) and answers Found until told otherwise. It stops when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, AccessKey: AccessKey, SecretKey: SecretKey, Region: "us-east-1", Now: time.Now}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Reply queues answers for the next correctly signed requests; after them, Found again.
func (s *Server) Reply(r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies = append(s.replies, r...)
}

// Requests returns the correctly signed requests so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Calls counts every request that reached the stand-in, signed correctly or not.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Errorf("stand-in: reading the body: %v", err)
		return
	}
	// What any client of ours must get right, signed or not: a test failure, not an answer.
	if r.Method != http.MethodPost || r.URL.Path != "/paapi5/searchitems" {
		s.t.Errorf("stand-in: %s %s, want POST /paapi5/searchitems", r.Method, r.URL.Path)
	}
	for name, want := range map[string]string{
		"Content-Type": "application/json; charset=utf-8", "Content-Encoding": "amz-1.0", "X-Amz-Target": Target,
	} {
		if got := r.Header.Get(name); got != want {
			s.t.Errorf("stand-in: %s = %q, want %q", name, got, want)
		}
	}
	reply := s.check(r, body)
	if reply == nil {
		var req SearchItems
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			s.t.Errorf("stand-in: body is not a SearchItems request: %v: %s", err, body)
		}
		s.mu.Lock()
		s.requests = append(s.requests, Request{Header: r.Header.Clone(), Body: req})
		next := Found
		if len(s.replies) > 0 {
			next, s.replies = s.replies[0], s.replies[1:]
		}
		s.mu.Unlock()
		reply = &next
	}
	out := bytes.ReplaceAll(reply.Body, []byte("{{AccessKey}}"), []byte(credentialKey(r)))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(reply.Status)
	_, _ = w.Write(out)
}

// check verifies the signature as PA-API would and returns its refusal, or nil.
func (s *Server) check(r *http.Request, body []byte) *Reply {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return &incomplete
	}
	parts := map[string]string{}
	for p := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		parts[k] = v
	}
	scope := strings.Split(parts["Credential"], "/")
	signed := strings.Split(parts["SignedHeaders"], ";")
	amzDate := r.Header.Get("X-Amz-Date")
	if len(scope) != 5 || parts["Signature"] == "" || len(amzDate) != 16 {
		return &incomplete
	}
	for _, h := range []string{"content-encoding", "host", "x-amz-date", "x-amz-target"} {
		if !slices.Contains(signed, h) {
			return &incomplete
		}
	}
	if scope[0] != s.AccessKey {
		return &UnrecognizedClient
	}
	at, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || scope[1] != amzDate[:8] || scope[2] != s.Region || scope[3] != "ProductAdvertisingAPI" ||
		scope[4] != "aws4_request" || s.Now().Sub(at).Abs() > 5*time.Minute {
		return &InvalidSignature
	}
	// The canonical request, built from what arrived.
	var canon strings.Builder
	canon.WriteString(r.Method + "\n" + r.URL.EscapedPath() + "\n" + r.URL.RawQuery + "\n")
	for _, h := range signed {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		canon.WriteString(h + ":" + strings.TrimSpace(v) + "\n")
	}
	canon.WriteString("\n" + parts["SignedHeaders"] + "\n" + sha256Hex(body))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + strings.Join(scope[1:], "/") + "\n" + sha256Hex([]byte(canon.String()))
	key := []byte("AWS4" + s.SecretKey)
	for _, part := range scope[1:] { // day, region, service, aws4_request
		key = mac(key, part)
	}
	if want := hex.EncodeToString(mac(key, toSign)); !hmac.Equal([]byte(want), []byte(parts["Signature"])) {
		return &InvalidSignature
	}
	return nil
}

func credentialKey(r *http.Request) string {
	_, cred, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	key, _, _ := strings.Cut(cred, "/")
	return key
}

func mac(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
