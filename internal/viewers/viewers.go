// Package viewers counts who is watching each live channel, from the beacons players send
// with their signed playback token, and sums the counts of every node of a cluster.
//
// Counting by beacon rather than by media request keeps the count right behind an HTTP cache
// or CDN (which answers most media requests without reaching a node) and makes it hard to
// forge: a session counts only with a token this installation signed for that channel, a
// signed-in viewer counts once per channel however many tabs or devices they use, and
// anonymous sessions count at most PerAddress times per source address (per /64 for IPv6) and
// channel, so inflating a count takes many addresses. A session that stops sending beacons
// drops out after Window; one that says it is leaving drops out at once.
//
// Each node counts the beacons it receives and publishes its per-channel counts on the bus
// every PublishEvery; every node keeps the others' latest counts until they are three
// publications old, so a node that dies drops out of the sums within seconds.
package viewers

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/livehouse/livehouse/internal/clientaddr"
	"github.com/livehouse/livehouse/internal/playback"
)

// SubjectPrefix starts the bus subject, "viewers.counts.{node}", on which each node publishes
// its counts.
const SubjectPrefix = "viewers.counts."

// DropSubject carries {"channelId","userId"}: every node drops that viewer's sessions of the
// channel (they were banned from it).
const DropSubject = "viewers.drop"

// Config shapes the counter.
type Config struct {
	// Node names this node in the published counts; counts from this name on the bus are
	// this node's own and are ignored.
	Node string
	// PerAddress is how many anonymous sessions of one channel count from one address.
	PerAddress int
	// Window is how long a session counts after its last beacon.
	Window time.Duration
	// PublishEvery is how often Run publishes this node's counts.
	PublishEvery time.Duration
	// MaxSessions bounds the sessions this node tracks, all channels together.
	MaxSessions int
}

// Defaults: players beacon every 30 s, so a session survives one lost beacon.
const (
	DefaultPerAddress   = 10
	DefaultWindow       = 75 * time.Second
	DefaultPublishEvery = 5 * time.Second
	DefaultMaxSessions  = 1_000_000
)

// ErrFull is returned when the counter tracks MaxSessions already: the viewer may watch, but
// is not counted.
var ErrFull = errors.New("viewer counter is full")

// ErrCapped is returned for an anonymous session over its address's cap: it is not counted.
var ErrCapped = errors.New("too many anonymous viewers from one address")

// Publisher puts the counts on the bus.
type Publisher interface {
	Publish(ctx context.Context, subject string, data []byte) error
}

// Counter counts playback sessions per channel. It is safe for concurrent use.
type Counter struct {
	cfg Config
	now func() time.Time
	log *slog.Logger

	mu       sync.Mutex
	channels map[string]*channel // by channel id: this node's sessions
	sessions int                 // tracked here, all channels
	remote   map[string]*report  // by node: the others' latest counts
}

type channel struct {
	sessions map[string]*session // by playback session id
	users    map[string]int      // signed-in user id → their sessions here
	anon     int                 // anonymous sessions
	perAddr  map[string]int      // source address → anonymous sessions from it
}

type session struct {
	user, addr string
	last       time.Time
}

type report struct {
	counts  map[string]int
	expires time.Time
}

// New returns a counter. now and log may be nil; zero fields of cfg take the defaults.
func New(cfg Config, now func() time.Time, log *slog.Logger) *Counter {
	if cfg.PerAddress <= 0 {
		cfg.PerAddress = DefaultPerAddress
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.PublishEvery <= 0 {
		cfg.PublishEvery = DefaultPublishEvery
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Counter{cfg: cfg, now: now, log: log, channels: map[string]*channel{}, remote: map[string]*report{}}
}

// Seen records a beacon of the playback session in c (whose token the caller verified for
// the channel) from addr. It returns ErrCapped or ErrFull when the session does not count.
func (v *Counter) Seen(c playback.Claims, addr string) error {
	now := v.now()
	v.mu.Lock()
	defer v.mu.Unlock()
	ch := v.channels[c.ChannelID]
	if ch == nil {
		ch = &channel{sessions: map[string]*session{}, users: map[string]int{}, perAddr: map[string]int{}}
		v.channels[c.ChannelID] = ch
	}
	if s := ch.sessions[c.SessionID]; s != nil && s.user == c.UserID {
		s.last = now
		return nil
	}
	v.pruneLocked(c.ChannelID, ch, now)
	if v.sessions >= v.cfg.MaxSessions {
		v.sweepLocked(now)
		if v.sessions >= v.cfg.MaxSessions {
			return ErrFull
		}
	}
	key := clientaddr.Key(addr)
	if c.UserID == "" {
		if ch.perAddr[key] >= v.cfg.PerAddress {
			return ErrCapped
		}
		ch.perAddr[key]++
		ch.anon++
	} else {
		// A user counts once whatever their sessions; the cap only bounds memory.
		if ch.users[c.UserID] >= maxUserSessions {
			return ErrCapped
		}
		ch.users[c.UserID]++
	}
	v.channels[c.ChannelID] = ch                     // pruning may have dropped it
	if old := ch.sessions[c.SessionID]; old != nil { // the same id under another user: replace it
		v.removeLocked(ch, c.SessionID, old)
	}
	ch.sessions[c.SessionID] = &session{user: c.UserID, addr: key, last: now}
	v.sessions++
	return nil
}

// Left drops a playback session at once (its player said it is leaving).
func (v *Counter) Left(c playback.Claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	ch := v.channels[c.ChannelID]
	if ch == nil {
		return
	}
	if s := ch.sessions[c.SessionID]; s != nil && s.user == c.UserID {
		v.removeLocked(ch, c.SessionID, s)
	}
	if len(ch.sessions) == 0 {
		delete(v.channels, c.ChannelID)
	}
}

// DropUser stops counting a signed-in viewer's sessions of a channel on this node.
func (v *Counter) DropUser(channelID, userID string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	ch := v.channels[channelID]
	if ch == nil || userID == "" {
		return
	}
	for id, s := range ch.sessions {
		if s.user == userID {
			v.removeLocked(ch, id, s)
		}
	}
	if len(ch.sessions) == 0 {
		delete(v.channels, channelID)
	}
}

type dropMessage struct {
	ChannelID string `json:"channelId"`
	UserID    string `json:"userId"`
}

// Banned drops a viewer's sessions of a channel on every node: here at once, and on the
// others through the bus.
func (v *Counter) Banned(ctx context.Context, p Publisher, channelID, userID string) {
	v.DropUser(channelID, userID)
	msg, _ := json.Marshal(dropMessage{ChannelID: channelID, UserID: userID})
	if err := p.Publish(ctx, DropSubject, msg); err != nil {
		v.log.Warn("asking other nodes to stop counting a banned viewer", "channel", channelID, "err", err)
	}
}

// DeliverDrop is the bus handler of DropSubject.
func (v *Counter) DeliverDrop(_ string, data []byte) {
	var m dropMessage
	if json.Unmarshal(data, &m) != nil || m.ChannelID == "" || m.UserID == "" {
		v.log.Warn("ignoring a malformed viewer drop")
		return
	}
	v.DropUser(m.ChannelID, m.UserID)
}

func (v *Counter) removeLocked(ch *channel, id string, s *session) {
	delete(ch.sessions, id)
	v.sessions--
	if s.user == "" {
		ch.anon--
		if ch.perAddr[s.addr]--; ch.perAddr[s.addr] <= 0 {
			delete(ch.perAddr, s.addr)
		}
		return
	}
	if ch.users[s.user]--; ch.users[s.user] <= 0 {
		delete(ch.users, s.user)
	}
}

// pruneLocked drops the channel's sessions whose last beacon is older than the window.
func (v *Counter) pruneLocked(id string, ch *channel, now time.Time) {
	for sid, s := range ch.sessions {
		if now.Sub(s.last) > v.cfg.Window {
			v.removeLocked(ch, sid, s)
		}
	}
	if len(ch.sessions) == 0 {
		delete(v.channels, id)
	}
}

func (v *Counter) sweepLocked(now time.Time) {
	for id, ch := range v.channels {
		v.pruneLocked(id, ch, now)
	}
	for node, r := range v.remote {
		if !now.Before(r.expires) {
			delete(v.remote, node)
		}
	}
}

// localLocked is this node's count of a channel: signed-in users plus anonymous sessions.
func (v *Counter) localLocked(id string, now time.Time) int {
	ch := v.channels[id]
	if ch == nil {
		return 0
	}
	v.pruneLocked(id, ch, now)
	return len(ch.users) + ch.anon
}

// Viewers is how many watch the channel now, on every node.
func (v *Counter) Viewers(channelID string) int {
	now := v.now()
	v.mu.Lock()
	defer v.mu.Unlock()
	n := v.localLocked(channelID, now)
	for _, r := range v.remote {
		if now.Before(r.expires) {
			n += r.counts[channelID]
		}
	}
	return n
}

// Local is how many this node counts, all channels together (the Prometheus gauge).
func (v *Counter) Local() int {
	now := v.now()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.sweepLocked(now)
	n := 0
	for _, ch := range v.channels {
		n += len(ch.users) + ch.anon
	}
	return n
}

// Register exposes livehouse_hls_viewers: the playback sessions this node counts (a cluster's
// total is the sum over its nodes).
func (v *Counter) Register(reg prometheus.Registerer) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "livehouse_hls_viewers", Help: "Players whose viewing beacons this node counts."},
		func() float64 { return float64(v.Local()) }))
}

// countsMessage is what a node publishes.
type countsMessage struct {
	Node   string         `json:"node"`
	Counts map[string]int `json:"counts"`
	// Every is how often the node publishes, so that receivers know when its counts are stale.
	EveryMs int64 `json:"everyMs"`
}

func (v *Counter) snapshot() []byte {
	now := v.now()
	v.mu.Lock()
	v.sweepLocked(now)
	counts := make(map[string]int, len(v.channels))
	for id, ch := range v.channels {
		if n := len(ch.users) + ch.anon; n > 0 {
			counts[id] = n
		}
	}
	v.mu.Unlock()
	msg, _ := json.Marshal(countsMessage{Node: v.cfg.Node, Counts: counts, EveryMs: v.cfg.PublishEvery.Milliseconds()})
	return msg
}

// Publish sends this node's counts once.
func (v *Counter) Publish(ctx context.Context, p Publisher) error {
	return p.Publish(ctx, SubjectPrefix+v.cfg.Node, v.snapshot())
}

// Run publishes this node's counts every PublishEvery until ctx is done, then publishes an
// empty set so that the other nodes drop this one's viewers at once.
func (v *Counter) Run(ctx context.Context, p Publisher) error {
	tick := time.NewTicker(v.cfg.PublishEvery)
	defer tick.Stop()
	for {
		if err := v.Publish(ctx, p); err != nil && ctx.Err() == nil {
			v.log.Warn("publishing viewer counts", "err", err)
		}
		select {
		case <-ctx.Done():
			msg, _ := json.Marshal(countsMessage{Node: v.cfg.Node, Counts: map[string]int{}, EveryMs: v.cfg.PublishEvery.Milliseconds()})
			stopCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			return p.Publish(stopCtx, SubjectPrefix+v.cfg.Node, msg)
		case <-tick.C:
		}
	}
}

// maxUserSessions bounds the sessions one signed-in user may hold on one channel (tabs and
// devices); they count once.
const maxUserSessions = 20

// maxRemoteChannels bounds what one node's report may hold.
const maxRemoteChannels = 100_000

// Deliver is the bus handler of SubjectPrefix+">": it keeps another node's latest counts for
// three of its publication intervals.
func (v *Counter) Deliver(subject string, data []byte) {
	node, ok := strings.CutPrefix(subject, SubjectPrefix)
	var m countsMessage
	if !ok || json.Unmarshal(data, &m) != nil || m.Node != node || node == "" || len(m.Counts) > maxRemoteChannels {
		v.log.Warn("ignoring malformed viewer counts", "subject", subject)
		return
	}
	if node == v.cfg.Node {
		return
	}
	every := time.Duration(m.EveryMs) * time.Millisecond
	if every <= 0 || every > time.Minute {
		every = DefaultPublishEvery
	}
	for id, n := range m.Counts {
		if n < 0 {
			delete(m.Counts, id)
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(m.Counts) == 0 {
		delete(v.remote, node)
		return
	}
	v.remote[node] = &report{counts: m.Counts, expires: v.now().Add(3 * every)}
}
