package httpapi

import (
	"context"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/livehouse/livehouse/internal/playback"
	"github.com/livehouse/livehouse/internal/problem"
)

// WHEP is the WebRTC playback the HTTP layer fronts.
type WHEP interface {
	// Play answers a viewer's SDP offer for a live channel, given its playback token.
	Play(ctx context.Context, channelID, token, addr, offer string) (id, answer string, err error)
	// Leave ends WHEP session id.
	Leave(channelID, id string) error
	// ICEServers are STUN URLs offered to viewers.
	ICEServers() []string
}

var errWHEPOff = problem.NotFound("WHEPDisabled", "WebRTC playback is not served by this node.")

// playbackTokenOf reads a playback token from Authorization: Bearer or the token parameter.
func playbackTokenOf(r *http.Request) string {
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return r.URL.Query().Get(playback.Param)
}

// handleWHEPPlay is POST /api/whep/{channelId}: a viewer's SDP offer in (with its playback
// token), 201 with the answer and the session's Location out.
func handleWHEPPlay(w WHEP, trustProxy bool, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		token := playbackTokenOf(r)
		if token == "" {
			rw.Header().Set("WWW-Authenticate", "Bearer")
			writeError(rw, r, log, problem.Unauthenticated("MissingPlaybackToken", "Send the channel's playback token as Authorization: Bearer <token>."))
			return
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/sdp" {
			writeError(rw, r, log, &problem.Problem{Kind: errUnsupportedMedia, Code: "UnsupportedMediaType", Message: "Send the offer as application/sdp."})
			return
		}
		if w == nil {
			writeError(rw, r, log, errWHEPOff)
			return
		}
		raw, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxOfferBody))
		if err != nil {
			writeError(rw, r, log, &problem.Problem{Kind: problem.ErrTooLarge, Code: "OfferTooLarge", Message: "The SDP offer is too large."})
			return
		}
		channelID := r.PathValue("channelId")
		id, answer, err := w.Play(r.Context(), channelID, token, clientAddr(r, trustProxy), string(raw))
		if err != nil {
			writeError(rw, r, log, whipProblem(err))
			return
		}
		h := rw.Header()
		for _, u := range w.ICEServers() {
			h.Add("Link", "<"+u+`>; rel="ice-server"`)
		}
		h.Set("Location", "/api/whep/"+channelID+"/"+id)
		h.Set("Content-Type", "application/sdp")
		h.Set("Cache-Control", "no-store")
		rw.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(rw, answer)
	})
}

// handleWHEPLeave is DELETE /api/whep/{channelId}/{id}: the viewer leaves. The session id,
// random and known only to its viewer, is the capability.
func handleWHEPLeave(w WHEP, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if w == nil {
			writeError(rw, r, log, errWHEPOff)
			return
		}
		if err := w.Leave(r.PathValue("channelId"), r.PathValue("id")); err != nil {
			writeError(rw, r, log, err)
			return
		}
		rw.WriteHeader(http.StatusOK)
	})
}
