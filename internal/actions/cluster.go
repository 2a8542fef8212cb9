package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/livehouse/livehouse/internal/bus"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/problem"
)

// RequestSubjectPrefix starts the bus subject, "actions.requests.{channelId}", on which the
// node that runs a channel's live stream answers stream action requests made through any
// other node. A node subscribes to a channel's subject only while the stream runs there, so
// a request for a channel live nowhere fails at once.
const RequestSubjectPrefix = "actions.requests."

// requestTimeout bounds a request to the ingesting node.
const requestTimeout = 5 * time.Second

// Cluster is the bus as stream actions use it across nodes.
type Cluster interface {
	Publisher
	Request(ctx context.Context, subject string, data []byte) ([]byte, error)
	Respond(subject string, h bus.Responder) (bus.Subscription, error)
}

// SetCluster makes the service publish starts and stops on the bus (as SetBus does), answer
// requests for the streams that run on this node, and send requests for streams that run on
// others there.
func (s *Service) SetCluster(c Cluster) {
	s.bus = c
	s.cluster = c
}

// request is a stream action request sent to the ingesting node.
type request struct {
	Op      string           `json:"op"` // start, stop or active
	Channel channels.Channel `json:"channel"`
	Name    string           `json:"name,omitempty"`
	Data    json.RawMessage  `json:"data,omitempty"`
}

// reply is its answer.
type reply struct {
	NotLive bool         `json:"notLive,omitempty"` // the stream ended here meanwhile
	Action  *Action      `json:"action,omitempty"`
	Problem *wireProblem `json:"problem,omitempty"`
	Error   string       `json:"error,omitempty"` // anything else that went wrong
}

// wireProblem carries a problem.Problem across the bus.
type wireProblem struct {
	Kind         string `json:"kind"`
	Code         string `json:"code"`
	Message      string `json:"message"`
	Field        string `json:"field,omitempty"`
	RetryAfterMs int64  `json:"retryAfterMs,omitempty"`
}

var problemKinds = map[string]error{
	"invalid": problem.ErrInvalid, "unauthenticated": problem.ErrUnauthenticated, "forbidden": problem.ErrForbidden,
	"notFound": problem.ErrNotFound, "conflict": problem.ErrConflict, "tooLarge": problem.ErrTooLarge, "throttled": problem.ErrThrottled,
	"unavailable": problem.ErrUnavailable,
}

func toWire(p *problem.Problem) *wireProblem {
	w := &wireProblem{Code: p.Code, Message: p.Message, Field: p.Field, RetryAfterMs: p.RetryAfter.Milliseconds()}
	for name, kind := range problemKinds {
		if errors.Is(p.Kind, kind) {
			w.Kind = name
		}
	}
	return w
}

func (w *wireProblem) problem() *problem.Problem {
	kind := problemKinds[w.Kind]
	if kind == nil {
		kind = problem.ErrInvalid
	}
	return &problem.Problem{Kind: kind, Code: w.Code, Message: w.Message, Field: w.Field, RetryAfter: time.Duration(w.RetryAfterMs) * time.Millisecond}
}

// unreachable is what a request answers when the ingesting node does not answer in time.
func unreachable() error {
	return &problem.Problem{Kind: problem.ErrUnavailable, Code: "ServiceUnavailable", Message: "The server running your stream did not answer: try again in a moment.", RetryAfter: 2 * time.Second}
}

// forward sends a request to the node that runs the channel's stream. found is false when no
// node runs it.
func (s *Service) forward(ctx context.Context, req request) (a *Action, found bool, err error) {
	if s.cluster == nil {
		return nil, false, nil
	}
	data, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	raw, err := s.cluster.Request(ctx, RequestSubjectPrefix+req.Channel.ID, data)
	switch {
	case errors.Is(err, bus.ErrNoResponders):
		return nil, false, nil
	case err != nil:
		s.log.Warn("forwarding a stream action", "channel", req.Channel.ID, "op", req.Op, "err", err)
		return nil, true, unreachable()
	}
	var r reply
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, true, fmt.Errorf("reading the ingesting node's reply: %w", err)
	}
	switch {
	case r.NotLive:
		return nil, false, nil
	case r.Problem != nil:
		return nil, true, r.Problem.problem()
	case r.Error != "":
		return nil, true, fmt.Errorf("on the ingesting node: %s", r.Error)
	}
	return r.Action, true, nil
}

// answer runs a forwarded request on this node, where the stream runs.
func (s *Service) answer(_ string, data []byte) []byte {
	var req request
	var r reply
	if err := json.Unmarshal(data, &req); err != nil || req.Channel.ID == "" {
		r.Error = "malformed stream action request"
	} else if s.lives.Live(req.Channel.ID) == nil {
		r.NotLive = true
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		defer cancel()
		var err error
		switch req.Op {
		case "start":
			r.Action, err = s.startHere(ctx, &req.Channel, req.Name, req.Data)
		case "stop":
			err = s.stopHere(ctx, &req.Channel)
		case "active":
			r.Action = s.Active(req.Channel.ID)
		default:
			err = fmt.Errorf("unknown op %q", req.Op)
		}
		if p, ok := problem.As(err); ok {
			r.Problem = toWire(p)
		} else if err != nil {
			r.Error = err.Error()
		}
	}
	out, _ := json.Marshal(r)
	return out
}

// serve answers the channel's requests while its stream runs here.
func (s *Service) serve(channelID string) (stop func()) {
	if s.cluster == nil {
		return func() {}
	}
	sub, err := s.cluster.Respond(RequestSubjectPrefix+channelID, s.answer)
	if err != nil {
		s.log.Error("answering stream action requests from other nodes", "channel", channelID, "err", err)
		return func() {}
	}
	return func() {
		if err := sub.Unsubscribe(); err != nil {
			s.log.Warn("unsubscribing stream action requests", "channel", channelID, "err", err)
		}
	}
}
