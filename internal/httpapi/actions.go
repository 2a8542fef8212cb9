package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/livehouse/livehouse/internal/actions"
	"github.com/livehouse/livehouse/internal/channels"
)

// handleGetStreamActions answers the streamer's active action and saved configurations.
func handleGetStreamActions(ch *channels.Service, act *actions.Service, log *slog.Logger) http.Handler {
	type response struct {
		Active *actions.Action            `json:"active"`
		Saved  map[string]json.RawMessage `json:"saved"`
	}
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		user := currentUser(r)
		c, err := ch.ForOwner(r.Context(), user.ID)
		if err != nil {
			return 0, nil, err
		}
		saved, err := act.Saved(r.Context(), user.ID)
		return http.StatusOK, response{Active: act.Current(r.Context(), c), Saved: saved}, err
	})
}

type actionRequest struct {
	Name string          `json:"name"`
	Data json.RawMessage `json:"data"`
}

// handleStartStreamAction sends an action to the streamer's viewers.
func handleStartStreamAction(ch *channels.Service, act *actions.Service, log *slog.Logger) http.Handler {
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in actionRequest) (int, any, error) {
		if err := required("name", in.Name); err != nil {
			return 0, nil, err
		}
		c, err := ch.ForOwner(r.Context(), currentUser(r).ID)
		if err != nil {
			return 0, nil, err
		}
		a, err := act.Start(r.Context(), c, in.Name, in.Data)
		return http.StatusCreated, a, err
	})
}

// handleStopStreamAction ends the streamer's active action.
func handleStopStreamAction(ch *channels.Service, act *actions.Service, log *slog.Logger) http.Handler {
	return withoutBody(log, func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		c, err := ch.ForOwner(r.Context(), currentUser(r).ID)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, act.Stop(r.Context(), c)
	})
}

// handleSaveStreamAction stores an action's configuration without sending it.
func handleSaveStreamAction(act *actions.Service, log *slog.Logger) http.Handler {
	return withBody(log, func(_ http.ResponseWriter, r *http.Request, in json.RawMessage) (int, any, error) {
		data, err := act.Save(r.Context(), currentUser(r).ID, r.PathValue("name"), in)
		return http.StatusOK, data, err
	})
}
