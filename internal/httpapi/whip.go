package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/streams"
)

// WHIP is the WebRTC ingest (RFC 9725) the HTTP layer fronts.
type WHIP interface {
	// Publish answers an SDP offer for the stream key; encoder names the client.
	Publish(ctx context.Context, key, offer, encoder string) (id, answer string, err error)
	// End ends session id if key is its stream key.
	End(id, key string) error
	// ICEServers are STUN URLs offered to publishers.
	ICEServers() []string
}

// maxOfferBody bounds a WHIP offer (a browser's is a few kilobytes).
const maxOfferBody = 64 << 10

// streamKeyOf reads the WHIP bearer token, the channel's stream key; without one it answers 401
// with a Bearer challenge and reports false.
func streamKeyOf(rw http.ResponseWriter, r *http.Request, log *slog.Logger) (string, bool) {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if key = strings.TrimSpace(key); !ok || key == "" {
		rw.Header().Set("WWW-Authenticate", "Bearer")
		writeError(rw, r, log, problem.Unauthenticated("MissingStreamKey", "Send the stream key as Authorization: Bearer <streamKey>."))
		return "", false
	}
	return key, true
}

// whipProblem turns the streams domain's refusals into what a WHIP client should see.
func whipProblem(err error) error {
	switch {
	case errors.Is(err, streams.ErrUnknownKey):
		return problem.Unauthenticated("InvalidStreamKey", "The stream key is not valid.")
	case errors.Is(err, streams.ErrSuspended):
		return problem.Forbidden("AccountSuspended", "This account is suspended.")
	case errors.Is(err, streams.ErrNotVerified):
		return errNotVerified
	case errors.Is(err, streams.ErrAlreadyLive):
		return problem.Conflict("ChannelAlreadyLive", "", "Your channel is already live.")
	case errors.Is(err, streams.ErrShuttingDown):
		return problem.Conflict("ShuttingDown", "", "The server is shutting down; try again shortly.")
	}
	return err
}

// errNotVerified refuses an unverified account's stream key, and the key itself.
var errNotVerified = problem.Forbidden("AccountNotVerified", "Verify your email with the link we sent before going live.")

var errWHIPOff = problem.NotFound("WHIPDisabled", "WebRTC ingest is not enabled on this server.")

// handleWHIPPublish is POST /api/whip: an SDP offer in, 201 with the answer and the
// session's Location out.
func handleWHIPPublish(w WHIP, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		key, ok := streamKeyOf(rw, r, log)
		if !ok {
			return
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/sdp" {
			writeError(rw, r, log, &problem.Problem{Kind: errUnsupportedMedia, Code: "UnsupportedMediaType", Message: "Send the offer as application/sdp."})
			return
		}
		if w == nil {
			writeError(rw, r, log, errWHIPOff)
			return
		}
		raw, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxOfferBody))
		if err != nil {
			writeError(rw, r, log, &problem.Problem{Kind: problem.ErrTooLarge, Code: "OfferTooLarge", Message: "The SDP offer is too large."})
			return
		}
		id, answer, err := w.Publish(r.Context(), key, string(raw), r.UserAgent())
		if err != nil {
			if errors.Is(err, streams.ErrUnknownKey) {
				rw.Header().Set("WWW-Authenticate", "Bearer")
			}
			writeError(rw, r, log, whipProblem(err))
			return
		}
		h := rw.Header()
		for _, u := range w.ICEServers() {
			h.Add("Link", "<"+u+`>; rel="ice-server"`)
		}
		h.Set("Location", "/api/whip/"+id)
		h.Set("Content-Type", "application/sdp")
		rw.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(rw, answer)
	})
}

// handleWHIPEnd is DELETE /api/whip/{id}: the publisher ends its broadcast.
func handleWHIPEnd(w WHIP, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		key, ok := streamKeyOf(rw, r, log)
		if !ok {
			return
		}
		if w == nil {
			writeError(rw, r, log, errWHIPOff)
			return
		}
		if err := w.End(r.PathValue("id"), key); err != nil {
			writeError(rw, r, log, err)
			return
		}
		rw.WriteHeader(http.StatusOK)
	})
}
