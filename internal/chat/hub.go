package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/livehouse/livehouse/internal/accounts"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// TokenStore keeps single-use tokens where every node can take them.
type TokenStore interface {
	CreateChatToken(ctx context.Context, hash, grant string, expires time.Time) error
	TakeChatToken(ctx context.Context, hash string, now time.Time) (string, error)
	// PurgeChatTokens deletes the tokens expired at now, used or not, and counts them.
	PurgeChatTokens(ctx context.Context, now time.Time) (int64, error)
}

// Access tells whether a signed-in user may still use a room: nil, ErrBanned (banned from the
// room's channel) or ErrRevoked (the account is deleted or suspended); any other error is the
// store's.
type Access func(ctx context.Context, roomID, userID string) error

// Standing is what StoreAccess reads: the account and the room channel's bans.
type Standing interface {
	UserByID(ctx context.Context, id string) (*accounts.User, error)
	IsBanned(ctx context.Context, channelID, userID string) (bool, error)
}

// StoreAccess answers Access from the store: a deleted or suspended account, or a ban from
// the room's channel (a room's id is its channel's), ends a user's standing.
func StoreAccess(s Standing) Access {
	return func(ctx context.Context, roomID, userID string) error {
		u, err := s.UserByID(ctx, userID)
		if errors.Is(err, accounts.ErrNotFound) || err == nil && u.Suspended() {
			return ErrRevoked
		}
		if err != nil {
			return err
		}
		banned, err := s.IsBanned(ctx, roomID, userID)
		if err == nil && banned {
			return ErrBanned
		}
		return err
	}
}

// accessTTL is how long a node trusts an Access answer for sends. Bans, deletions and
// suspensions made through any node reach every node at once over the bus; this bounds only
// what the bus cannot carry (an operator's command against a node with an embedded bus).
const accessTTL = 10 * time.Second

// Publish puts a message on the bus; every node's hub receives it through Deliver.
type Publish func(ctx context.Context, subject string, data []byte) error

// SubjectPrefix is the bus subject of a room is SubjectPrefix + room id; nodes subscribe to
// SubjectPrefix + ">".
const SubjectPrefix = "chat.room."

// UserSubjectPrefix + user id is the bus subject that ends a user's chat everywhere: their
// account was deleted or suspended. Nodes subscribe to UserSubjectPrefix + ">" with Deliver.
const UserSubjectPrefix = "chat.user."

type Hub struct {
	store   TokenStore
	publish Publish
	log     *slog.Logger
	now     func() time.Time

	roomRate int // messages per second per room, on this node
	access   Access
	controls SettingsStore // chat controls; nil: none

	reviewers           []Reviewer
	reviewFallbackAllow bool
	reviewBudget        time.Duration // 0: ReviewBudget (the tests set their own)

	mu       sync.Mutex
	rooms    map[string]*room
	revoked  map[standingKey]time.Time   // bans (room, user) and deletions or suspensions ("", user), by when
	private  map[string]restriction      // rooms whose channel turned private, by room id
	standing map[standingKey]accessEntry // cached Access answers for sends
	fanning  sync.WaitGroup              // fan-outs under way

	fanoutDelay prometheus.Histogram
}

// Register exposes the hub's operator metrics: open chat connections on this node (no
// per-room labels, so the series stay few however many rooms there are).
func (h *Hub) Register(reg prometheus.Registerer) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "livehouse_chat_connections", Help: "Chat connections open on this node."},
		func() float64 { return float64(h.Connections()) }), h.fanoutDelay)
}

// Connections counts the open connections of every room on this node.
func (h *Hub) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.rooms {
		n += len(r.conns)
	}
	return n
}

// SetRoomRate sets how many messages per second a room accepts (on this node).
func (h *Hub) SetRoomRate(perSecond int) { h.roomRate = perSecond }

// SetAccess installs the check of a signed-in user's standing, made when a token is redeemed
// and (cached for accessTTL) when they send. Without one, only bus events revoke access.
func (h *Hub) SetAccess(a Access) { h.access = a }

// restriction is a room's channel turning private: when, and the users who may stay (its
// owner and allowlist).
type restriction struct {
	at   time.Time
	keep map[string]bool
}

// standingKey names a ban (room and user) or a deleted or suspended account (user alone).
type standingKey struct{ room, user string }

type accessEntry struct {
	err   error
	until time.Time
}

type room struct {
	conns    map[*Conn]struct{}
	snapshot []*Conn            // conns as a slice for fan-out; nil after a join or leave
	users    map[string]*member // the signed-in users with a connection here
	history  []stored
	histSize int      // bytes of JSON in history
	histEnc  *Encoded // history encoded for joiners; nil after a change
	lastSent time.Time
	limiter  *rate.Limiter // messages per second across the room, on this node
	queue    []*envelope   // frames waiting for fan-out, in order
	sending  bool          // a goroutine is fanning the queue out

	settings    Settings             // the chat controls, as of settingsAt
	settingsAt  time.Time            // zero: not read yet
	lastMessage map[string]time.Time // user id → their last message's time, for slow mode
}

// member is one signed-in user's presence in a room: their connections there, and the share of
// the room's rate they may use whichever connection they send from.
type member struct {
	conns   map[*Conn]struct{}
	limiter *rate.Limiter
}

// stored is a message kept for late joiners, with its JSON.
type stored struct {
	id     string
	sender string // the sender's user id, so a ban can take their messages out
	json   []byte
}

func (r *room) members() []*Conn {
	if r.snapshot == nil {
		r.snapshot = make([]*Conn, 0, len(r.conns))
		for c := range r.conns {
			r.snapshot = append(r.snapshot, c)
		}
	}
	return r.snapshot
}

// Sink is the transport's side of one connection.
type Sink interface {
	// Send queues a frame for the client. A transport disconnects a client that cannot keep
	// up rather than let it slow the room.
	Send(f *Encoded)
	// Close ends the connection after what is already queued, telling the client why.
	Close(reason string)
}

// Encoded is one or more frames, in order, encoded once for every connection that receives
// them: their JSON, and the transport's wire form of them all, built by the first connection
// that needs it (so a batch of frames costs each connection one write).
type Encoded struct {
	JSON [][]byte
	once sync.Once
	wire []byte
}

// Encode encodes frames.
func Encode(frames ...*Frame) *Encoded {
	e := &Encoded{JSON: make([][]byte, len(frames))}
	for i, f := range frames {
		e.JSON[i], _ = json.Marshal(f) // a Frame always encodes
	}
	return e
}

// Wire returns the frames' wire form, each frame built with build, the first time any
// connection asks.
func (e *Encoded) Wire(build func(json []byte) []byte) []byte {
	e.once.Do(func() {
		for _, j := range e.JSON {
			e.wire = append(e.wire, build(j)...)
		}
	})
	return e.wire
}

// Conn is one client connection.
type Conn struct {
	Grant   *Grant
	IP      string // the client's address, for review handlers
	sink    Sink
	limiter *rate.Limiter
}

func (c *Conn) send(f *Encoded) { c.sink.Send(f) }

// NewHub returns a hub; now may be nil.
func NewHub(store TokenStore, publish Publish, log *slog.Logger, now func() time.Time) *Hub {
	if now == nil {
		now = time.Now
	}
	return &Hub{store: store, publish: publish, log: log, now: now, rooms: map[string]*room{}, roomRate: DefaultRoomRate,
		revoked: map[standingKey]time.Time{}, standing: map[standingKey]accessEntry{}, private: map[string]restriction{},
		fanoutDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "livehouse_chat_fanout_seconds",
			Help:    "From a chat frame reaching this node to its fan-out's last write to the room's sockets (the oldest frame of each batch).",
			Buckets: []float64{.001, .002, .005, .01, .02, .03, .05, .075, .1, .15, .2, .3, .5, 1, 2},
		})}
}

// NewID returns a 12-character id, as the protocol's message and event ids are.
func NewID() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 12)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

// IssueToken stores a single-use token for the grant, valid for TokenTTL.
func (h *Hub) IssueToken(ctx context.Context, g *Grant) (token string, tokenExp, sessionExp time.Time, err error) {
	raw := make([]byte, 32)
	rand.Read(raw)
	token = base64.RawURLEncoding.EncodeToString(raw) // HTTP token characters: usable as a subprotocol
	now := h.now()
	g.IssuedAt = now
	grant, _ := json.Marshal(g)
	tokenExp, sessionExp = now.Add(TokenTTL), now.Add(g.SessionDuration)
	return token, tokenExp, sessionExp, h.store.CreateChatToken(ctx, hashToken(token), string(grant), tokenExp)
}

// Redeem takes a token and returns its grant. A signed-in user's standing is checked afresh:
// a token issued before a ban, a suspension or the account's deletion is refused with
// ErrBanned or ErrRevoked.
func (h *Hub) Redeem(ctx context.Context, token string) (*Grant, error) {
	raw, err := h.store.TakeChatToken(ctx, hashToken(token), h.now())
	if err != nil {
		return nil, err
	}
	var g Grant
	if err := json.Unmarshal([]byte(raw), &g); err != nil {
		return nil, fmt.Errorf("stored chat grant: %w", err)
	}
	if err := h.revokedLocked(&g, true); err != nil {
		return nil, err
	}
	if g.SignedIn() && h.access != nil {
		err := h.access(ctx, g.RoomID, g.UserID)
		if err != nil && !errors.Is(err, ErrBanned) && !errors.Is(err, ErrRevoked) {
			return nil, fmt.Errorf("checking chat access: %w", err)
		}
		h.mu.Lock()
		h.standing[standingKey{g.RoomID, g.UserID}] = accessEntry{err: err, until: h.now().Add(accessTTL)}
		h.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	return &g, nil
}

// revokedLocked reports whether a ban, deletion or suspension this node has heard of came after
// the grant was issued. lock says whether to take h.mu (false: the caller holds it).
func (h *Hub) revokedLocked(g *Grant, lock bool) error {
	if !g.SignedIn() {
		return nil
	}
	if lock {
		h.mu.Lock()
		defer h.mu.Unlock()
	}
	if at, ok := h.revoked[standingKey{"", g.UserID}]; ok && !g.IssuedAt.After(at) {
		return ErrRevoked
	}
	if at, ok := h.revoked[standingKey{g.RoomID, g.UserID}]; ok && !g.IssuedAt.After(at) {
		return ErrBanned
	}
	return nil
}

// Join adds a connection to its room and sends it the room's recent history. A grant that a
// ban, deletion or suspension has voided since it was redeemed is refused: the check and the
// revocation's delivery hold the same lock, so a connection either is refused here or is in
// the room when the revocation disconnects it.
func (h *Hub) Join(g *Grant, sink Sink, ip string) (*Conn, error) {
	c := &Conn{Grant: g, IP: ip, sink: sink, limiter: rate.NewLimiter(PerConnRate, PerConnRate)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.revokedLocked(g, false); err != nil {
		return nil, err
	}
	if p, ok := h.private[g.RoomID]; ok && !g.IssuedAt.After(p.at) && !p.keep[g.UserID] {
		return nil, ErrPrivate // issued before the channel turned private, to someone not allowed
	}
	r := h.roomLocked(g.RoomID)
	r.conns[c] = struct{}{}
	r.snapshot = nil
	if g.SignedIn() {
		m := r.users[g.UserID]
		if m == nil {
			m = &member{conns: map[*Conn]struct{}{}, limiter: rate.NewLimiter(PerUserRate, PerUserRate)}
			r.users[g.UserID] = m
		}
		m.conns[c] = struct{}{}
	}
	if len(r.history) > 0 {
		if r.histEnc == nil { // once per change of the history, not once per joiner
			r.histEnc = &Encoded{JSON: make([][]byte, len(r.history))}
			for i, m := range r.history {
				r.histEnc.JSON[i] = m.json
			}
		}
		c.send(r.histEnc)
	}
	return c, nil
}

func (h *Hub) roomLocked(id string) *room {
	r := h.rooms[id]
	if r == nil {
		r = &room{conns: map[*Conn]struct{}{}, users: map[string]*member{}, limiter: rate.NewLimiter(rate.Limit(h.roomRate), h.roomRate), lastMessage: map[string]time.Time{}}
		h.rooms[id] = r
	}
	return r
}

// Leave removes a connection.
func (h *Hub) Leave(c *Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.rooms[c.Grant.RoomID]; r != nil {
		delete(r.conns, c)
		r.snapshot = nil
		if m := r.users[c.Grant.UserID]; m != nil {
			delete(m.conns, c)
			if len(m.conns) == 0 {
				delete(r.users, c.Grant.UserID)
			}
		}
		if len(r.conns) == 0 && len(r.history) == 0 {
			delete(h.rooms, c.Grant.RoomID)
		}
	}
}

// envelope is what travels on the bus.
type envelope struct {
	Frame      *Frame    `json:"frame,omitempty"`
	Disconnect string    `json:"disconnect,omitempty"` // a user id whose connections to end
	Reason     string    `json:"reason,omitempty"`
	Revoke     time.Time `json:"revoke,omitzero"` // a ban (room subject) or the end of an account (user subject), at this time
	// Private: the room's channel turned private at Revoke; every connection but those of the
	// users in Keep ends.
	Private  bool      `json:"private,omitempty"`
	Keep     []string  `json:"keep,omitempty"`
	received time.Time // when it reached this node
	json     []byte    // Frame's JSON
}

// Error answers one connection's action with an error frame.
func (h *Hub) Error(c *Conn, requestID string, code int, msg string) {
	if len(requestID) > MaxRequestID {
		requestID = ""
	}
	c.send(Encode(&Frame{Type: "ERROR", ID: NewID(), RequestID: requestID, ErrorCode: code, ErrorMessage: msg}))
}

// HandleJSON decodes one client frame and carries it out; a frame that is not an action is
// answered with a 400.
func (h *Hub) HandleJSON(ctx context.Context, c *Conn, data []byte) {
	var a Action
	if err := json.Unmarshal(data, &a); err != nil {
		h.Error(c, "", 400, "The request is not valid JSON.")
		return
	}
	h.Handle(ctx, c, &a)
}

// Check validates an action's fields against the protocol's limits, before any capability
// or rate is considered.
func Check(a *Action) error {
	if len(a.RequestID) > MaxRequestID {
		return &Invalid{413, fmt.Sprintf("RequestId must be at most %d bytes.", MaxRequestID)}
	}
	switch a.Action {
	case "SEND_MESSAGE":
		return ValidateMessage(a.Content, a.Attributes)
	case "DELETE_MESSAGE":
		if len(a.ID) != 12 {
			return &Invalid{400, "Id must be a 12-character message id."}
		}
	case "DISCONNECT_USER":
		if a.UserID == "" {
			return &Invalid{400, "UserId is required."}
		}
		if len(a.UserID) > MaxUserID {
			return &Invalid{413, fmt.Sprintf("UserId must be at most %d bytes.", MaxUserID)}
		}
	default:
		return &Invalid{400, "Unknown action."}
	}
	if utf8.RuneCountInString(a.Reason) > MaxReason {
		return &Invalid{413, fmt.Sprintf("Reason must be at most %d characters.", MaxReason)}
	}
	return nil
}

// Handle carries out one action from a connection.
func (h *Hub) Handle(ctx context.Context, c *Conn, a *Action) {
	if !c.limiter.AllowN(h.now(), 1) {
		h.Error(c, a.RequestID, 429, "Too many requests on this connection.")
		return
	}
	if err := Check(a); err != nil {
		inv := err.(*Invalid)
		h.Error(c, a.RequestID, inv.Code, inv.Message)
		return
	}
	now := h.now().UTC().Format("2006-01-02T15:04:05.000Z")
	g := c.Grant
	var env envelope
	switch a.Action {
	case "SEND_MESSAGE":
		if !g.Can(CapSend) {
			h.Error(c, a.RequestID, 403, "This connection may not send messages.")
			return
		}
		if err := h.mayStillSend(ctx, c); err != nil {
			h.Error(c, a.RequestID, 403, "You may no longer send messages to this room.")
			c.sink.Close(closeReason(err))
			return
		}
		settings := h.roomSettings(ctx, g.RoomID)
		if code, msg := h.refuseByControls(ctx, c, settings); code != 0 {
			h.Error(c, a.RequestID, code, msg)
			return
		}
		if code, msg := h.admit(c, settings); code != 0 {
			h.Error(c, a.RequestID, code, msg)
			return
		}
		id, content, attrs := NewID(), a.Content, a.Attributes
		if len(h.reviewers) > 0 {
			req := &ReviewRequest{Content: content, MessageID: id, RoomArn: g.RoomID, Attributes: stringMap(attrs)}
			req.Sender.Attributes, req.Sender.UserID, req.Sender.IP = stringMap(g.Attributes), g.UserID, c.IP
			ok, rewritten, rewrittenAttrs := h.review(ctx, req)
			if !ok {
				h.Error(c, a.RequestID, 406, "This message was not accepted by the room's review.")
				return
			}
			content, attrs = rewritten, rewrittenAttrs
		}
		env.Frame = &Frame{Type: "MESSAGE", ID: id, RequestID: a.RequestID, Content: content, Attributes: stringMap(attrs),
			Sender: &Sender{UserID: g.UserID, Attributes: stringMap(g.Attributes)}, SendTime: now}
	case "DELETE_MESSAGE":
		if !g.Can(CapDelete) {
			h.Error(c, a.RequestID, 403, "This connection may not delete messages.")
			return
		}
		env.Frame = &Frame{Type: "EVENT", ID: NewID(), RequestID: a.RequestID, EventName: "aws:DELETE_MESSAGE", SendTime: now,
			Attributes: map[string]string{"MessageID": a.ID, "MessageId": a.ID, "Reason": a.Reason}}
	case "DISCONNECT_USER":
		if !g.Can(CapDisconnect) {
			h.Error(c, a.RequestID, 403, "This connection may not disconnect users.")
			return
		}
		env.Frame = &Frame{Type: "EVENT", ID: NewID(), RequestID: a.RequestID, EventName: "aws:DISCONNECT_USER", SendTime: now,
			Attributes: map[string]string{"UserId": a.UserID, "Reason": a.Reason}}
		env.Disconnect, env.Reason = a.UserID, a.Reason
	}
	h.send(ctx, g.RoomID, &env, c, a.RequestID)
}

// closeReason is what a connection ended for its user's standing is told.
func closeReason(err error) string {
	if errors.Is(err, ErrBanned) {
		return "banned"
	}
	return "account unavailable"
}

// mayStillSend checks a sender's standing: revocations this node has heard of, then the
// Access answer, cached for accessTTL. A store that cannot answer lets the message through
// (the ban events still close the connection): chat should not stop with the database.
func (h *Hub) mayStillSend(ctx context.Context, c *Conn) error {
	g := c.Grant
	if !g.SignedIn() {
		return nil
	}
	key := standingKey{g.RoomID, g.UserID}
	h.mu.Lock()
	err := h.revokedLocked(g, false)
	e, cached := h.standing[key]
	h.mu.Unlock()
	if err != nil {
		return err
	}
	now := h.now()
	if cached && now.Before(e.until) {
		return e.err
	}
	if h.access == nil {
		return nil
	}
	err = h.access(ctx, g.RoomID, g.UserID)
	if err != nil && !errors.Is(err, ErrBanned) && !errors.Is(err, ErrRevoked) {
		h.log.Warn("checking chat access", "room", g.RoomID, "user", g.UserID, "err", err)
		return nil
	}
	h.mu.Lock()
	h.standing[key] = accessEntry{err: err, until: now.Add(accessTTL)}
	h.mu.Unlock()
	return err
}

// admit takes a message's share of the rates: the sender's own (PerUserRate, over all their
// connections to the room, so opening more does not buy more) and the room's. The room's rate
// is shared fairly: once less than half of it is left, only a user whose own allowance is
// nearly whole (they send no faster than PerUserRate) may take from it, so the half held back
// goes to those sending at the allowed rate, however many others flood. It answers an error
// code and message, or 0.
func (h *Hub) admit(c *Conn, s Settings) (int, string) {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.roomLocked(c.Grant.RoomID)
	if code, msg := h.slowLocked(r, c, s, now); code != 0 {
		return code, msg
	}
	m := r.users[c.Grant.UserID]
	if m == nil { // a sender not joined (tests call Handle directly)
		m = &member{conns: map[*Conn]struct{}{}, limiter: rate.NewLimiter(PerUserRate, PerUserRate)}
		r.users[c.Grant.UserID] = m
	}
	if !m.limiter.AllowN(now, 1) {
		return 429, "You are sending messages too fast; try again shortly."
	}
	congested := r.limiter.TokensAt(now) < float64(r.limiter.Burst())/2
	if congested && m.limiter.TokensAt(now) < PerUserRate-2 || !r.limiter.AllowN(now, 1) {
		return 429, "This room is receiving too many messages; try again shortly."
	}
	if s.SlowSeconds > 0 {
		r.lastMessage[c.Grant.UserID] = now
	}
	return 0, ""
}

func (h *Hub) send(ctx context.Context, roomID string, env *envelope, from *Conn, requestID string) {
	h.publishTo(ctx, SubjectPrefix+roomID, env, from, requestID)
}

func (h *Hub) publishTo(ctx context.Context, subject string, env *envelope, from *Conn, requestID string) {
	data, _ := json.Marshal(env)
	if err := h.publish(ctx, subject, data); err != nil {
		h.log.Error("publishing chat", "subject", subject, "err", err)
		if from != nil {
			h.Error(from, requestID, 500, "The message could not be sent.")
		}
	}
}

// DisconnectUser ends every connection of a user to a room, on every node (a moderator's
// kick: the user may come back with a new token).
func (h *Hub) DisconnectUser(ctx context.Context, roomID, userID, reason string) {
	h.send(ctx, roomID, h.disconnectEnvelope(userID, reason), nil, "")
}

// Ban ends every connection of a user banned from a room, on every node, and voids every
// token issued to them for it until now.
func (h *Hub) Ban(ctx context.Context, roomID, userID string) {
	env := h.disconnectEnvelope(userID, "banned")
	env.Revoke = h.now()
	h.send(ctx, roomID, env, nil, "")
}

// MaxKeep bounds the users a Restrict keeps in the room (a channel's owner and its
// allowlist fit).
const MaxKeep = 2000

// Restrict ends, on every node, every connection to a room whose channel has turned private,
// anonymous ones included, but those of the users in keep (its owner and allowlist); tokens
// issued for the room until now to anyone else are void.
func (h *Hub) Restrict(ctx context.Context, roomID string, keep []string) error {
	if len(keep) > MaxKeep {
		return fmt.Errorf("restricting chat room %s: %d users to keep, at most %d", roomID, len(keep), MaxKeep)
	}
	data, _ := json.Marshal(&envelope{Private: true, Keep: keep, Revoke: h.now(), Reason: "channel is private"})
	if err := h.publish(ctx, SubjectPrefix+roomID, data); err != nil {
		return fmt.Errorf("restricting chat room %s: %w", roomID, err)
	}
	return nil
}

// deliverRestrict carries out a Restrict on this node: each connection to end is told it is
// disconnected (the IVS DISCONNECT_USER event), then closed.
func (h *Hub) deliverRestrict(roomID string, env *envelope) {
	if env.Revoke.IsZero() || len(env.Keep) > MaxKeep {
		return
	}
	keep := make(map[string]bool, len(env.Keep))
	for _, id := range env.Keep {
		if id != "" && !strings.HasPrefix(id, AnonymousPrefix) {
			keep[id] = true
		}
	}
	var out []*Conn
	h.mu.Lock()
	if prev, ok := h.private[roomID]; !ok || env.Revoke.After(prev.at) {
		h.private[roomID] = restriction{at: env.Revoke, keep: keep}
	}
	if r := h.rooms[roomID]; r != nil {
		for c := range r.conns {
			if !keep[c.Grant.UserID] {
				out = append(out, c)
			}
		}
	}
	h.mu.Unlock()
	const reason = "channel is private"
	sent := h.now().UTC().Format("2006-01-02T15:04:05.000Z")
	for _, c := range out {
		c.send(Encode(&Frame{Type: "EVENT", ID: NewID(), EventName: "aws:DISCONNECT_USER", SendTime: sent,
			Attributes: map[string]string{"UserId": c.Grant.UserID, "Reason": reason}}))
		c.sink.Close(reason)
	}
}

func (h *Hub) disconnectEnvelope(userID, reason string) *envelope {
	now := h.now().UTC().Format("2006-01-02T15:04:05.000Z")
	return &envelope{
		Frame:      &Frame{Type: "EVENT", ID: NewID(), EventName: "aws:DISCONNECT_USER", SendTime: now, Attributes: map[string]string{"UserId": userID, "Reason": reason}},
		Disconnect: userID, Reason: reason,
	}
}

// EndUser ends a deleted or suspended account's chat on every node: its connections to every
// room close, and every token issued to it until at is void. It needs no hub, so the operator
// commands can call it with the bus alone.
func EndUser(ctx context.Context, publish Publish, userID, reason string, at time.Time) error {
	data, _ := json.Marshal(&envelope{Disconnect: userID, Reason: reason, Revoke: at})
	if err := publish(ctx, UserSubjectPrefix+userID, data); err != nil {
		return fmt.Errorf("ending the chat of %s: %w", userID, err)
	}
	return nil
}

// fanoutChunk is how many connections one goroutine writes to; larger rooms spread over
// several, so a room's fan-out uses every core.
const fanoutChunk = 1024

// Deliver takes one bus message for a room: it updates the room's history at once and queues
// the frame for the room's fan-out. On UserSubjectPrefix, it ends a user's chat.
func (h *Hub) Deliver(subject string, data []byte) {
	if userID, ok := strings.CutPrefix(subject, UserSubjectPrefix); ok {
		h.deliverUser(userID, data)
		return
	}
	if len(subject) <= len(SubjectPrefix) || !strings.HasPrefix(subject, SubjectPrefix) {
		return
	}
	roomID := subject[len(SubjectPrefix):]
	env := envelope{received: time.Now()}
	if err := json.Unmarshal(data, &env); err != nil {
		return
	}
	if env.Private {
		h.deliverRestrict(roomID, &env)
		return
	}
	if env.Frame == nil {
		return
	}
	env.json, _ = json.Marshal(env.Frame) // a Frame always encodes
	if len(env.json) > MaxFrameBytes {
		h.log.Warn("dropping an oversized chat frame from the bus", "room", roomID, "bytes", len(env.json))
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.roomLocked(roomID)
	if !env.Revoke.IsZero() && env.Disconnect != "" {
		h.revokeLocked(standingKey{roomID, env.Disconnect}, env.Revoke, ErrBanned)
	}
	switch {
	case env.Frame.Type == "MESSAGE":
		var sender string
		if env.Frame.Sender != nil {
			sender = env.Frame.Sender.UserID
		}
		r.history = append(r.history, stored{id: env.Frame.ID, sender: sender, json: env.json})
		r.histSize += len(env.json)
		for len(r.history) > HistorySize || r.histSize > HistoryBytes {
			r.histSize -= len(r.history[0].json)
			r.history[0] = stored{}
			r.history = r.history[1:]
		}
		r.histEnc, r.lastSent = nil, env.received
		if sent, err := time.Parse(sendTimeLayout, env.Frame.SendTime); err == nil && sender != "" && sent.After(r.lastMessage[sender]) {
			r.lastMessage[sender] = sent // slow mode counts messages sent through other nodes too
		}
	case env.Frame.EventName == SettingsEvent:
		if s, ok := settingsFrom(env.Frame.Attributes); ok {
			r.settings, r.settingsAt = s, h.now()
		}
	case env.Frame.EventName == "aws:DELETE_MESSAGE":
		id := env.Frame.Attributes["MessageID"]
		for i, m := range r.history {
			if m.id == id {
				r.histSize -= len(m.json)
				r.history = append(r.history[:i:i], r.history[i+1:]...)
				r.histEnc = nil
				break
			}
		}
	}
	if env.Disconnect != "" {
		// Clients drop a disconnected (banned) user's messages; late joiners must not get
		// them back from the history.
		r.history = slices.DeleteFunc(r.history, func(m stored) bool {
			if m.sender != env.Disconnect {
				return false
			}
			r.histSize -= len(m.json)
			r.histEnc = nil
			return true
		})
	}
	r.queue = append(r.queue, &env)
	if !r.sending {
		r.sending = true
		h.fanning.Go(func() { h.fanOut(r) })
	}
}

// revokeLocked records a ban or an account's end and forgets any cached answer it overrides.
func (h *Hub) revokeLocked(key standingKey, at time.Time, err error) {
	if prev, ok := h.revoked[key]; !ok || at.After(prev) {
		h.revoked[key] = at
	}
	if key.room == "" {
		for k := range h.standing {
			if k.user == key.user {
				h.standing[k] = accessEntry{err: err, until: h.now().Add(accessTTL)}
			}
		}
		return
	}
	h.standing[key] = accessEntry{err: err, until: h.now().Add(accessTTL)}
}

// deliverUser ends a user's connections to every room on this node: each is told it is
// disconnected (the IVS DISCONNECT_USER event), then closed.
func (h *Hub) deliverUser(userID string, data []byte) {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil || env.Revoke.IsZero() || userID == "" {
		return
	}
	reason := env.Reason
	if len(reason) > MaxReason {
		reason = reason[:MaxReason]
	}
	ev := Encode(&Frame{Type: "EVENT", ID: NewID(), EventName: "aws:DISCONNECT_USER", SendTime: h.now().UTC().Format("2006-01-02T15:04:05.000Z"),
		Attributes: map[string]string{"UserId": userID, "Reason": reason}})
	h.mu.Lock()
	h.revokeLocked(standingKey{"", userID}, env.Revoke, ErrRevoked)
	var conns []*Conn
	for _, r := range h.rooms {
		if m := r.users[userID]; m != nil {
			for c := range m.conns {
				conns = append(conns, c)
			}
		}
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.send(ev)
		c.sink.Close(reason)
	}
}

// fanOut writes a room's queued frames to its connections until the queue is empty. Frames
// that queue up while a fan-out is under way go out together in the next, as one write per
// connection: a busy room costs fewer writes per message instead of falling behind.
func (h *Hub) fanOut(r *room) {
	for {
		h.mu.Lock()
		queue := r.queue
		r.queue = nil
		if len(queue) == 0 {
			r.sending = false
			h.mu.Unlock()
			return
		}
		conns := r.members()
		h.mu.Unlock()

		enc := &Encoded{JSON: make([][]byte, len(queue))}
		var disconnect map[string]string // user id → reason; most batches have none
		for i, env := range queue {
			enc.JSON[i] = env.json
			if env.Disconnect != "" {
				if disconnect == nil {
					disconnect = map[string]string{}
				}
				disconnect[env.Disconnect] = env.Reason
			}
		}
		deliver := func(conns []*Conn) {
			for _, c := range conns {
				c.send(enc)
				if reason, ok := disconnect[c.Grant.UserID]; ok {
					c.sink.Close(reason)
				}
			}
		}
		if len(conns) <= fanoutChunk {
			deliver(conns)
		} else {
			var wg sync.WaitGroup
			for len(conns) > 0 {
				n := min(fanoutChunk, len(conns))
				part := conns[:n]
				conns = conns[n:]
				wg.Go(func() { deliver(part) })
			}
			wg.Wait()
		}
		h.fanoutDelay.Observe(time.Since(queue[0].received).Seconds())
	}
}

// Housekeeping intervals: how often Run purges, how long a revocation is remembered (past any
// token or session it could void: a ban also voids sessions already open through the
// disconnect, and a token lives TokenTTL), and how long an empty room keeps its history.
const (
	purgeEvery  = time.Minute
	revokedKeep = TokenTTL + time.Minute
	historyKeep = 30 * time.Minute
)

// Run purges, every minute until ctx ends, the expired tokens (issued but never used), the
// revocations and cached answers past their use, and the history of rooms nobody is in.
func (h *Hub) Run(ctx context.Context) error {
	t := time.NewTicker(purgeEvery)
	defer t.Stop()
	for {
		h.Purge(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Purge does one round of Run's housekeeping.
func (h *Hub) Purge(ctx context.Context) {
	now := h.now()
	if n, err := h.store.PurgeChatTokens(ctx, now); err != nil && ctx.Err() == nil {
		h.log.Error("purging expired chat tokens", "err", err)
	} else if n > 0 {
		h.log.Debug("purged expired chat tokens", "count", n)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, at := range h.revoked {
		if now.Sub(at) > revokedKeep {
			delete(h.revoked, k)
		}
	}
	for id, p := range h.private {
		if now.Sub(p.at) > revokedKeep {
			delete(h.private, id)
		}
	}
	for k, e := range h.standing {
		if !now.Before(e.until) {
			delete(h.standing, k)
		}
	}
	for id, r := range h.rooms {
		for user, at := range r.lastMessage {
			if now.Sub(at) > SlowMax*time.Second {
				delete(r.lastMessage, user)
			}
		}
		if len(r.conns) == 0 && !r.sending && time.Since(r.lastSent) > historyKeep {
			delete(h.rooms, id)
		}
	}
}

// stringMap keeps attributes as the string map the protocol requires (nil becomes empty).
func stringMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// RoomChange is what a room's bus message means for a record of its chat (the chat replay
// of a recording): a message said, or lines to remove (a deleted message, or every line of
// a user disconnected from the room, as clients drop them).
type RoomChange struct {
	RoomID          string
	Message         *Frame // a MESSAGE
	DeleteMessageID string
	DeleteSenderID  string
}

// DecodeRoomChange reads a room's bus message (subject SubjectPrefix + room id), for another
// subscriber than the hub; ok is false for anything else or anything malformed.
func DecodeRoomChange(subject string, data []byte) (RoomChange, bool) {
	roomID, found := strings.CutPrefix(subject, SubjectPrefix)
	if !found || roomID == "" || len(data) > 4*MaxFrameBytes {
		return RoomChange{}, false
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return RoomChange{}, false
	}
	c := RoomChange{RoomID: roomID, DeleteSenderID: env.Disconnect}
	if f := env.Frame; f != nil {
		switch {
		case f.Type == "MESSAGE" && f.Sender != nil:
			c.Message = f
		case f.EventName == "aws:DELETE_MESSAGE":
			c.DeleteMessageID = f.Attributes["MessageID"]
		}
	}
	return c, c.Message != nil || c.DeleteMessageID != "" || c.DeleteSenderID != ""
}
