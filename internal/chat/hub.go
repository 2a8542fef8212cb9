package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// TokenStore keeps single-use tokens where every node can take them.
type TokenStore interface {
	CreateChatToken(ctx context.Context, hash, grant string, expires time.Time) error
	TakeChatToken(ctx context.Context, hash string, now time.Time) (string, error)
}

// Publish puts a message on the bus; every node's hub receives it through Deliver.
type Publish func(ctx context.Context, subject string, data []byte) error

// SubjectPrefix is the bus subject of a room is SubjectPrefix + room id; nodes subscribe to
// SubjectPrefix + ">".
const SubjectPrefix = "chat.room."

type Hub struct {
	store   TokenStore
	publish Publish
	log     *slog.Logger
	now     func() time.Time

	roomRate int // messages per second per room, on this node

	reviewers           []Reviewer
	reviewFallbackAllow bool

	mu      sync.Mutex
	rooms   map[string]*room
	fanning sync.WaitGroup // fan-outs under way

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

type room struct {
	conns    map[*Conn]struct{}
	snapshot []*Conn // conns as a slice for fan-out; nil after a join or leave
	history  []stored
	limiter  *rate.Limiter // messages per second across the room, on this node
	queue    []*envelope   // frames waiting for fan-out, in order
	sending  bool          // a goroutine is fanning the queue out
}

// stored is a message kept for late joiners.
type stored struct {
	id    string
	frame *Frame
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
	grant, _ := json.Marshal(g)
	now := h.now()
	tokenExp, sessionExp = now.Add(TokenTTL), now.Add(g.SessionDuration)
	return token, tokenExp, sessionExp, h.store.CreateChatToken(ctx, hashToken(token), string(grant), tokenExp)
}

// Redeem takes a token and returns its grant.
func (h *Hub) Redeem(ctx context.Context, token string) (*Grant, error) {
	raw, err := h.store.TakeChatToken(ctx, hashToken(token), h.now())
	if err != nil {
		return nil, err
	}
	var g Grant
	if err := json.Unmarshal([]byte(raw), &g); err != nil {
		return nil, fmt.Errorf("stored chat grant: %w", err)
	}
	return &g, nil
}

// Join adds a connection to its room and sends it the room's recent history.
func (h *Hub) Join(g *Grant, sink Sink, ip string) *Conn {
	c := &Conn{Grant: g, IP: ip, sink: sink, limiter: rate.NewLimiter(PerConnRate, PerConnRate)}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.roomLocked(g.RoomID)
	r.conns[c] = struct{}{}
	r.snapshot = nil
	if len(r.history) > 0 {
		frames := make([]*Frame, len(r.history))
		for i, m := range r.history {
			frames[i] = m.frame
		}
		c.send(Encode(frames...))
	}
	return c
}

func (h *Hub) roomLocked(id string) *room {
	r := h.rooms[id]
	if r == nil {
		r = &room{conns: map[*Conn]struct{}{}, limiter: rate.NewLimiter(rate.Limit(h.roomRate), h.roomRate)}
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
	received   time.Time // when it reached this node
}

// Error answers one connection's action with an error frame.
func (h *Hub) Error(c *Conn, requestID string, code int, msg string) {
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

// Handle carries out one action from a connection.
func (h *Hub) Handle(ctx context.Context, c *Conn, a *Action) {
	if !c.limiter.Allow() {
		h.Error(c, a.RequestID, 429, "Too many requests on this connection.")
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
		n := utf8.RuneCountInString(a.Content)
		if n == 0 {
			h.Error(c, a.RequestID, 400, "Content is required.")
			return
		}
		if n > MaxContent {
			h.Error(c, a.RequestID, 413, fmt.Sprintf("Messages must be at most %d characters.", MaxContent))
			return
		}
		if !h.roomAllows(g.RoomID) {
			h.Error(c, a.RequestID, 429, "This room is receiving too many messages; try again shortly.")
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
		if len(a.ID) != 12 {
			h.Error(c, a.RequestID, 400, "Id must be a 12-character message id.")
			return
		}
		env.Frame = &Frame{Type: "EVENT", ID: NewID(), RequestID: a.RequestID, EventName: "aws:DELETE_MESSAGE", SendTime: now,
			Attributes: map[string]string{"MessageID": a.ID, "MessageId": a.ID, "Reason": a.Reason}}
	case "DISCONNECT_USER":
		if !g.Can(CapDisconnect) {
			h.Error(c, a.RequestID, 403, "This connection may not disconnect users.")
			return
		}
		if a.UserID == "" {
			h.Error(c, a.RequestID, 400, "UserId is required.")
			return
		}
		env.Frame = &Frame{Type: "EVENT", ID: NewID(), RequestID: a.RequestID, EventName: "aws:DISCONNECT_USER", SendTime: now,
			Attributes: map[string]string{"UserId": a.UserID, "Reason": a.Reason}}
		env.Disconnect, env.Reason = a.UserID, a.Reason
	default:
		h.Error(c, a.RequestID, 400, "Unknown action.")
		return
	}
	h.send(ctx, g.RoomID, &env, c, a.RequestID)
}

func (h *Hub) roomAllows(roomID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.roomLocked(roomID).limiter.Allow()
}

func (h *Hub) send(ctx context.Context, roomID string, env *envelope, from *Conn, requestID string) {
	data, _ := json.Marshal(env)
	if err := h.publish(ctx, SubjectPrefix+roomID, data); err != nil {
		h.log.Error("publishing chat", "room", roomID, "err", err)
		if from != nil {
			h.Error(from, requestID, 500, "The message could not be sent.")
		}
	}
}

// DisconnectUser ends every connection of a user to a room, on every node (a ban).
func (h *Hub) DisconnectUser(ctx context.Context, roomID, userID, reason string) {
	now := h.now().UTC().Format("2006-01-02T15:04:05.000Z")
	h.send(ctx, roomID, &envelope{
		Frame:      &Frame{Type: "EVENT", ID: NewID(), EventName: "aws:DISCONNECT_USER", SendTime: now, Attributes: map[string]string{"UserId": userID, "Reason": reason}},
		Disconnect: userID, Reason: reason,
	}, nil, "")
}

// fanoutChunk is how many connections one goroutine writes to; larger rooms spread over
// several, so a room's fan-out uses every core.
const fanoutChunk = 1024

// Deliver takes one bus message for a room: it updates the room's history at once and queues
// the frame for the room's fan-out.
func (h *Hub) Deliver(subject string, data []byte) {
	if len(subject) <= len(SubjectPrefix) {
		return
	}
	roomID := subject[len(SubjectPrefix):]
	env := envelope{received: time.Now()}
	if err := json.Unmarshal(data, &env); err != nil || env.Frame == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.roomLocked(roomID)
	switch {
	case env.Frame.Type == "MESSAGE":
		r.history = append(r.history, stored{id: env.Frame.ID, frame: env.Frame})
		if len(r.history) > HistorySize {
			r.history = r.history[len(r.history)-HistorySize:]
		}
	case env.Frame.EventName == "aws:DELETE_MESSAGE":
		id := env.Frame.Attributes["MessageID"]
		for i, m := range r.history {
			if m.id == id {
				r.history = append(r.history[:i:i], r.history[i+1:]...)
				break
			}
		}
	}
	if env.Disconnect != "" {
		// Clients drop a disconnected (banned) user's messages; late joiners must not get
		// them back from the history.
		r.history = slices.DeleteFunc(r.history, func(m stored) bool {
			return m.frame.Sender != nil && m.frame.Sender.UserID == env.Disconnect
		})
	}
	r.queue = append(r.queue, &env)
	if !r.sending {
		r.sending = true
		h.fanning.Go(func() { h.fanOut(r) })
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

		frames := make([]*Frame, len(queue))
		var disconnect map[string]string // user id → reason; most batches have none
		for i, env := range queue {
			frames[i] = env.Frame
			if env.Disconnect != "" {
				if disconnect == nil {
					disconnect = map[string]string{}
				}
				disconnect[env.Disconnect] = env.Reason
			}
		}
		enc := Encode(frames...)
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

// stringMap keeps attributes as the string map the protocol requires (nil becomes empty).
func stringMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
