package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/stages"
)

// StageDirectory is what the channel pages and the directory need to know of stages.
// In a cluster it answers for every node's stages (the stages service reads the store).
type StageDirectory interface {
	Active(ctx context.Context, channelID string) bool
	ActiveAmong(ctx context.Context, channelIDs []string) map[string]bool
	ActiveHosts(ctx context.Context) []string
}

// stageDirectory is nil (no stages) for a nil service.
func stageDirectory(st *stages.Service) StageDirectory {
	if st == nil {
		return nil
	}
	return st
}

// withStages marks the directory's channels that host a stage and adds, after the live ones,
// the public channels that host a stage without being live, up to limit, on the last page.
func withStages(ctx context.Context, ch *channels.Service, st StageDirectory, list []channelCard, limit int, lastPage bool) ([]channelCard, error) {
	if st == nil {
		return list, nil
	}
	if limit <= 0 {
		limit = channels.DirectorySize
	}
	seen := map[string]bool{}
	ids := make([]string, len(list))
	for i := range list {
		ids[i] = list[i].ChannelID
		seen[list[i].ChannelID] = true
	}
	open := st.ActiveAmong(ctx, ids)
	for i := range list {
		list[i].HasStage = open[list[i].ChannelID]
	}
	for _, host := range st.ActiveHosts(ctx) {
		if !lastPage || len(list) >= limit { // offline hosts follow the last page of live channels
			break
		}
		p, err := ch.ByUsername(ctx, host)
		if errors.Is(err, channels.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if seen[p.ChannelID] || p.LiveSince != nil || p.Private || p.Suspended { // a live host is on its page
			continue
		}
		c := card(p)
		c.HasStage = true
		list = append(list, c)
	}
	return list, nil
}

var errStagesOff = problem.NotFound("StagesDisabled", "Stages are not served by this node.")

// stagesOff answers every stage route when the node runs no SFU.
func stagesOff(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeError(w, r, log, errStagesOff) })
}

// handleChannelStage is GET /api/channels/{username}/stage: the channel's open stage (null
// when none), with the signed-in caller's request standing.
func handleChannelStage(acc *accounts.Service, st *stages.Service, log *slog.Logger) http.Handler {
	type response struct {
		Stage *stages.View `json:"stage"`
	}
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		viewer, err := optionalUser(acc, r)
		if err != nil {
			return 0, nil, err
		}
		var viewerID string
		if viewer != nil {
			viewerID = viewer.ID
		}
		v, err := st.Public(r.Context(), r.PathValue("username"), viewerID)
		return http.StatusOK, response{Stage: v}, err
	})
}

type hostStage struct {
	Stage *stages.HostView `json:"stage"`
}

// handleMyStage is GET /api/me/stage: the caller's own stage, with its invite and requests.
func handleMyStage(st *stages.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		v, err := st.HostState(r.Context(), currentUser(r).ID)
		return http.StatusOK, hostStage{v}, err
	})
}

// handleStartStage is POST /api/me/stage: open the caller's stage (or return the open one).
func handleStartStage(st *stages.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		u := currentUser(r)
		v, err := st.Start(r.Context(), u.ID, u.Username)
		return http.StatusOK, hostStage{v}, err
	})
}

// handleEndStage is DELETE /api/me/stage.
func handleEndStage(st *stages.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusNoContent, nil, st.End(r.Context(), currentUser(r).ID)
	})
}

// handleAnswerRequest is PUT (accept) or DELETE (reject) /api/me/stage/requests/{username}.
func handleAnswerRequest(st *stages.Service, accept bool, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusNoContent, nil, st.Answer(r.Context(), currentUser(r).ID, r.PathValue("username"), accept)
	})
}

// handleKick is DELETE /api/me/stage/participants/{id}.
func handleKick(st *stages.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusNoContent, nil, st.Kick(r.Context(), currentUser(r).ID, r.PathValue("id"))
	})
}

// handleStageRequest is POST (ask) or DELETE (withdraw) /api/channels/{username}/stage/requests.
func handleStageRequest(st *stages.Service, ask bool, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		u := currentUser(r)
		if ask {
			return http.StatusNoContent, nil, st.RequestToJoin(r.Context(), u.ID, u.Username, r.PathValue("username"))
		}
		return http.StatusNoContent, nil, st.RevokeRequest(r.Context(), u.ID, r.PathValue("username"))
	})
}

// handleJoinStage is POST /api/channels/{username}/stage/participants: the caller becomes a
// participant (the host, an invited guest or an accepted one) and gets its token.
func handleJoinStage(st *stages.Service, log *slog.Logger) http.Handler {
	type request struct {
		Invite string `json:"invite"`
	}
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in request) (int, any, error) {
		if len(in.Invite) > 128 {
			return 0, nil, problem.Invalid("InvalidInvite", "invite", "The invite code is not valid.")
		}
		u := currentUser(r)
		g, err := st.Join(r.Context(), u.ID, u.Username, r.PathValue("username"), in.Invite)
		return http.StatusCreated, g, err
	})
}

// bearer reads the Authorization: Bearer token, "" if none.
func bearer(r *http.Request) string {
	t, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return strings.TrimSpace(t)
}

// readOffer reads an application/sdp body of at most maxOfferBody bytes.
func readOffer(w http.ResponseWriter, r *http.Request) (string, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/sdp" {
		return "", &problem.Problem{Kind: errUnsupportedMedia, Code: "UnsupportedMediaType", Message: "Send the offer as application/sdp."}
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOfferBody))
	if err != nil {
		return "", &problem.Problem{Kind: problem.ErrTooLarge, Code: "OfferTooLarge", Message: "The SDP offer is too large."}
	}
	return string(raw), nil
}

func writeAnswer(w http.ResponseWriter, location, answer string, ice []string) {
	h := w.Header()
	for _, u := range ice {
		h.Add("Link", "<"+u+`>; rel="ice-server"`)
	}
	h.Set("Location", location)
	h.Set("Content-Type", "application/sdp")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

var errMissingParticipantToken = problem.Unauthenticated("MissingToken", "Send the participant token (or, to watch, the channel's playback token) as Authorization: Bearer <token>.")

// handleStagePublish is POST /api/stages/{stageId}/participants/{id}/media: a participant's
// SDP offer (its camera and microphone) in, with its participant token; 201 and the answer.
func handleStagePublish(st *stages.Service, ice []string, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := bearer(r)
		if token == "" {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeError(w, r, log, errMissingParticipantToken)
			return
		}
		offer, err := readOffer(w, r)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		stageID, id := r.PathValue("stageId"), r.PathValue("id")
		answer, err := st.Publish(r.Context(), stageID, id, token, offer)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeAnswer(w, "/api/stages/"+stageID+"/participants/"+id, answer, ice)
	})
}

// handleStageLeave is DELETE /api/stages/{stageId}/participants/{id}, with the participant
// token: the participant leaves the stage.
func handleStageLeave(st *stages.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		token := bearer(r)
		if token == "" {
			return 0, nil, errMissingParticipantToken
		}
		return http.StatusNoContent, nil, st.Leave(r.Context(), r.PathValue("stageId"), r.PathValue("id"), token)
	})
}

// handleStageSubscribe is POST /api/stages/{stageId}/participants/{id}/subscriptions: an
// offer to receive one participant's media, with the subscriber's participant token or (a
// spectator) the channel's playback token; 201, the answer and the subscription's Location.
func handleStageSubscribe(st *stages.Service, ice []string, trustProxy bool, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := bearer(r)
		if token == "" {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeError(w, r, log, errMissingParticipantToken)
			return
		}
		offer, err := readOffer(w, r)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		stageID := r.PathValue("stageId")
		id, answer, err := st.Subscribe(r.Context(), stageID, r.PathValue("id"), token, clientAddr(r, trustProxy), offer)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeAnswer(w, "/api/stages/"+stageID+"/subscriptions/"+id, answer, ice)
	})
}

// handleStageUnsubscribe is DELETE /api/stages/{stageId}/subscriptions/{id}; the random id,
// known only to its subscriber, is the capability.
func handleStageUnsubscribe(st *stages.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusNoContent, nil, st.Unsubscribe(r.PathValue("stageId"), r.PathValue("id"))
	})
}

// handleShareScreen is POST /api/stages/{stageId}/participants/{id}/screen, with the
// participant's token: the participant's screen share becomes a participant of its own
// (stages.Service.ShareScreen); 201 and its grant, which publishes at …/media as any.
func handleShareScreen(st *stages.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		token := bearer(r)
		if token == "" {
			return 0, nil, errMissingParticipantToken
		}
		g, err := st.ShareScreen(r.Context(), r.PathValue("stageId"), r.PathValue("id"), token)
		return http.StatusCreated, g, err
	})
}
