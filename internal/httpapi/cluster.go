package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/livehouse/livehouse/internal/nodes"
	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/stages"
)

// Forwarder sends a request to another node of the cluster and writes its answer (package
// nodes). Forward returns nodes.ErrNodeGone, having written nothing, for a node that is gone.
type Forwarder interface {
	Self() string
	Forward(w http.ResponseWriter, r *http.Request, node string, body []byte) error
}

// Homes finds, from the store, the node a stage or a live channel's WebRTC playback lives on;
// ok is false when there is none (the request is answered here, which says so).
type Homes interface {
	StageNode(ctx context.Context, by stages.Lookup) (node string, ok bool, err error)
	LiveNode(ctx context.Context, channelID string) (node string, ok bool, err error)
}

var (
	errNodeUnreachable = problem.Unavailable("NodeUnreachable", "The server that hosts this could not be reached; try again.", 5*time.Second)
	errForwardTooLarge = &problem.Problem{Kind: problem.ErrTooLarge, Code: "BodyTooLarge", Message: "The request body is too large."}
)

// homeFinder names the node that must answer r.
type homeFinder func(r *http.Request) (node string, ok bool, err error)

// onHome answers r on the node find names: here when it names this node or none, or when r
// was forwarded already (the store may lag that node's own view for a moment); another
// node's answer through the forwarder otherwise. A node gone from the bus leaves r to this
// node, whose answer then says the stage or session is not here. Without a cluster (no
// forwarder or no homes) h answers everything.
func onHome(d Deps, find homeFinder, h http.Handler) http.Handler {
	fwd, homes, log := d.Forwarder, d.Homes, d.Log
	if fwd == nil || homes == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if nodes.Forwarded(r.Context()) {
			h.ServeHTTP(w, r)
			return
		}
		node, ok, err := find(r)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		if !ok || node == fwd.Self() {
			h.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, nodes.MaxBody))
		if err != nil {
			writeError(w, r, log, errForwardTooLarge)
			return
		}
		err = fwd.Forward(w, r, node, body)
		switch {
		case errors.Is(err, nodes.ErrNodeGone):
			r.Body = io.NopCloser(bytes.NewReader(body))
			h.ServeHTTP(w, r)
		case err != nil:
			log.Error("forwarding a request to its node", "node", node, "method", r.Method, "path", r.URL.Path, "err", err)
			writeError(w, r, log, errNodeUnreachable)
		}
	})
}

// Finders of the node a request belongs on.
func stageOfPath(homes Homes) homeFinder {
	return func(r *http.Request) (string, bool, error) {
		return homes.StageNode(r.Context(), stages.Lookup{StageID: r.PathValue("stageId")})
	}
}

func stageOfChannel(homes Homes) homeFinder {
	return func(r *http.Request) (string, bool, error) {
		return homes.StageNode(r.Context(), stages.Lookup{HostUsername: r.PathValue("username")})
	}
}

// stageOfCaller is the node of the signed-in caller's own stage; it runs after requireUser.
func stageOfCaller(homes Homes) homeFinder {
	return func(r *http.Request) (string, bool, error) {
		return homes.StageNode(r.Context(), stages.Lookup{HostID: currentUser(r).ID})
	}
}

func liveOfPath(homes Homes) homeFinder {
	return func(r *http.Request) (string, bool, error) {
		return homes.LiveNode(r.Context(), r.PathValue("channelId"))
	}
}
