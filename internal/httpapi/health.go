package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/streams"
)

// sessionSummary is a stream session in the health page's navigator.
type sessionSummary struct {
	ID            string     `json:"id"`
	StartTime     time.Time  `json:"startTime"`
	EndTime       *time.Time `json:"endTime"`
	IsLive        bool       `json:"isLive"`
	HasErrorEvent bool       `json:"hasErrorEvent"`
	IsHealthy     bool       `json:"isHealthy"`
	Title         string     `json:"title"`    // the stream's title at go-live, current while live
	Category      string     `json:"category"` // its category slug, likewise
}

func summary(si *streams.SessionInfo) sessionSummary {
	return sessionSummary{ID: si.ID, StartTime: si.CreatedAt, EndTime: si.EndedAt, IsLive: si.Live(), HasErrorEvent: si.HasError, IsHealthy: si.Healthy(),
		Title: si.Title, Category: si.Category}
}

// handleSessions is GET /api/me/sessions: the caller's stream sessions, newest first.
func handleSessions(h *streams.Health, log *slog.Logger) http.Handler {
	return withoutBody(log, func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		limit := 0
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return 0, nil, problem.Invalid("InvalidLimit", "limit", "limit must be a whole number from 1 to 100.")
			}
			limit = n
		}
		page, err := h.Sessions(r.Context(), currentUser(r).ID, r.URL.Query().Get("nextToken"), limit)
		if err != nil {
			return 0, nil, err
		}
		out := struct {
			Sessions  []sessionSummary `json:"sessions"`
			NextToken string           `json:"nextToken,omitempty"`
		}{Sessions: make([]sessionSummary, 0, len(page.Sessions)), NextToken: page.NextToken}
		for i := range page.Sessions {
			out.Sessions = append(out.Sessions, summary(&page.Sessions[i]))
		}
		return http.StatusOK, out, nil
	})
}

// The ingest configuration in the managed service's shape.
type (
	ingestConfiguration struct {
		Video videoConfiguration `json:"video"`
		Audio audioConfiguration `json:"audio"`
	}
	videoConfiguration struct {
		Codec           string  `json:"codec"`
		Encoder         string  `json:"encoder"`
		Profile         string  `json:"profile"`
		Level           string  `json:"level"`
		TargetBitrate   int     `json:"targetBitrate"`
		TargetFramerate float64 `json:"targetFramerate"`
		VideoWidth      int     `json:"videoWidth"`
		VideoHeight     int     `json:"videoHeight"`
		Track           string  `json:"track"`
	}
	audioConfiguration struct {
		Codec         string `json:"codec"`
		TargetBitrate int    `json:"targetBitrate"`
		SampleRate    int    `json:"sampleRate"`
		Channels      int    `json:"channels"`
		Track         string `json:"track"`
	}
)

func ingestView(c *streams.IngestConfig) *ingestConfiguration {
	if c == nil {
		return nil
	}
	return &ingestConfiguration{
		Video: videoConfiguration{Codec: c.VideoCodec, Encoder: c.Encoder, Profile: c.AVCProfile, Level: c.AVCLevel, TargetBitrate: c.TargetBitrate,
			TargetFramerate: c.TargetFramerate, VideoWidth: c.Width, VideoHeight: c.Height, Track: "Track0"},
		Audio: audioConfiguration{Codec: c.AudioCodec, TargetBitrate: c.AudioBitrate, SampleRate: c.AudioSampleRate, Channels: c.AudioChannels, Track: "Track0"},
	}
}

// streamEvent is an event with what the health page says about it.
type streamEvent struct {
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	EventTime  time.Time `json:"eventTime"`
	Label      string    `json:"label"`
	Severity   string    `json:"severity,omitempty"`
	Message    string    `json:"message,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	LimitName  string    `json:"limitName,omitempty"`
	LimitValue int       `json:"limitValue,omitempty"`
	ExceededBy int       `json:"exceededBy,omitempty"`
	LimitUnit  string    `json:"limitUnit,omitempty"`
}

type configWarning struct {
	Field    string `json:"field"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

// handleSession is GET /api/me/sessions/{sessionId}: one of the caller's sessions with its
// events, ingest configuration, warnings and metrics (period and startTime/endTime select
// them).
func handleSession(h *streams.Health, log *slog.Logger) http.Handler {
	return withoutBody(log, func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		q, err := metricsQuery(r)
		if err != nil {
			return 0, nil, err
		}
		d, err := h.Session(r.Context(), currentUser(r).ID, r.PathValue("sessionId"), q)
		if err != nil {
			return 0, nil, err
		}
		out := struct {
			sessionSummary
			StreamStartTime     *time.Time           `json:"streamStartTime"`
			ChannelType         string               `json:"channelType"`
			IngestConfiguration *ingestConfiguration `json:"ingestConfiguration"`
			Events              []streamEvent        `json:"events"`
			Warnings            []configWarning      `json:"warnings"`
			Metrics             streams.Series       `json:"metrics"`
		}{
			sessionSummary: summary(&d.SessionInfo), StreamStartTime: d.StartedAt, ChannelType: d.ChannelType,
			IngestConfiguration: ingestView(d.Ingest), Events: make([]streamEvent, 0, len(d.Events)),
			Warnings: make([]configWarning, 0, len(d.Warnings)), Metrics: d.Metrics,
		}
		for i := range d.Events {
			e := &d.Events[i]
			desc, det := streams.Describe(e), e.ParseDetail()
			out.Events = append(out.Events, streamEvent{Name: e.Name, Type: e.Type, EventTime: e.At, Label: desc.Label, Severity: desc.Severity, Message: desc.Message,
				Reason: det.Reason, LimitName: det.LimitName, LimitValue: det.LimitValue, ExceededBy: det.ExceededBy, LimitUnit: det.LimitUnit})
		}
		for _, wr := range d.Warnings {
			out.Warnings = append(out.Warnings, configWarning{Field: wr.Field, Severity: wr.Severity, Message: wr.Message})
		}
		return http.StatusOK, out, nil
	})
}

func metricsQuery(r *http.Request) (streams.MetricsQuery, error) {
	var q streams.MetricsQuery
	v := r.URL.Query()
	if p := v.Get("period"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || !streams.ValidPeriod(n) {
			return q, problem.Invalid("InvalidPeriod", "period", "period must be one of 1, 5, 60, 300 or 3600 seconds.")
		}
		q.Period = n
	}
	for _, f := range []struct {
		name string
		to   *time.Time
	}{{"startTime", &q.From}, {"endTime", &q.To}} {
		if s := v.Get(f.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return q, problem.Invalid("InvalidTime", f.name, f.name+" must be an RFC 3339 time, e.g. 2026-12-01T10:00:00Z.")
			}
			*f.to = t.UTC()
		}
	}
	return q, nil
}
