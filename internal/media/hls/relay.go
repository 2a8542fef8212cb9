package hls

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/livehouse/livehouse/internal/playback"
)

// Relaying: a node that does not package a live channel serves it from the node that does
// (the origin), so that any node answers any viewer and a cache in front of the nodes may
// send a request to any of them.
//
// Upstream traffic does not grow with the relay's viewers. Each media playlist that viewers
// ask for is followed by one long-lived loop that asks the origin for the next part with a
// blocking reload (_HLS_msn/_HLS_part) and publishes each answer to every viewer waiting on
// it, through the same edge that local playlists use: one upstream request per playlist
// update. Parts, segments and init sections are fetched once per name (concurrent requests
// share the fetch) and kept in memory, bounded by bytes, while viewers may still ask for them.
// The multivariant playlist is fetched at most once a second.
//
// When the origin cannot be reached, viewers get 503 with Retry-After, never the last
// playlist as if it were current; once the store says the session is over (ended, or its
// node's lease ran out), the playlists end with EXT-X-ENDLIST.

// Locator finds the node that packages a channel live elsewhere in the cluster.
type Locator interface {
	// Origin returns the channel's open session and the base URL of the node running it, or
	// ErrNotLive when no other node runs one.
	Origin(ctx context.Context, channelID string) (Origin, error)
}

// Origin is where a relayed channel comes from.
type Origin struct {
	SessionID string
	NodeURL   string // base URL, such as http://10.0.0.5:8080
}

// RelayLimits bound what relaying may hold. Zero fields take the defaults.
type RelayLimits struct {
	Channels     int           // channels relayed at once (256)
	Bytes        int64         // parts, segments and init sections kept, all channels (256 MiB)
	ChannelBytes int64         // of one channel (32 MiB: a 7 × 2 s window at 8 Mbps with its ladder's parts)
	Fetches      int           // upstream fetches of files and multivariant playlists in flight (256)
	Idle         time.Duration // a relay, or one of its playlists, unasked this long is dropped (30 s)
}

func (l RelayLimits) withDefaults() RelayLimits {
	if l.Channels <= 0 {
		l.Channels = 256
	}
	if l.Bytes <= 0 {
		l.Bytes = 256 << 20
	}
	if l.ChannelBytes <= 0 {
		l.ChannelBytes = 32 << 20
	}
	if l.Fetches <= 0 {
		l.Fetches = 256
	}
	if l.Idle <= 0 {
		l.Idle = 30 * time.Second
	}
	return l
}

const (
	maxUpstreamBody   = 32 << 20         // one part, segment or playlist from the origin
	upstreamTimeout   = 20 * time.Second // a blocking reload waits up to three target durations upstream
	maxRelayPlaylists = 64               // media playlists of one channel (its renditions)
	multivariantKeep  = time.Second
	recheckEnded      = time.Second // an ended relay asks the store again at most this often
)

var (
	errRelayFull = errors.New("relaying as many channels as allowed")
	errBusy      = errors.New("too many upstream fetches in flight")
)

// relays are the channels this node relays.
type relays struct {
	s         *Server
	lim       RelayLimits
	client    *http.Client
	fetches   chan struct{} // semaphore of upstream fetches
	bytes     atomic.Int64  // kept by all relays
	upstream  prometheus.Counter
	requests  atomic.Int64 // the same count, for tests and benchmarks
	closeOnce sync.Once
	closed    chan struct{}

	mu       sync.Mutex
	m        map[string]*relay    // by channel id
	notLive  map[string]time.Time // channels the store said are live nowhere else, and when
	janitor  bool
	shutdown bool
}

// notLiveKeep is how long the store's "not live elsewhere" is taken as the answer, so that
// requests for a channel that just ended (or never was live) ask the store once a second at
// most; maxNotLive bounds what that remembers.
const (
	notLiveKeep = time.Second
	maxNotLive  = 10_000
)

func newRelays(s *Server, counter func(name, help string) prometheus.Counter) *relays {
	lim := s.cfg.Relay.withDefaults()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &relays{
		s: s, lim: lim, client: &http.Client{Transport: tr, Timeout: upstreamTimeout},
		fetches:  make(chan struct{}, lim.Fetches),
		upstream: counter("livehouse_hls_relay_upstream_requests_total", "Requests this node sent to origin nodes for channels it relays."),
		closed:   make(chan struct{}),
		m:        map[string]*relay{},
		notLive:  map[string]time.Time{},
	}
}

func (rs *relays) close() {
	rs.closeOnce.Do(func() {
		close(rs.closed)
		rs.mu.Lock()
		rs.shutdown = true
		for id, rl := range rs.m {
			rs.dropLocked(id, rl)
		}
		rs.mu.Unlock()
	})
}

// serveRelay answers a request for a channel that is not packaged here.
func (s *Server) serveRelay(w http.ResponseWriter, r *http.Request, req hlsRequest) {
	if s.cfg.Origins == nil {
		fail(w, http.StatusNotFound, "this channel is not live")
		return
	}
	rl, err := s.relays.get(r.Context(), req.channelID)
	switch {
	case errors.Is(err, ErrNotLive):
		fail(w, http.StatusNotFound, "this channel is not live")
		return
	case err != nil:
		if !errors.Is(err, errRelayFull) && r.Context().Err() == nil {
			s.log.Warn("finding the origin of a channel", "channel", req.channelID, "err", err)
		}
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, "the channel cannot be relayed now")
		return
	}
	rl.serve(w, r, req)
}

// get returns the relay of a channel, making one if the channel is live on another node.
// Nothing is kept for a channel that is not.
func (rs *relays) get(ctx context.Context, channelID string) (*relay, error) {
	now := time.Now()
	rs.mu.Lock()
	rl := rs.m[channelID]
	if rl != nil && !rl.recheck(now) {
		rs.mu.Unlock()
		rl.touch(now)
		return rl, nil
	}
	if at, ok := rs.notLive[channelID]; ok && rl == nil && now.Sub(at) < notLiveKeep {
		rs.mu.Unlock()
		return nil, ErrNotLive
	}
	rs.mu.Unlock()
	o, err := rs.s.cfg.Origins.Origin(ctx, channelID)
	if err != nil {
		if errors.Is(err, ErrNotLive) {
			rs.mu.Lock()
			if len(rs.notLive) >= maxNotLive {
				clear(rs.notLive)
			}
			rs.notLive[channelID] = now
			rs.mu.Unlock()
		}
		if rl != nil && errors.Is(err, ErrNotLive) {
			return rl, nil // still over: its final playlists answer
		}
		return nil, err
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	delete(rs.notLive, channelID)
	if rs.shutdown {
		return nil, ErrNotLive
	}
	if cur := rs.m[channelID]; cur != nil {
		if cur.sessionID == o.SessionID {
			cur.touch(now)
			return cur, nil
		}
		rs.dropLocked(channelID, cur) // a new session: the old relay's playlists are over
	}
	if len(rs.m) >= rs.lim.Channels {
		return nil, errRelayFull
	}
	base := strings.TrimSuffix(o.NodeURL, "/") + "/hls/" + channelID + "/"
	rl = newRelay(rs, channelID, o.SessionID, base)
	rs.m[channelID] = rl
	if !rs.janitor {
		rs.janitor = true
		go rs.sweep()
	}
	return rl, nil
}

func (rs *relays) dropLocked(channelID string, rl *relay) {
	if rs.m[channelID] == rl {
		delete(rs.m, channelID)
	}
	rl.stop()
	rl.mu.Lock()
	rs.bytes.Add(-rl.size)
	rl.objects, rl.order, rl.size = nil, nil, 0
	rl.mu.Unlock()
}

// sweep drops relays nobody asked for lately, and ended ones once their final playlists have
// been kept long enough.
func (rs *relays) sweep() {
	tick := time.NewTicker(rs.lim.Idle / 4)
	defer tick.Stop()
	for {
		select {
		case <-rs.closed:
			return
		case now := <-tick.C:
			rs.mu.Lock()
			for id, rl := range rs.m {
				if rl.idle(now) > rs.lim.Idle || rl.endedFor(now) > EndedKeep {
					rs.dropLocked(id, rl)
				}
			}
			rs.mu.Unlock()
		}
	}
}

// relay is one relayed channel: one session of it on one origin node.
type relay struct {
	rs                         *relays
	channelID, sessionID, base string
	life                       context.Context // cancelled when the relay is dropped
	stop                       context.CancelFunc
	lastUsed                   atomic.Int64

	mu        sync.Mutex
	edges     map[string]*edge // followers of the media playlists, by key
	known     map[string]bool  // media playlist keys the origin's multivariant playlist lists
	multi     []byte
	multiAt   time.Time
	calls     map[string]*call // upstream fetches in flight, by key
	objects   map[string][]byte
	order     []string
	size      int64
	endedAt   time.Time // zero while live
	checkedAt time.Time
	token     string
	tokenExp  time.Time
}

// call is one upstream fetch that concurrent requests share.
type call struct {
	done   chan struct{}
	body   []byte
	status int
	err    error
}

func newRelay(rs *relays, channelID, sessionID, base string) *relay {
	life, stop := context.WithCancel(context.Background())
	rl := &relay{
		rs: rs, channelID: channelID, sessionID: sessionID, base: base, life: life, stop: stop,
		edges: map[string]*edge{}, known: map[string]bool{}, calls: map[string]*call{}, objects: map[string][]byte{},
	}
	rl.touch(time.Now())
	return rl
}

func (rl *relay) touch(now time.Time) { rl.lastUsed.Store(now.UnixNano()) }
func (rl *relay) idle(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, rl.lastUsed.Load()))
}

func (rl *relay) endedFor(now time.Time) time.Duration {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.endedAt.IsZero() {
		return 0
	}
	return now.Sub(rl.endedAt)
}

// recheck reports whether the store should be asked again about an ended relay's channel (a
// new session may have started), at most once per recheckEnded. The caller holds rs.mu.
func (rl *relay) recheck(now time.Time) bool {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.endedAt.IsZero() || now.Sub(rl.checkedAt) < recheckEnded {
		return false
	}
	rl.checkedAt = now
	return true
}

func (rl *relay) end() {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.endedAt.IsZero() {
		rl.endedAt, rl.checkedAt = time.Now(), time.Now()
	}
}

func (rl *relay) serve(w http.ResponseWriter, r *http.Request, req hlsRequest) {
	s := rl.rs.s
	switch {
	case req.file == "index.m3u8" && req.rung == "":
		body, status := rl.multivariant(r.Context())
		answer(w, status, func() { writePlaylist(w, r, body, cacheShort) })
	case strings.HasSuffix(req.file, ".m3u8"):
		e, status := rl.edge(r.Context(), req.key)
		if e == nil {
			answer(w, status, nil)
			return
		}
		s.servePlaylist(w, r, e, s.blockLimit(), r.URL.Query())
	case mediaFileRE.MatchString(req.file):
		body, status := rl.object(r.Context(), req.key)
		answer(w, status, func() { writeMedia(w, r, body) })
	default:
		fail(w, http.StatusNotFound, "no such file")
	}
}

// answer turns an upstream status into ours: ok writes a 200; a 404 stays a 404; anything else
// is the origin being unreachable or overloaded, 503.
func answer(w http.ResponseWriter, status int, ok func()) {
	switch status {
	case http.StatusOK:
		ok()
	case http.StatusNotFound:
		fail(w, http.StatusNotFound, "no such file")
	case http.StatusBadRequest:
		fail(w, http.StatusBadRequest, "bad request")
	default:
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, "the node packaging this stream cannot be reached")
	}
}

// upstreamToken is the token this node presents to the origin, renewed well before it
// expires.
func (rl *relay) upstreamToken() string {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	now := time.Now()
	if rl.token == "" || rl.tokenExp.Sub(now) < playback.DefaultTTL/2 {
		rl.tokenExp = now.Add(playback.DefaultTTL)
		rl.token = rl.rs.s.cfg.Tokens.Mint(playback.Claims{
			ChannelID: rl.channelID, UserID: NodeUserPrefix + rl.rs.s.cfg.Node, Expires: rl.tokenExp,
		})
	}
	return rl.token
}

// fetch asks the origin for one file. The token goes in a header, never in the URL.
func (rl *relay) fetch(ctx context.Context, key, query string) ([]byte, int, error) {
	u := rl.base + key
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("relaying %s: %w", key, err)
	}
	req.Header.Set("Authorization", "Bearer "+rl.upstreamToken())
	rl.rs.upstream.Inc()
	rl.rs.requests.Add(1)
	res, err := rl.rs.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("relaying %s: %w", key, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxUpstreamBody+1))
	if err != nil {
		return nil, 0, fmt.Errorf("relaying %s: %w", key, err)
	}
	if len(body) > maxUpstreamBody {
		return nil, 0, fmt.Errorf("relaying %s: more than %d bytes", key, maxUpstreamBody)
	}
	return body, res.StatusCode, nil
}

// shared runs one upstream fetch for key, however many requests want it at once, bounded by
// the node's fetch limit. The fetch belongs to the relay, not to the first requester, so one
// viewer leaving does not fail the others.
func (rl *relay) shared(ctx context.Context, key string, keep func(key string, c *call)) (*call, error) {
	rl.mu.Lock()
	c := rl.calls[key]
	if c == nil {
		select {
		case rl.rs.fetches <- struct{}{}:
		default:
			rl.mu.Unlock()
			return nil, errBusy
		}
		c = &call{done: make(chan struct{})}
		rl.calls[key] = c
		go func() {
			defer func() { <-rl.rs.fetches }()
			locked := false
			defer func() {
				// An upstream answer that makes relaying panic fails this fetch only: its
				// waiters get an error and the next request tries again.
				if v := recover(); v != nil {
					rl.rs.s.log.Error("recovered from a panic", "in", "hls relay fetch", "key", key, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
					if !locked {
						rl.mu.Lock()
					}
					delete(rl.calls, key)
					rl.mu.Unlock()
					c.body, c.status, c.err = nil, 0, fmt.Errorf("relaying %s: internal error", key)
					close(c.done)
				}
			}()
			fctx, cancel := context.WithTimeout(rl.life, upstreamTimeout)
			c.body, c.status, c.err = rl.fetch(fctx, key, "")
			cancel()
			rl.mu.Lock()
			locked = true
			delete(rl.calls, key)
			if c.err == nil && c.status == http.StatusOK {
				keep(key, c)
			}
			rl.mu.Unlock()
			close(c.done)
		}()
	}
	rl.mu.Unlock()
	select {
	case <-c.done:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// multivariant returns the origin's multivariant playlist, fetched at most once a second.
func (rl *relay) multivariant(ctx context.Context) ([]byte, int) {
	rl.mu.Lock()
	if !rl.endedAt.IsZero() {
		rl.mu.Unlock()
		return nil, http.StatusNotFound
	}
	if rl.multi != nil && time.Since(rl.multiAt) < multivariantKeep {
		b := rl.multi
		rl.mu.Unlock()
		return b, http.StatusOK
	}
	rl.mu.Unlock()
	c, err := rl.shared(ctx, "index.m3u8", func(_ string, c *call) {
		rl.multi, rl.multiAt = c.body, time.Now()
		for _, key := range playlistURIs(c.body) {
			if len(rl.known) < maxRelayPlaylists {
				rl.known[key] = true
			}
		}
	})
	if err != nil {
		return nil, http.StatusServiceUnavailable
	}
	if c.err != nil {
		return nil, http.StatusServiceUnavailable
	}
	return c.body, c.status
}

var uriAttrRE = regexp.MustCompile(`URI="([^"]*)"`)

// playlistURIs lists the media playlists a multivariant playlist names, as keys under the
// channel, without query; names of any other shape are left out.
func playlistURIs(body []byte) []string {
	var out []string
	add := func(uri string) {
		uri, _, _ = strings.Cut(uri, "?")
		if req, ok := parsePath("/hls/x/" + uri); ok && strings.HasSuffix(req.file, ".m3u8") && req.file != "index.m3u8" {
			out = append(out, req.key)
		}
	}
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "#"):
			for _, m := range uriAttrRE.FindAllStringSubmatch(line, -1) {
				add(m[1])
			}
		default:
			add(line)
		}
	}
	return out
}

// edge returns the follower of a media playlist the origin lists, starting it if needed; nil
// with a status for a name it does not list.
func (rl *relay) edge(ctx context.Context, key string) (*edge, int) {
	rl.mu.Lock()
	if e := rl.edges[key]; e != nil {
		rl.mu.Unlock()
		return e, http.StatusOK
	}
	if !rl.endedAt.IsZero() {
		rl.mu.Unlock()
		return nil, http.StatusNotFound
	}
	known := rl.known[key]
	rl.mu.Unlock()
	if !known {
		// The names come from the origin's multivariant playlist; fetch it if this node has
		// not yet (a player may have loaded it through another node).
		if _, status := rl.multivariant(ctx); status != http.StatusOK {
			return nil, status
		}
		rl.mu.Lock()
		known = rl.known[key]
		rl.mu.Unlock()
		if !known {
			return nil, http.StatusNotFound
		}
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	e := rl.edges[key]
	if e == nil {
		e = newEdge()
		rl.edges[key] = e
		go rl.follow(key, e)
	}
	return e, http.StatusOK
}

// follow keeps one relayed media playlist current: each answer from the origin is published
// to every viewer waiting on this node, and the next request asks for the part after it.
func (rl *relay) follow(key string, e *edge) {
	defer func() {
		// A playlist that makes following panic ends this follower only; the next request
		// for it starts a fresh one.
		if v := recover(); v != nil {
			rl.rs.s.log.Error("recovered from a panic", "in", "hls relay follower", "key", key, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			rl.mu.Lock()
			if rl.edges[key] == e {
				delete(rl.edges, key)
			}
			rl.mu.Unlock()
			e.setLost(true)
		}
	}()
	var last []byte
	query := ""
	backoff := 100 * time.Millisecond
	for {
		if rl.life.Err() != nil {
			e.finish(endedOrNil(last))
			return
		}
		if e.idle(time.Now()) > rl.rs.lim.Idle {
			rl.mu.Lock()
			if rl.edges[key] == e {
				delete(rl.edges, key)
			}
			rl.mu.Unlock()
			e.setLost(true) // a request that took it just now retries with a fresh follower
			return
		}
		ctx, cancel := context.WithTimeout(rl.life, upstreamTimeout)
		body, status, err := rl.fetch(ctx, key, query)
		cancel()
		st, parsed := parseState(body)
		switch {
		case err == nil && status == http.StatusOK && parsed && st.ended:
			e.finish(body)
			rl.end()
			return
		case err == nil && status == http.StatusOK && parsed:
			e.publish(body, st)
			last = body
			query = "_HLS_msn=" + strconv.Itoa(st.cur) + "&_HLS_part=" + strconv.Itoa(st.curParts)
			backoff = 100 * time.Millisecond
		case err == nil && status == http.StatusServiceUnavailable && query != "":
			// The origin answered a blocking reload 503 after three target durations: the
			// stream is stalled, not gone. Ask again; viewers get the same 503 meanwhile.
		case err == nil && status == http.StatusBadRequest && query != "":
			query = "" // out of step with the origin; start from its current playlist
		default:
			if rl.life.Err() != nil {
				continue
			}
			e.setLost(true)
			if rl.gone() {
				e.finish(endedOrNil(last))
				rl.end()
				return
			}
			select {
			case <-rl.life.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			query = ""
		}
	}
}

func endedOrNil(last []byte) []byte {
	if last == nil {
		return nil
	}
	return endPlaylist(last)
}

// gone asks the store whether the relayed session is over (ended, taken over by a new
// session, or its node's lease expired). A store that cannot answer is not taken for an end.
func (rl *relay) gone() bool {
	ctx, cancel := context.WithTimeout(rl.life, 5*time.Second)
	defer cancel()
	o, err := rl.rs.s.cfg.Origins.Origin(ctx, rl.channelID)
	switch {
	case errors.Is(err, ErrNotLive):
		return true
	case err != nil:
		return false
	}
	return o.SessionID != rl.sessionID
}

// object returns a part, segment or init section, from memory or fetched once from the
// origin.
func (rl *relay) object(ctx context.Context, key string) ([]byte, int) {
	rl.mu.Lock()
	b, ok := rl.objects[key]
	rl.mu.Unlock()
	if ok {
		return b, http.StatusOK
	}
	c, err := rl.shared(ctx, key, rl.keepLocked)
	if err != nil || c.err != nil {
		return nil, http.StatusServiceUnavailable
	}
	return c.body, c.status
}

// keepLocked stores a fetched file, oldest out first, within the channel's and the node's
// byte budgets. The caller holds rl.mu.
func (rl *relay) keepLocked(key string, c *call) {
	n := int64(len(c.body))
	if rl.objects == nil || n > rl.rs.lim.ChannelBytes {
		return // dropped meanwhile, or too big to keep
	}
	for len(rl.order) > 0 && (rl.size+n > rl.rs.lim.ChannelBytes || rl.rs.bytes.Load()+n > rl.rs.lim.Bytes) {
		old := rl.order[0]
		rl.order = rl.order[1:]
		m := int64(len(rl.objects[old]))
		delete(rl.objects, old)
		rl.size -= m
		rl.rs.bytes.Add(-m)
	}
	if rl.rs.bytes.Load()+n > rl.rs.lim.Bytes {
		return // the node's budget is taken by other channels: serve without keeping
	}
	if _, dup := rl.objects[key]; dup {
		return
	}
	rl.objects[key] = c.body
	rl.order = append(rl.order, key)
	rl.size += n
	rl.rs.bytes.Add(n)
}
