// Package problem is the vocabulary domain services use to say what went wrong in terms a
// user can act on: a kind (invalid input, conflict, …), a stable code, a human message and,
// when one input is at fault, its field. Adapters map kinds to their protocol (HTTP status,
// chat error code) in one table each.
package problem

import (
	"errors"
	"time"
)

// Kinds of problem. Test with errors.Is.
var (
	ErrInvalid         = errors.New("invalid input")
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrForbidden       = errors.New("forbidden")
	ErrNotFound        = errors.New("not found")
	ErrConflict        = errors.New("conflict")
	ErrTooLarge        = errors.New("too large")
	ErrThrottled       = errors.New("throttled")
	// ErrUnavailable: a part of the system needed for the request is out of reach for now;
	// RetryAfter says when to try again.
	ErrUnavailable = errors.New("unavailable")
)

// Problem is an error meant for the user.
type Problem struct {
	Kind       error
	Code       string
	Message    string
	Field      string
	RetryAfter time.Duration // for ErrThrottled
}

func (p *Problem) Error() string { return p.Code + ": " + p.Message }
func (p *Problem) Unwrap() error { return p.Kind }

// Invalid is a problem with one input field (field may be empty for the whole request).
func Invalid(code, field, message string) *Problem {
	return &Problem{Kind: ErrInvalid, Code: code, Field: field, Message: message}
}

// Conflict is a clash with existing state, such as a taken username.
func Conflict(code, field, message string) *Problem {
	return &Problem{Kind: ErrConflict, Code: code, Field: field, Message: message}
}

// Unauthenticated means the caller is not who they must be: not signed in, or a bad password.
func Unauthenticated(code, message string) *Problem {
	return &Problem{Kind: ErrUnauthenticated, Code: code, Message: message}
}

// Forbidden means the caller is known but may not do this.
func Forbidden(code, message string) *Problem {
	return &Problem{Kind: ErrForbidden, Code: code, Message: message}
}

// NotFound means the thing asked for does not exist (or is not the caller's to see).
func NotFound(code, message string) *Problem {
	return &Problem{Kind: ErrNotFound, Code: code, Message: message}
}

// Throttled means try again after the given wait.
func Throttled(code, message string, retryAfter time.Duration) *Problem {
	return &Problem{Kind: ErrThrottled, Code: code, Message: message, RetryAfter: retryAfter}
}

// As returns the Problem in err's chain, if any.
func As(err error) (*Problem, bool) {
	var p *Problem
	ok := errors.As(err, &p)
	return p, ok
}
