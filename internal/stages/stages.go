// Package stages is the domain of multi-host stages: every user has a stage next to their
// channel; the host starts a collaborative session, hands out an invite link or accepts
// viewers' requests to join, and up to MaxPublishers people publish camera and microphone to
// each other while spectators watch. The host may kick a participant; a stage ends when the
// host ends it or HostGrace after the host left.
//
// A stage lives on the node that hosts it (its home), as its media does (the SFU forwards
// packets in process): its participants, tokens and requests are in memory here, because they
// mean nothing once that node's peer connections are gone. Only that it is open, and where, is
// recorded in the store (Store), so that every node of a cluster can mark the channel and
// forward the stage's requests to its home. A restarted home node ends the stages it left open
// (Recover) rather than resuming them, and a stage whose home node's lease expired counts as
// ended. What people see of it (joined, left, requests, kicked, ended) is announced to the host
// channel's chat room, which reaches every node.
package stages

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/problem"
)

// Limits of a stage and of what one user may ask for.
const (
	MaxPublishers = 12 // the host and 11 guests
	// MaxRequests bounds a stage's pending requests to join.
	MaxRequests = 50
	// MaxRequestsPerUser bounds the stages one user waits on at once.
	MaxRequestsPerUser = 5
	// MaxStages bounds the stages one node hosts at once.
	MaxStages = 200
	// HostGrace is how long a stage outlives its host's leaving (or never arriving).
	HostGrace = 3 * time.Minute
	// JoinTimeout drops a participant who joined but published nothing by then.
	JoinTimeout = 30 * time.Second
	// SweepEvery is how often Run ends stages and drops participants whose time is up.
	SweepEvery = 5 * time.Second
)

// KickedReason is what a kicked participant is told.
const KickedReason = "You have been kicked by the host."

// EventName is the chat room event that carries a stage's changes: its attribute "stage" is
// an Event as JSON, sent to the host channel's room.
const EventName = "app:STAGE"

// Event types, as the reference's AppSync events name them.
const (
	EventStarted         = "STAGE_STARTED"
	EventEnded           = "STAGE_ENDED"
	EventJoined          = "STAGE_PARTICIPANT_JOINED"
	EventPublished       = "STAGE_PARTICIPANT_PUBLISHED"
	EventLeft            = "STAGE_PARTICIPANT_LEFT"
	EventKicked          = "STAGE_PARTICIPANT_KICKED"
	EventRequested       = "STAGE_REQUEST_TO_JOIN"
	EventRequestRevoked  = "STAGE_REVOKE_REQUEST_TO_JOIN"
	EventRequestAccepted = "STAGE_HOST_ACCEPT_REQUEST_TO_JOIN"
	EventRequestRejected = "STAGE_HOST_DELETE_REQUEST_TO_JOIN"
)

// Participant roles.
const (
	RoleHost      = "host"
	RoleInvited   = "invited"
	RoleRequested = "requested"
)

// Refusals.
var (
	ErrNoStage          = problem.NotFound("NoActiveStage", "This channel has no active stage.")
	ErrNoParticipant    = problem.NotFound("NoSuchParticipant", "There is no such participant on this stage.")
	ErrNoRequest        = problem.NotFound("NoSuchRequest", "This user has not asked to join your stage.")
	ErrNotAdmitted      = problem.Forbidden("NotAdmitted", "Ask the host to join (or use their invite link) first.")
	ErrStageFull        = problem.Conflict("StageFull", "", "The stage has all the publishers it takes (12).")
	ErrOwnStage         = problem.Invalid("OwnStage", "", "You host this stage: join it from your stream manager.")
	ErrKickSelf         = problem.Invalid("KickHost", "participantId", "The host cannot kick themselves; end the stage instead.")
	ErrBadCredentials   = problem.Unauthenticated("InvalidParticipantToken", "The participant token is not valid for this stage.")
	ErrAlreadyOnStage   = problem.Conflict("AlreadyOnStage", "", "You are already on this stage.")
	errTooManyRequests  = problem.Unavailable("TooManyRequests", "This stage has all the pending requests it takes; try again later.", 30*time.Second)
	errUserRequests     = problem.Throttled("TooManyStageRequests", "You are waiting on too many stages at once.", 30*time.Second)
	errTooManyStages    = problem.Unavailable("TooManyStages", "This server hosts all the stages it takes; try again later.", time.Minute)
	errSuspendedChannel = problem.NotFound("NoActiveStage", "This channel has no active stage.")
	// ErrStageElsewhere: the channel has an open stage on another node (a Start raced one
	// there); the store returns it.
	ErrStageElsewhere = problem.Conflict("StageElsewhere", "", "Your stage is open on another server; try again.")
)

// Record is a stage as the store keeps it: where it lives.
type Record struct {
	ID, ChannelID, HostID, Node string
	StartedAt                   time.Time
}

// Lookup chooses a stage by one of its id, its host's user id or its host's username.
type Lookup struct {
	StageID, HostID, HostUsername string
}

// Store records the open stages and their home nodes for the whole cluster. Stages of a node
// whose lease has expired (the node is gone) count as ended in every read.
type Store interface {
	// OpenStage records a new stage; ErrStageElsewhere when the channel has an open one on a
	// leased node.
	OpenStage(ctx context.Context, r Record, at time.Time) error
	EndStage(ctx context.Context, id string, at time.Time) error
	// EndNodeStage ends the channel's open stage if node hosts it.
	EndNodeStage(ctx context.Context, channelID, node string, at time.Time) error
	// EndNodeStages ends the stages a node left open and returns them.
	EndNodeStages(ctx context.Context, node string, at time.Time) ([]Record, error)
	OpenStageChannels(ctx context.Context, channelIDs []string, at time.Time) (map[string]bool, error)
	StageHosts(ctx context.Context, at time.Time, limit int) ([]string, error)
}

// maxListedHosts bounds the hosts ActiveHosts reads from the store.
const maxListedHosts = 500

// Channels is what the domain needs from the channels domain.
type Channels interface {
	ByUsername(ctx context.Context, username string) (*channels.Profile, error)
	ForOwner(ctx context.Context, userID string) (*channels.Channel, error)
	// Watchable: nil when the viewer may see the channel's content (privacy).
	Watchable(ctx context.Context, channelID, viewerID string) (channels.Access, error)
	// MayWatch: Watchable's answer, or a problem when the user is banned from the channel.
	MayWatch(ctx context.Context, channelID, userID string) error
}

// Tokens checks a channel's playback token, which spectators present (it is refused when
// its viewer is banned, or not allowed on a private channel).
type Tokens interface {
	Check(channelID, token string) error
}

// Media is the SFU: it forwards each participant's media to the others and to spectators.
type Media interface {
	// Publish answers a participant's SDP offer and starts receiving its media.
	Publish(ctx context.Context, stageID, participantID, offer string) (answer string, err error)
	// Subscribe answers a subscriber's offer with the publisher's media. owner is the
	// participant who subscribes ("" for a spectator), so that its subscriptions end with it.
	Subscribe(ctx context.Context, stageID, publisherID, owner, addr, offer string) (id, answer string, err error)
	// Unsubscribe ends a subscription.
	Unsubscribe(stageID, id string) error
	// Drop ends a participant's publication and its own subscriptions.
	Drop(stageID, participantID string)
	// Close ends everything of a stage.
	Close(stageID string)
}

// Announcer sends an event to a channel's chat room, on every node.
type Announcer interface {
	SendEvent(ctx context.Context, roomID, name string, attrs map[string]string) error
}

// Deps are what the service is built from. Now may be nil.
type Deps struct {
	Channels Channels
	Tokens   Tokens
	Media    Media
	Events   Announcer
	// Audience, if set, counts spectators among the channel's viewers (spectators.go).
	Audience Audience
	Log      *slog.Logger
	Now      func() time.Time
	// Store, when set, records this node's stages for the cluster; Node is this node's name.
	Store Store
	Node  string
	// BaseURL is the web app's public URL, for invite links.
	BaseURL string
}

// Event is one change of a stage, as announced.
type Event struct {
	Type          string `json:"type"`
	StageID       string `json:"stageId"`
	ChannelID     string `json:"channelId"`
	ParticipantID string `json:"participantId,omitempty"`
	UserID        string `json:"userId,omitempty"`
	Username      string `json:"username,omitempty"`
	Reason        string `json:"reason,omitempty"`
}

// Participant is one publisher of a stage, as everyone sees it.
type Participant struct {
	ID         string    `json:"id"`
	UserID     string    `json:"userId"`
	Username   string    `json:"username"`
	Role       string    `json:"role"`
	JoinedAt   time.Time `json:"joinedAt"`
	Publishing bool      `json:"publishing"`
	// Kind is KindCamera, or KindScreen for a participant's screen share (screen.go).
	Kind string `json:"kind"`
	// Owner is, for a screen share, the participant id of the one who shares it.
	Owner string `json:"owner,omitempty"`
}

// Request is a viewer's request to join.
type Request struct {
	UserID      string    `json:"userId"`
	Username    string    `json:"username"`
	RequestedAt time.Time `json:"requestedAt"`
}

// View is a stage as anyone who may watch the channel sees it.
type View struct {
	ID           string        `json:"id"`
	Host         string        `json:"host"`
	StartedAt    time.Time     `json:"startedAt"`
	HostPresent  bool          `json:"hostPresent"`
	Participants []Participant `json:"participants"`
	// Viewer's standing, for the signed-in caller: "requested", "accepted" or "".
	Request string `json:"request,omitempty"`
	// Kicked: the signed-in caller was kicked from this stage (and has not been accepted
	// since), so a client that missed the event can still say why it is off the stage.
	Kicked bool `json:"kicked,omitempty"`
}

// HostView adds what only the host sees.
type HostView struct {
	View
	InviteCode string    `json:"inviteCode"`
	InviteURL  string    `json:"inviteUrl"`
	Requests   []Request `json:"requests"`
}

// Grant is what a participant gets on joining: its id and the secret token that lets it
// publish, subscribe and leave.
type Grant struct {
	StageID       string `json:"stageId"`
	ParticipantID string `json:"participantId"`
	Token         string `json:"token"`
	Role          string `json:"role"`
}

type participant struct {
	Participant
	token string
}

type stage struct {
	id, channelID, hostID, host string
	started                     time.Time
	invite                      string
	participants                map[string]*participant // by id
	requests                    map[string]*Request     // by user id
	accepted                    map[string]bool         // user ids the host accepted
	kicked                      map[string]bool         // user ids the host kicked (the invite no longer admits them)
	hostAway                    time.Time               // when the host left (or the stage started without them); zero while the host publishes
	audience                    audience                // spectators counted as viewers (spectators.go)
}

// Service runs the stages of this node.
type Service struct {
	chs    Channels
	tokens Tokens
	media  Media
	events Announcer
	log    *slog.Logger
	now    func() time.Time
	base   string
	store  Store
	node   string

	audience Audience // nil: spectators are not counted as viewers

	startMu   sync.Mutex
	mu        sync.Mutex
	byChannel map[string]*stage // by channel id
	byID      map[string]*stage
}

// New builds the service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		chs: d.Channels, tokens: d.Tokens, media: d.Media, events: d.Events, audience: d.Audience, log: d.Log, now: d.Now,
		base: strings.TrimRight(d.BaseURL, "/"), store: d.Store, node: d.Node, byChannel: map[string]*stage{}, byID: map[string]*stage{},
	}
}

// Start opens the host's stage, or returns the one already open. With a store, the stage is
// recorded there first, so that no two nodes open one for the same channel.
func (s *Service) Start(ctx context.Context, hostID, hostUsername string) (*HostView, error) {
	s.startMu.Lock() // Starts take turns: between the store's record and the map, none is half done
	defer s.startMu.Unlock()
	ch, err := s.chs.ForOwner(ctx, hostID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if st := s.byChannel[ch.ID]; st != nil {
		defer s.mu.Unlock()
		return s.hostView(st), nil
	}
	if len(s.byID) >= MaxStages {
		s.mu.Unlock()
		return nil, errTooManyStages
	}
	s.mu.Unlock()
	now := s.now()
	st := &stage{
		id: "stage-" + newID(), channelID: ch.ID, hostID: hostID, host: hostUsername, started: now,
		invite: newID(), participants: map[string]*participant{}, requests: map[string]*Request{},
		accepted: map[string]bool{}, kicked: map[string]bool{}, hostAway: now,
	}
	if s.store != nil {
		rec := Record{ID: st.id, ChannelID: ch.ID, HostID: hostID, Node: s.node, StartedAt: now}
		err := s.store.OpenStage(ctx, rec, now)
		if errors.Is(err, ErrStageElsewhere) {
			// Unless another node hosts it, the open record is of a stage of this node's own
			// whose end was not written (the store failed then): none is open here (Starts
			// take turns), so that record is ended.
			if err = s.store.EndNodeStage(ctx, ch.ID, s.node, now); err == nil {
				err = s.store.OpenStage(ctx, rec, now)
			}
		}
		if err != nil {
			s.mu.Lock()
			defer s.mu.Unlock()
			if other := s.byChannel[ch.ID]; other != nil { // a Start here at the same time won
				return s.hostView(other), nil
			}
			return nil, err
		}
	}
	s.mu.Lock()
	if other := s.byChannel[ch.ID]; other != nil { // without a store, a Start here at the same time won
		defer s.mu.Unlock()
		return s.hostView(other), nil
	}
	s.byChannel[ch.ID], s.byID[st.id] = st, st
	v := s.hostView(st)
	s.mu.Unlock()
	s.announce(ctx, Event{Type: EventStarted, StageID: st.id, ChannelID: st.channelID, UserID: hostID, Username: hostUsername})
	return v, nil
}

// HostState is the host's stage, nil when none is open.
func (s *Service) HostState(ctx context.Context, hostID string) (*HostView, error) {
	ch, err := s.chs.ForOwner(ctx, hostID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.byChannel[ch.ID]
	if st == nil {
		return nil, nil
	}
	return s.hostView(st), nil
}

// End closes the host's stage: every participant's media ends.
func (s *Service) End(ctx context.Context, hostID string) error {
	st, err := s.lockHostStage(ctx, hostID)
	if err != nil {
		return err
	}
	s.removeLocked(st)
	s.mu.Unlock()
	s.closeStage(ctx, st, "the host ended the stage")
	return nil
}

// Public is the channel's stage as viewerID ("" for anonymous) sees it, nil when none is
// open. A private channel's stage is shown only to those who may watch the channel.
func (s *Service) Public(ctx context.Context, hostUsername, viewerID string) (*View, error) {
	p, err := s.channel(ctx, hostUsername)
	if err != nil {
		return nil, err
	}
	if _, err := s.chs.Watchable(ctx, p.ChannelID, viewerID); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.byChannel[p.ChannelID]
	if st == nil {
		return nil, nil
	}
	v := st.view()
	switch {
	case viewerID == "":
	case st.accepted[viewerID]:
		v.Request = "accepted"
	case st.requests[viewerID] != nil:
		v.Request = "requested"
	}
	v.Kicked = viewerID != "" && st.kicked[viewerID]
	return &v, nil
}

// ActiveAmong reports which of the channels have an open stage: on any node of the cluster
// with a store (a failed read is logged, and this node's own stages answer), else on this one.
func (s *Service) ActiveAmong(ctx context.Context, channelIDs []string) map[string]bool {
	if s.store != nil {
		open, err := s.store.OpenStageChannels(ctx, channelIDs, s.now())
		if err == nil {
			return open
		}
		if ctx.Err() == nil { // a caller that left is no store failure
			s.log.Error("reading open stages", "err", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]bool{}
	for _, id := range channelIDs {
		if s.byChannel[id] != nil {
			out[id] = true
		}
	}
	return out
}

// Active reports whether a channel has an open stage (see ActiveAmong).
func (s *Service) Active(ctx context.Context, channelID string) bool {
	return s.ActiveAmong(ctx, []string{channelID})[channelID]
}

// ActiveHosts lists the usernames of the hosts of open stages, oldest stage first: of the
// whole cluster with a store (see ActiveAmong), else of this node.
func (s *Service) ActiveHosts(ctx context.Context) []string {
	if s.store != nil {
		hosts, err := s.store.StageHosts(ctx, s.now(), maxListedHosts)
		if err == nil {
			return hosts
		}
		if ctx.Err() == nil {
			s.log.Error("reading the hosts of open stages", "err", err)
		}
	}
	s.mu.Lock()
	all := make([]*stage, 0, len(s.byID))
	for _, st := range s.byID {
		all = append(all, st)
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].started.Before(all[j].started) })
	out := make([]string, 0, len(all))
	for _, st := range all {
		out = append(out, st.host)
	}
	return out
}

// Recover ends, in the store, the stages this node left open when it last stopped without
// ending them (a crash): their participants, tokens and media died with that process, so they
// are announced ended and their hosts start again. Call it once, before serving.
func (s *Service) Recover(ctx context.Context) error {
	if s.store == nil {
		return nil
	}
	left, err := s.store.EndNodeStages(ctx, s.node, s.now())
	if err != nil {
		return err
	}
	for _, r := range left {
		s.announce(ctx, Event{Type: EventEnded, StageID: r.ID, ChannelID: r.ChannelID, Reason: "the server restarted"})
	}
	return nil
}

// RequestToJoin asks the host of hostUsername's stage to let the user publish.
func (s *Service) RequestToJoin(ctx context.Context, userID, username, hostUsername string) error {
	st, err := s.admissible(ctx, userID, hostUsername)
	if err != nil {
		return err
	}
	s.mu.Lock()
	switch {
	case st.hostID == userID:
		s.mu.Unlock()
		return ErrOwnStage
	case st.participantOf(userID) != nil:
		s.mu.Unlock()
		return ErrAlreadyOnStage
	case st.requests[userID] != nil || st.accepted[userID]:
		s.mu.Unlock()
		return nil // asked already
	case len(st.requests) >= MaxRequests:
		s.mu.Unlock()
		return errTooManyRequests
	case s.pendingOfLocked(userID) >= MaxRequestsPerUser:
		s.mu.Unlock()
		return errUserRequests
	}
	st.requests[userID] = &Request{UserID: userID, Username: username, RequestedAt: s.now()}
	s.mu.Unlock()
	s.announce(ctx, Event{Type: EventRequested, StageID: st.id, ChannelID: st.channelID, UserID: userID, Username: username})
	return nil
}

// RevokeRequest withdraws the user's request (or unused acceptance).
func (s *Service) RevokeRequest(ctx context.Context, userID, hostUsername string) error {
	p, err := s.channel(ctx, hostUsername)
	if err != nil {
		return err
	}
	s.mu.Lock()
	st := s.byChannel[p.ChannelID]
	if st == nil || (st.requests[userID] == nil && !st.accepted[userID]) {
		s.mu.Unlock()
		return ErrNoRequest
	}
	delete(st.requests, userID)
	delete(st.accepted, userID)
	s.mu.Unlock()
	s.announce(ctx, Event{Type: EventRequestRevoked, StageID: st.id, ChannelID: st.channelID, UserID: userID})
	return nil
}

// Answer accepts or rejects a request to the host's own stage.
func (s *Service) Answer(ctx context.Context, hostID, username string, accept bool) error {
	st, err := s.lockHostStage(ctx, hostID)
	if err != nil {
		return err
	}
	var req *Request
	for _, r := range st.requests {
		if strings.EqualFold(r.Username, username) {
			req = r
		}
	}
	if req == nil {
		s.mu.Unlock()
		return ErrNoRequest
	}
	delete(st.requests, req.UserID)
	ev := Event{Type: EventRequestRejected, StageID: st.id, ChannelID: st.channelID, UserID: req.UserID, Username: req.Username}
	if accept {
		st.accepted[req.UserID] = true
		delete(st.kicked, req.UserID)
		ev.Type = EventRequestAccepted
	}
	s.mu.Unlock()
	s.announce(ctx, ev)
	return nil
}

// Join makes the user a participant of hostUsername's stage: the host always, a guest with
// the invite code (unless the host kicked them) or an accepted request. Joining again
// replaces the user's earlier participant (a reload, a second tab).
func (s *Service) Join(ctx context.Context, userID, username, hostUsername, invite string) (*Grant, error) {
	st, err := s.admissible(ctx, userID, hostUsername)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.byID[st.id] != st {
		s.mu.Unlock()
		return nil, ErrNoStage
	}
	role := RoleHost
	switch {
	case st.hostID == userID:
	case st.accepted[userID]:
		role = RoleRequested
	case invite != "" && !st.kicked[userID] && subtle.ConstantTimeCompare([]byte(invite), []byte(st.invite)) == 1:
		role = RoleInvited
	default:
		s.mu.Unlock()
		return nil, ErrNotAdmitted
	}
	old := st.participantOf(userID)
	others := len(st.participants)
	if old != nil {
		others--
	}
	hostIn := st.participantOf(st.hostID) != nil
	// One of the places is kept for the host while they are away.
	if others >= MaxPublishers || (role != RoleHost && !hostIn && others >= MaxPublishers-1) {
		s.mu.Unlock()
		return nil, ErrStageFull
	}
	if old != nil {
		delete(st.participants, old.ID)
	}
	p := &participant{Participant: Participant{ID: "p-" + newID(), UserID: userID, Username: username, Role: role, JoinedAt: s.now(), Kind: KindCamera}, token: newID()}
	st.participants[p.ID] = p
	delete(st.requests, userID)
	s.mu.Unlock()
	if old != nil {
		s.media.Drop(st.id, old.ID)
		s.announce(ctx, Event{Type: EventLeft, StageID: st.id, ChannelID: st.channelID, ParticipantID: old.ID, UserID: userID, Username: username})
		s.dropScreensOf(ctx, st, old.ID)
	}
	s.announce(ctx, Event{Type: EventJoined, StageID: st.id, ChannelID: st.channelID, ParticipantID: p.ID, UserID: userID, Username: username})
	return &Grant{StageID: st.id, ParticipantID: p.ID, Token: p.token, Role: role}, nil
}

// Publish answers a participant's offer: its camera and microphone go to the SFU.
func (s *Service) Publish(ctx context.Context, stageID, participantID, token, offer string) (string, error) {
	if _, err := s.participant(stageID, participantID, token); err != nil {
		return "", err
	}
	answer, err := s.media.Publish(ctx, stageID, participantID, offer)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	st := s.byID[stageID]
	var p *participant
	if st != nil {
		p = st.participants[participantID]
	}
	if p == nil { // kicked or ended while negotiating
		s.mu.Unlock()
		s.media.Drop(stageID, participantID)
		return "", ErrNoParticipant
	}
	p.Publishing = true
	if p.UserID == st.hostID && p.Kind != KindScreen {
		st.hostAway = time.Time{}
	}
	ev := Event{Type: EventPublished, StageID: st.id, ChannelID: st.channelID, ParticipantID: p.ID, UserID: p.UserID, Username: p.Username}
	s.mu.Unlock()
	s.announce(ctx, ev)
	return answer, nil
}

// Subscribe answers an offer for one publisher's media. The token is the subscriber's
// participant token, or (for a spectator) the channel's playback token.
func (s *Service) Subscribe(ctx context.Context, stageID, publisherID, token, addr, offer string) (id, answer string, err error) {
	s.mu.Lock()
	st := s.byID[stageID]
	if st == nil {
		s.mu.Unlock()
		return "", "", ErrNoStage
	}
	owner := ""
	for _, p := range st.participants {
		if subtle.ConstantTimeCompare([]byte(p.token), []byte(token)) == 1 {
			owner = p.ID
		}
	}
	pub := st.participants[publisherID]
	channelID := st.channelID
	s.mu.Unlock()
	if pub == nil || pub.ID == owner {
		return "", "", ErrNoParticipant
	}
	if owner == "" {
		if err := s.tokens.Check(channelID, token); err != nil {
			return "", "", err
		}
		if s.audience != nil {
			return s.spectate(ctx, st, publisherID, token, addr, offer)
		}
	}
	return s.media.Subscribe(ctx, stageID, publisherID, owner, addr, offer)
}

// Unsubscribe ends a subscription; its random id is the capability.
func (s *Service) Unsubscribe(stageID, id string) error {
	if err := s.media.Unsubscribe(stageID, id); err != nil {
		return err
	}
	s.SubscriptionEnded(stageID, id, "")
	return nil
}

// Leave takes a participant off the stage.
func (s *Service) Leave(ctx context.Context, stageID, participantID, token string) error {
	st, err := s.participant(stageID, participantID, token)
	if err != nil {
		return err
	}
	s.drop(ctx, st, participantID, Event{Type: EventLeft})
	return nil
}

// Kick takes a participant off the host's own stage and tells them why; the invite code no
// longer admits them (an accepted request does).
func (s *Service) Kick(ctx context.Context, hostID, participantID string) error {
	st, err := s.lockHostStage(ctx, hostID)
	if err != nil {
		return err
	}
	p := st.participants[participantID]
	if p == nil {
		s.mu.Unlock()
		return ErrNoParticipant
	}
	if p.Kind == KindScreen { // the host stops a share: its owner stays
		s.mu.Unlock()
		s.drop(ctx, st, participantID, Event{Type: EventLeft, Reason: "the host stopped the screen share"})
		return nil
	}
	if p.UserID == hostID {
		s.mu.Unlock()
		return ErrKickSelf
	}
	st.kicked[p.UserID] = true
	delete(st.accepted, p.UserID)
	s.mu.Unlock()
	s.drop(ctx, st, participantID, Event{Type: EventKicked, Reason: KickedReason})
	return nil
}

// MediaGone is the SFU's word that a participant's publication ended by itself (its
// connection failed or closed): it is off the stage, and if it was the host, the stage's
// HostGrace starts.
func (s *Service) MediaGone(stageID, participantID string) {
	s.mu.Lock()
	st := s.byID[stageID]
	s.mu.Unlock()
	if st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.drop(ctx, st, participantID, Event{Type: EventLeft, Reason: "connection lost"})
}

// drop removes a participant, ends its media and announces ev.
func (s *Service) drop(ctx context.Context, st *stage, participantID string, ev Event) {
	s.mu.Lock()
	p := st.participants[participantID]
	if p == nil {
		s.mu.Unlock()
		return
	}
	delete(st.participants, participantID)
	if p.UserID == st.hostID && st.participantOf(st.hostID) == nil {
		st.hostAway = s.now()
	}
	s.mu.Unlock()
	s.media.Drop(st.id, participantID)
	ev.StageID, ev.ChannelID, ev.ParticipantID, ev.UserID, ev.Username = st.id, st.channelID, p.ID, p.UserID, p.Username
	s.announce(ctx, ev)
	s.dropScreensOf(ctx, st, participantID)
}

// Sweep ends the stages whose host has been away HostGrace, and drops participants who
// joined JoinTimeout ago without publishing.
func (s *Service) Sweep(ctx context.Context) {
	now := s.now()
	var ended []*stage
	type idle struct {
		st *stage
		id string
	}
	var idles []idle
	s.mu.Lock()
	for _, st := range s.byID {
		if !st.hostAway.IsZero() && !now.Before(st.hostAway.Add(HostGrace)) {
			ended = append(ended, st)
			continue
		}
		for _, p := range st.participants {
			if !p.Publishing && !now.Before(p.JoinedAt.Add(JoinTimeout)) {
				idles = append(idles, idle{st, p.ID})
			}
		}
	}
	for _, st := range ended {
		s.removeLocked(st)
	}
	s.mu.Unlock()
	for _, st := range ended {
		s.closeStage(ctx, st, "the host left")
	}
	for _, i := range idles {
		s.drop(ctx, i.st, i.id, Event{Type: EventLeft, Reason: "published nothing"})
	}
	s.renewSpectators(ctx)
}

// Run sweeps every SweepEvery until ctx ends, then closes every stage.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			all := make([]*stage, 0, len(s.byID))
			for _, st := range s.byID {
				all = append(all, st)
				s.removeLocked(st)
			}
			s.mu.Unlock()
			for _, st := range all {
				end, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				s.closeStage(end, st, "server shutting down")
				cancel()
			}
			return nil
		case <-t.C:
			sweep, cancel := context.WithTimeout(ctx, 30*time.Second)
			s.Sweep(sweep)
			cancel()
		}
	}
}

func (s *Service) removeLocked(st *stage) {
	delete(s.byID, st.id)
	if s.byChannel[st.channelID] == st {
		delete(s.byChannel, st.channelID)
	}
}

func (s *Service) closeStage(ctx context.Context, st *stage, reason string) {
	s.media.Close(st.id)
	s.releaseSpectators(st)
	if s.store != nil {
		if err := s.store.EndStage(ctx, st.id, s.now()); err != nil {
			// Its node's lease still ends it for the other nodes once this node stops.
			s.log.Error("recording a stage's end", "stage", st.id, "err", err)
		}
	}
	s.announce(ctx, Event{Type: EventEnded, StageID: st.id, ChannelID: st.channelID, Reason: reason})
}

// lockHostStage finds the open stage of the host's own channel and returns with s.mu held;
// on an error (no channel, no stage) s.mu is not held.
func (s *Service) lockHostStage(ctx context.Context, hostID string) (*stage, error) {
	ch, err := s.chs.ForOwner(ctx, hostID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	st := s.byChannel[ch.ID]
	if st == nil {
		s.mu.Unlock()
		return nil, ErrNoStage
	}
	return st, nil
}

// admissible finds hostUsername's open stage and checks the user may watch the channel (a
// banned user may neither ask nor join).
func (s *Service) admissible(ctx context.Context, userID, hostUsername string) (*stage, error) {
	p, err := s.channel(ctx, hostUsername)
	if err != nil {
		return nil, err
	}
	if err := s.chs.MayWatch(ctx, p.ChannelID, userID); err != nil {
		return nil, err
	}
	s.mu.Lock()
	st := s.byChannel[p.ChannelID]
	s.mu.Unlock()
	if st == nil {
		return nil, ErrNoStage
	}
	return st, nil
}

func (s *Service) channel(ctx context.Context, username string) (*channels.Profile, error) {
	p, err := s.chs.ByUsername(ctx, username)
	if err != nil {
		return nil, err
	}
	if p.Suspended {
		return nil, errSuspendedChannel
	}
	return p, nil
}

// participant checks a participant's token.
func (s *Service) participant(stageID, participantID, token string) (*stage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.byID[stageID]
	if st == nil {
		return nil, ErrNoStage
	}
	p := st.participants[participantID]
	if p == nil {
		return nil, ErrNoParticipant
	}
	if subtle.ConstantTimeCompare([]byte(p.token), []byte(token)) != 1 {
		return nil, ErrBadCredentials
	}
	return st, nil
}

func (s *Service) pendingOfLocked(userID string) int {
	n := 0
	for _, st := range s.byID {
		if st.requests[userID] != nil {
			n++
		}
	}
	return n
}

func (s *Service) hostView(st *stage) *HostView {
	v := &HostView{View: st.view(), InviteCode: st.invite, Requests: []Request{}}
	v.InviteURL = s.base + "/" + st.host + "?stageInvite=" + st.invite
	for _, r := range st.requests {
		v.Requests = append(v.Requests, *r)
	}
	sort.Slice(v.Requests, func(i, j int) bool { return v.Requests[i].RequestedAt.Before(v.Requests[j].RequestedAt) })
	return v
}

func (s *Service) announce(ctx context.Context, ev Event) {
	if s.events == nil {
		return
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return
	}
	if err := s.events.SendEvent(ctx, ev.ChannelID, EventName, map[string]string{"stage": string(data)}); err != nil {
		s.log.Warn("announcing a stage event", "type", ev.Type, "stage", ev.StageID, "err", err)
	}
}

func (st *stage) view() View {
	v := View{ID: st.id, Host: st.host, StartedAt: st.started, HostPresent: st.hostAway.IsZero(), Participants: []Participant{}}
	for _, p := range st.participants {
		v.Participants = append(v.Participants, p.Participant)
	}
	sort.Slice(v.Participants, func(i, j int) bool { return v.Participants[i].JoinedAt.Before(v.Participants[j].JoinedAt) })
	return v
}

// participantOf is the user's own participant (their camera), never a screen share.
func (st *stage) participantOf(userID string) *participant {
	for _, p := range st.participants {
		if p.UserID == userID && p.Kind != KindScreen {
			return p
		}
	}
	return nil
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
