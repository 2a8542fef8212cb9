package httpapi

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/problem"
)

var (
	errUnsupportedMedia = errors.New("unsupported media type")
	errMethodNotAllowed = errors.New("method not allowed")
	errBadGateway       = errors.New("a service we depend on failed")
	errMisdirected      = errors.New("not served by this node")
)

// statuses is the one table from kinds of problem to HTTP status.
var statuses = []struct {
	kind   error
	status int
}{
	{problem.ErrInvalid, http.StatusBadRequest},
	{problem.ErrUnauthenticated, http.StatusUnauthorized},
	{problem.ErrForbidden, http.StatusForbidden},
	{problem.ErrNotFound, http.StatusNotFound},
	{problem.ErrConflict, http.StatusConflict},
	{problem.ErrTooLarge, http.StatusRequestEntityTooLarge},
	{errUnsupportedMedia, http.StatusUnsupportedMediaType},
	{errMethodNotAllowed, http.StatusMethodNotAllowed},
	{problem.ErrThrottled, http.StatusTooManyRequests},
	{problem.ErrUnavailable, http.StatusServiceUnavailable},
	{errBadGateway, http.StatusBadGateway},
	{errMisdirected, http.StatusMisdirectedRequest},
	// Store sentinels that reach here mean the thing vanished under the request.
	{accounts.ErrNotFound, http.StatusNotFound},
	{channels.ErrNotFound, http.StatusNotFound},
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// writeError answers with the error's status and JSON body. Anything not meant for the user
// is logged and answered with a bare 500.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status := http.StatusInternalServerError
	for _, s := range statuses {
		if errors.Is(err, s.kind) {
			status = s.status
			break
		}
	}
	body := errorDetail{Code: "InternalError", Message: "Something went wrong on our side. Please try again."}
	if p, ok := problem.As(err); ok {
		body = errorDetail{Code: p.Code, Message: p.Message, Field: p.Field}
		if p.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(p.RetryAfter.Seconds()))))
		}
	} else if status == http.StatusNotFound {
		body = errorDetail{Code: "NotFound", Message: "Not found."}
	}
	if status == http.StatusInternalServerError {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	encode(w, status, errorBody{body})
}

// apiFallback answers API paths no route matched: 405 with Allow when the path exists for
// other methods, else 404, both as JSON errors.
func apiFallback(mux *http.ServeMux, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "/api/" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, r, log, &problem.Problem{Kind: errMethodNotAllowed, Code: "MethodNotAllowed", Message: "This route does not accept " + r.Method + "."})
			return
		}
		writeError(w, r, log, problem.NotFound("NotFound", "No such API route."))
	})
}
