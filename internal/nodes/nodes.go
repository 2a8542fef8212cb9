// Package nodes forwards an HTTP request received by one node of a cluster to the node that
// must answer it, over the bus: a stage's requests to the node that hosts the stage, a WHEP
// offer to the node that runs the channel's live session. Media stays pinned to that node
// (its answer carries that node's ICE candidates); only the signalling travels, as in any SFU
// cluster.
//
// The home node runs the request through its own whole HTTP handler, so everything is checked
// there again as for a request of its own: the caller's session token or cookie is sent along
// and re-verified, never a user id the forwarding node derived from it.
//
// What the home node takes on trust from the forwarding node — the caller's address, which
// per-address limits count, and that the request was forwarded — is sealed: every request
// and answer carries an HMAC-SHA256 under a key derived from the cluster's secret_key (which
// every node has, as for playback tokens), bound to the node it is for and to the time it was
// sent, and an answer to its request. Anyone else on the bus can neither have a request run
// with an address of their choosing, nor replay one later or to another node, nor answer in
// a node's place.
package nodes

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/livehouse/livehouse/internal/bus"
)

// Bounds of a forwarded request.
const (
	// MaxBody bounds a forwarded request's body: an SDP offer or a small JSON body.
	MaxBody = 64 << 10
	// MaxResponse bounds a forwarded response's body: an SDP answer or a stage's JSON.
	MaxResponse = 256 << 10
	// Timeout bounds a forwarded request, the home node's handling included.
	Timeout = 15 * time.Second
	// MaxInFlight bounds the forwarded requests a node handles at once (the bus hands each
	// its own goroutine); more are answered 503 at once.
	MaxInFlight = 256
	// MaxAge is how old (or, the nodes' clocks disagreeing, how far in the future) a
	// forwarded request may be when it arrives; older ones are refused, not run.
	MaxAge = 30 * time.Second
)

// ErrUnsealed is what Forward returns when an answer does not carry the seal of the node it
// was sent to (it was forged, or the nodes' secret_key differ); nothing is written.
var ErrUnsealed = errors.New("the answer is not sealed with the cluster's key")

// subjectPrefix and subjectSuffix frame the subject a node answers forwarded requests on:
// "node.{name}.http".
const (
	subjectPrefix = "node."
	subjectSuffix = ".http"
)

// ErrNodeGone is what Forward returns when the node does not answer on the bus (it stopped):
// the caller may answer the request itself, as nothing of it is left there.
var ErrNodeGone = errors.New("the node does not answer")

// requestHeaders are the request headers carried to the home node: the caller's credentials
// (re-verified there), what the handlers read, and what the cross-site checks read.
var requestHeaders = []string{"Authorization", "Cookie", "Content-Type", "Accept", "Origin", "Sec-Fetch-Site", "X-Forwarded-For", "X-Forwarded-Proto", "User-Agent"}

// responseHeaders are the response headers carried back (the forwarding node sets its own
// security and CORS headers).
var responseHeaders = []string{"Content-Type", "Location", "Link", "Cache-Control", "WWW-Authenticate", "Retry-After", "Set-Cookie"}

type request struct {
	To         string      `json:"to"`   // the node it is for
	Sent       int64       `json:"sent"` // Unix milliseconds
	Method     string      `json:"method"`
	URL        string      `json:"url"` // path and query
	Header     http.Header `json:"header"`
	RemoteAddr string      `json:"remoteAddr"`
	Body       []byte      `json:"body"`
}

type response struct {
	Status int         `json:"status"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"body"`
}

// Forwarder forwards requests to other nodes and answers those forwarded to this one.
type Forwarder struct {
	bus  *bus.Bus
	node string
	key  []byte // seals requests and answers
	log  *slog.Logger
	now  func() time.Time
}

// New builds the forwarder of the node named node; secret is the cluster's secret_key (32
// bytes), which every node must share.
func New(b *bus.Bus, node string, secret []byte, log *slog.Logger) (*Forwarder, error) {
	if len(secret) != 32 {
		return nil, fmt.Errorf("nodes: the cluster secret must be 32 bytes, got %d", len(secret))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("livehouse forwarded request"))
	return &Forwarder{bus: b, node: node, key: m.Sum(nil), log: log, now: time.Now}, nil
}

// The seals: a message on the bus is the HMAC of its kind and content, then the content (JSON).
// An answer's seal covers its request's seal too, so it answers that request and no other.
const sealSize = sha256.Size

func (f *Forwarder) seal(kind string, bound, content []byte) []byte {
	m := hmac.New(sha256.New, f.key)
	m.Write([]byte(kind))
	m.Write(bound)
	m.Write(content)
	return m.Sum(make([]byte, 0, sealSize+len(content)))
}

// open returns a sealed message's seal and content, or false when the seal is not right.
func (f *Forwarder) open(kind string, bound, msg []byte) (seal, content []byte, ok bool) {
	if len(msg) < sealSize {
		return nil, nil, false
	}
	seal, content = msg[:sealSize], msg[sealSize:]
	return seal, content, hmac.Equal(seal, f.seal(kind, bound, content)[:sealSize])
}

// Self is this node's name.
func (f *Forwarder) Self() string { return f.node }

// subject is the subject node answers on. Characters NATS gives a meaning to in subjects are
// replaced, so that any node name makes one exact subject.
func subject(node string) string {
	return subjectPrefix + strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t', '\r', '\n':
			return '_'
		}
		return r
	}, node) + subjectSuffix
}

type forwardedKey struct{}

// Forwarded reports whether the request came from another node: it is answered here, never
// forwarded again (the store may disagree with that node for a moment).
func Forwarded(ctx context.Context) bool { return ctx.Value(forwardedKey{}) != nil }

// Forward sends r, whose body (already read, at most MaxBody) is body, to node and writes its
// answer to w. It returns ErrNodeGone, having written nothing, when the node does not answer on
// the bus; any other error, also with nothing written, is the caller's to report.
func (f *Forwarder) Forward(w http.ResponseWriter, r *http.Request, node string, body []byte) error {
	if len(body) > MaxBody {
		return fmt.Errorf("forwarding %s %s: body of %d bytes over %d", r.Method, r.URL.Path, len(body), MaxBody)
	}
	req := request{To: node, Sent: f.now().UnixMilli(), Method: r.Method, URL: r.URL.RequestURI(), Header: http.Header{}, RemoteAddr: r.RemoteAddr, Body: body}
	for _, h := range requestHeaders {
		if v := r.Header.Values(h); len(v) > 0 {
			req.Header[h] = v
		}
	}
	data, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("forwarding %s %s: %w", r.Method, r.URL.Path, err)
	}
	sealed := append(f.seal(requestSeal, nil, data), data...)
	ctx, cancel := context.WithTimeout(r.Context(), Timeout)
	defer cancel()
	raw, err := f.bus.Request(ctx, subject(node), sealed)
	if errors.Is(err, bus.ErrNoResponders) {
		return fmt.Errorf("forwarding to node %s: %w", node, ErrNodeGone)
	}
	if err != nil {
		return fmt.Errorf("forwarding to node %s: %w", node, err)
	}
	_, content, ok := f.open(answerSeal, sealed[:sealSize], raw)
	if !ok {
		return fmt.Errorf("forwarding to node %s: %w", node, ErrUnsealed)
	}
	var res response
	if err := json.Unmarshal(content, &res); err != nil || res.Status < 100 || res.Status > 999 {
		return fmt.Errorf("forwarding to node %s: a malformed answer", node)
	}
	for _, h := range responseHeaders {
		if v := res.Header.Values(h); len(v) > 0 {
			w.Header()[h] = v
		}
	}
	w.WriteHeader(res.Status)
	_, _ = w.Write(res.Body)
	return nil
}

// Serve answers the requests other nodes forward to this one with h, until the returned stop
// is called.
func (f *Forwarder) Serve(h http.Handler) (stop func(), err error) {
	slots := make(chan struct{}, MaxInFlight)
	sub, err := f.bus.Respond(subject(f.node), func(_ string, msg []byte) []byte {
		seal, data, ok := f.open(requestSeal, nil, msg)
		if !ok {
			// Not from a node of this cluster: nothing is run, and no answer it could use.
			f.log.Warn("a forwarded request without the cluster's seal was refused")
			return nil
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		default:
			return f.encode(seal, response{Status: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"1"}}})
		}
		return f.encode(seal, f.answer(h, data))
	})
	if err != nil {
		return nil, fmt.Errorf("answering forwarded requests: %w", err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}

// answer runs one forwarded request, sealed by a node of the cluster, through h. A malformed
// one gets a 400; one for another node, or sent more than MaxAge away from now, a 403.
func (f *Forwarder) answer(h http.Handler, data []byte) response {
	var req request
	if err := json.Unmarshal(data, &req); err != nil || len(req.Body) > MaxBody || !strings.HasPrefix(req.URL, "/") {
		return response{Status: http.StatusBadRequest, Header: http.Header{}}
	}
	if age := f.now().Sub(time.UnixMilli(req.Sent)); req.To != f.node || age > MaxAge || age < -MaxAge {
		f.log.Warn("a forwarded request for another node or out of its time was refused", "to", req.To, "age", age)
		return response{Status: http.StatusForbidden, Header: http.Header{}}
	}
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), forwardedKey{}, true), Timeout)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, req.Method, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return response{Status: http.StatusBadRequest, Header: http.Header{}}
	}
	for k, v := range req.Header {
		if allowed(k) {
			r.Header[http.CanonicalHeaderKey(k)] = v
		}
	}
	r.RemoteAddr, r.RequestURI = req.RemoteAddr, req.URL
	rec := &recorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.overflow {
		f.log.Error("a forwarded request's answer is too large", "method", req.Method, "path", r.URL.Path, "limit", MaxResponse)
		return response{Status: http.StatusBadGateway, Header: http.Header{}}
	}
	return response{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}
}

func allowed(header string) bool {
	for _, h := range requestHeaders {
		if strings.EqualFold(h, header) {
			return true
		}
	}
	return false
}

// The kinds of seal.
const (
	requestSeal = "request\x00"
	answerSeal  = "answer\x00"
)

// encode seals an answer to the request of seal reqSeal.
func (f *Forwarder) encode(reqSeal []byte, res response) []byte {
	data, _ := json.Marshal(res) // headers, a status and bytes always encode
	return append(f.seal(answerSeal, reqSeal, data), data...)
}

// recorder keeps a handler's answer, at most MaxResponse bytes of body.
type recorder struct {
	header   http.Header
	status   int
	body     bytes.Buffer
	overflow bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.body.Len()+len(b) > MaxResponse {
		r.overflow = true
		return 0, errors.New("response too large to forward")
	}
	return r.body.Write(b)
}
