package streams

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/livehouse/livehouse/internal/problem"
)

// MaxEvents is how many of a session's events are kept, the most recent, as the managed
// service's truncatedEvents does.
const MaxEvents = 500

// ErrSessionNotFound is returned by the store for an unknown session.
var ErrSessionNotFound = errors.New("stream session not found")

// SessionInfo is a stream session as the health pages list it.
type SessionInfo struct {
	ID           string
	ChannelID    string
	UserID       string // the channel's owner
	ChannelType  string
	CreatedAt    time.Time // Session Created: the stream key was accepted
	StartedAt    *time.Time
	EndedAt      *time.Time
	HasError     bool   // a limit breach or a failure happened
	LastHealth   string // the latest Stream Health Change event's name, or ""
	IngestConfig string // JSON of IngestConfig, "" if none was declared
	Title        string // the channel's title at go-live, kept current while the session runs
	Category     string // the channel's category slug, likewise
}

// Live reports whether the session is on air: not ended and its stream has started.
func (s *SessionInfo) Live() bool { return s.EndedAt == nil && s.StartedAt != nil }

// Healthy reports whether the stream is not starving now.
func (s *SessionInfo) Healthy() bool { return s.LastHealth != EventStarvationStart }

// SessionCursor is where a page of sessions continues: after (older than) this session.
type SessionCursor struct {
	CreatedAt time.Time
	ID        string
}

// HealthStore is what stream health needs from persistence.
type HealthStore interface {
	PutStreamMetrics(ctx context.Context, sessionID string, minute int64, points []byte) error
	// StreamMetrics returns the encoded minutes of a session in [fromMinute, toMinute], by
	// minute in order.
	StreamMetrics(ctx context.Context, sessionID string, fromMinute, toMinute int64) ([]MetricsMinute, error)
	// StreamSessions lists a user's sessions newest first, after the cursor if there is one.
	StreamSessions(ctx context.Context, userID string, after *SessionCursor, limit int) ([]SessionInfo, error)
	StreamSession(ctx context.Context, id string) (*SessionInfo, error)
	StreamEvents(ctx context.Context, sessionID string) ([]Event, error)
	// DeleteStreamSessions deletes sessions that ended before the time, with their events and
	// metrics, and returns how many.
	DeleteStreamSessions(ctx context.Context, endedBefore time.Time) (int, error)
}

// MetricsMinute is one stored minute of points, as EncodeMinute packed them.
type MetricsMinute struct {
	Minute int64
	Points []byte
}

// ViewerCounter tells how many players watch a channel now.
type ViewerCounter interface {
	Viewers(channelID string) int
}

// Health measures live sessions and answers questions about past and present ones: every live
// session's goroutine keeps a sampler that writes a Point a second.
type Health struct {
	store   HealthStore
	viewers ViewerCounter // may be nil
	log     *slog.Logger
	now     func() time.Time

	flushEvery int                                         // points between writes of the current minute
	ticker     func() (tick <-chan time.Time, stop func()) // a 1-second ticker; tests drive their own
}

// NewHealth returns the health service. viewers and now may be nil.
func NewHealth(store HealthStore, viewers ViewerCounter, log *slog.Logger, now func() time.Time) *Health {
	if now == nil {
		now = time.Now
	}
	return &Health{store: store, viewers: viewers, log: log, now: now, flushEvery: 5, ticker: func() (<-chan time.Time, func()) {
		t := time.NewTicker(time.Second)
		return t.C, t.Stop
	}}
}

// Page sizes of the session list.
const (
	DefaultSessionPage = 20
	MaxSessionPage     = 100
)

// SessionPage is one page of a user's sessions, newest first.
type SessionPage struct {
	Sessions  []SessionInfo
	NextToken string // "" on the last page
}

// Sessions lists the user's stream sessions, newest first. token continues a previous
// page; limit 0 means DefaultSessionPage.
func (h *Health) Sessions(ctx context.Context, userID, token string, limit int) (*SessionPage, error) {
	if limit == 0 {
		limit = DefaultSessionPage
	}
	if limit < 1 || limit > MaxSessionPage {
		return nil, problem.Invalid("InvalidLimit", "limit", fmt.Sprintf("limit must be between 1 and %d.", MaxSessionPage))
	}
	after, err := parseCursor(token)
	if err != nil {
		return nil, err
	}
	list, err := h.store.StreamSessions(ctx, userID, after, limit+1)
	if err != nil {
		return nil, err
	}
	page := &SessionPage{Sessions: list}
	if len(list) > limit {
		page.Sessions = list[:limit]
		last := list[limit-1]
		page.NextToken = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(last.CreatedAt.UnixMilli(), 10) + "." + last.ID))
	}
	return page, nil
}

func parseCursor(token string) (*SessionCursor, error) {
	if token == "" {
		return nil, nil
	}
	bad := problem.Invalid("InvalidNextToken", "nextToken", "nextToken is not one this API handed out.")
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, bad
	}
	msStr, id, ok := strings.Cut(string(raw), ".")
	ms, err := strconv.ParseInt(msStr, 10, 64)
	if !ok || err != nil || id == "" {
		return nil, bad
	}
	return &SessionCursor{CreatedAt: time.UnixMilli(ms).UTC(), ID: id}, nil
}

// MaxValues bounds how many values per metric one request may ask for: a 12-hour session at
// 1-second resolution, with room to spare.
const MaxValues = 50_000

// MetricsQuery selects a session's metrics: a period (0 picks one) and a time range (zero
// times mean the session's start and its end, or now while it is live).
type MetricsQuery struct {
	Period   int
	From, To time.Time
}

// SessionDetail is everything the health page shows of one session.
type SessionDetail struct {
	SessionInfo
	Ingest   *IngestConfig // nil if the encoder declared nothing
	Events   []Event       // in order, at most MaxEvents
	Metrics  Series
	Warnings []Warning
}

// Session returns one of the user's sessions with its events, ingest configuration and
// metrics. Another user's session is not found, as an unknown one is.
func (h *Health) Session(ctx context.Context, userID, id string, q MetricsQuery) (*SessionDetail, error) {
	if q.Period != 0 && !ValidPeriod(q.Period) {
		return nil, problem.Invalid("InvalidPeriod", "period", "period must be one of 1, 5, 60, 300 or 3600 seconds.")
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return nil, problem.Invalid("InvalidTimeRange", "startTime", "startTime must be before endTime.")
	}
	info, err := h.store.StreamSession(ctx, id)
	if errors.Is(err, ErrSessionNotFound) || (err == nil && info.UserID != userID) {
		return nil, problem.NotFound("SessionNotFound", "No such stream session.")
	}
	if err != nil {
		return nil, err
	}
	d := &SessionDetail{SessionInfo: *info}
	if info.IngestConfig != "" {
		var c IngestConfig
		if err := json.Unmarshal([]byte(info.IngestConfig), &c); err != nil {
			return nil, fmt.Errorf("reading ingest configuration of %s: %w", id, err)
		}
		d.Ingest = &c
	}
	if d.Events, err = h.store.StreamEvents(ctx, id); err != nil {
		return nil, err
	}
	if len(d.Events) > MaxEvents {
		d.Events = d.Events[len(d.Events)-MaxEvents:]
	}

	// The range is the one asked for within the session's own: from its creation to its end
	// (or now), the second in progress at the end included.
	first := info.CreatedAt.Truncate(time.Second)
	last := h.now().UTC()
	if info.EndedAt != nil {
		last = *info.EndedAt
	}
	last = last.Truncate(time.Second).Add(time.Second)
	from, to := first, last
	if !q.From.IsZero() && q.From.After(from) {
		from = q.From
	}
	if !q.To.IsZero() && q.To.Before(to) {
		to = q.To
	}
	if !from.Before(to) {
		to = from.Add(time.Second)
	}
	if q.Period == 0 {
		q.Period = DefaultPeriod(to.Sub(from))
	}
	if n := to.Sub(from) / (time.Duration(q.Period) * time.Second); n > MaxValues {
		return nil, problem.Invalid("TooManyValues", "period", fmt.Sprintf("That range at a %d s period is %d values; ask for at most %d with a longer period or a shorter range.", q.Period, n, MaxValues))
	}
	points, err := h.points(ctx, id, from, to)
	if err != nil {
		return nil, err
	}
	d.Metrics = Aggregate(points, q.Period, from, to)
	// The keyframe warning judges the whole session, whatever range was asked for.
	all := d.Metrics.Averages.KeyframeInterval
	if !from.Equal(first) || !to.Equal(last) {
		whole, err := h.points(ctx, id, first, last)
		if err != nil {
			return nil, err
		}
		all = Aggregate(whole, 3600, first, last).Averages.KeyframeInterval
	}
	d.Warnings = ConfigWarnings(info.ChannelType, d.Ingest, all)
	return d, nil
}

// points reads and decodes a session's points in [from, to).
func (h *Health) points(ctx context.Context, id string, from, to time.Time) ([]Point, error) {
	minutes, err := h.store.StreamMetrics(ctx, id, floorDiv(from.Unix(), 60), floorDiv(to.Unix(), 60))
	if err != nil {
		return nil, err
	}
	var out []Point
	for _, m := range minutes {
		ps, err := DecodeMinute(m.Minute, m.Points)
		if err != nil {
			return nil, fmt.Errorf("session %s minute %d: %w", id, m.Minute, err)
		}
		for _, p := range ps {
			if !p.At.Before(from) && p.At.Before(to) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// Purge deletes sessions that ended more than keep ago, with their events and metrics.
func (h *Health) Purge(ctx context.Context, keep time.Duration) (int, error) {
	return h.store.DeleteStreamSessions(ctx, h.now().Add(-keep))
}
