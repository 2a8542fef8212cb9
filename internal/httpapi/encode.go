package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/livehouse/livehouse/internal/problem"
)

// maxJSONBody bounds every JSON request body.
const maxJSONBody = 64 << 10

// decode reads one JSON object into a T, rejecting unknown fields, trailing data, wrong
// types and oversize bodies with problems the client can act on.
func decode[T any](w http.ResponseWriter, r *http.Request) (T, error) {
	var v T
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return v, &problem.Problem{Kind: errUnsupportedMedia, Code: "UnsupportedMediaType", Message: "Send the body as application/json."}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(&v)
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("trailing data")
		}
	}
	if err != nil {
		return v, decodeProblem(err)
	}
	return v, nil
}

func decodeProblem(err error) error {
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &tooBig):
		return &problem.Problem{Kind: problem.ErrTooLarge, Code: "PayloadTooLarge", Message: fmt.Sprintf("The request body is larger than %d bytes.", tooBig.Limit)}
	case errors.Is(err, io.EOF):
		return problem.Invalid("InvalidJSON", "", "The request body is empty; send a JSON object.")
	case errors.As(err, &typeErr):
		return problem.Invalid("InvalidJSON", typeErr.Field, fmt.Sprintf("%s must be a %s.", fieldName(typeErr.Field), jsonType(typeErr.Type.String())))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return problem.Invalid("InvalidJSON", "", "The request body is not valid JSON.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return problem.Invalid("InvalidJSON", name, fmt.Sprintf("Unknown field %q.", name))
	}
	return problem.Invalid("InvalidJSON", "", "The request body is not a valid JSON object.")
}

func fieldName(f string) string {
	if f == "" {
		return "The body"
	}
	return f
}

func jsonType(goType string) string {
	switch {
	case goType == "string":
		return "string"
	case goType == "bool":
		return "boolean"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "float"):
		return "number"
	case strings.HasPrefix(goType, "[]"):
		return "list"
	}
	return "object"
}

// required returns a problem naming the first empty field, in order.
func required(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			return problem.Invalid("MissingField", pairs[i], pairs[i]+" is required.")
		}
	}
	return nil
}

// encode writes v as JSON with the status; headers are set before WriteHeader.
func encode(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// endpointFunc is a handler's body: it returns the status and value to answer with (nothing
// is written for 204), or an error for writeError.
type endpointFunc[In any] func(w http.ResponseWriter, r *http.Request, in In) (int, any, error)

// withBody decodes the JSON request body into In and runs fn with it.
func withBody[In any](log *slog.Logger, fn endpointFunc[In]) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[In](w, r)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		status, out, err := fn(w, r, in)
		respond(w, r, log, status, out, err)
	})
}

// withoutBody runs fn for a request that carries no body.
func withoutBody(log *slog.Logger, fn func(w http.ResponseWriter, r *http.Request) (int, any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, out, err := fn(w, r)
		respond(w, r, log, status, out, err)
	})
}

func respond(w http.ResponseWriter, r *http.Request, log *slog.Logger, status int, out any, err error) {
	switch {
	case err != nil:
		writeError(w, r, log, err)
	case status == http.StatusNoContent:
		w.WriteHeader(status)
	default:
		encode(w, status, out)
	}
}
