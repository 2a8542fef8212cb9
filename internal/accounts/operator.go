package accounts

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/livehouse/livehouse/internal/problem"
)

// Operator commands (livehouse user …) act without a session, as the machine's administrator.

// CreateVerified registers an account that needs no email verification.
func (s *Service) CreateVerified(ctx context.Context, in RegisterInput) (*User, error) {
	op := *s // a copy with auto-verify on; it shares the store, mailer and throttles
	op.cfg.AutoVerify = true
	u, _, err := op.Register(ctx, in)
	return u, err
}

// List returns every account, oldest first.
func (s *Service) List(ctx context.Context) ([]*User, error) { return s.store.ListUsers(ctx) }

// MarkVerified verifies the account named by username or email.
func (s *Service) MarkVerified(ctx context.Context, login string) (*User, error) {
	u, err := s.store.UserByLogin(ctx, strings.TrimSpace(login))
	if err != nil {
		return nil, err
	}
	if !u.Verified() {
		now := s.nowUTC()
		if u, err = s.change(ctx, u.ID, UserChange{VerifiedAt: &now, UpdatedAt: now}); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// DeleteByLogin removes the account named by username or email and all it owns.
func (s *Service) DeleteByLogin(ctx context.Context, login string) (*User, error) {
	u, err := s.store.UserByLogin(ctx, strings.TrimSpace(login))
	if err != nil {
		return nil, err
	}
	if s.beforeDelete != nil {
		s.beforeDelete(ctx, u.ID)
	}
	return u, s.store.DeleteUser(ctx, u.ID)
}

// MaxSuspendReason is the longest operator's note a suspension keeps, in characters.
const MaxSuspendReason = 200

// errSuspended is what a suspended account gets when it tries to sign in or use a session.
var errSuspended = problem.Forbidden("AccountSuspended", "This account is suspended.")

// OnSuspend registers work to do when an account is suspended, such as ending its live
// stream on whichever node runs it.
func (s *Service) OnSuspend(fn func(ctx context.Context, userID string)) { s.onSuspend = fn }

// Suspend suspends the account named by username or email: it can no longer sign in, its
// sessions end, its stream ends and its channel disappears from public view until
// Unsuspend. reason is a note for operators (up to MaxSuspendReason characters, one line).
func (s *Service) Suspend(ctx context.Context, login, reason string) (*User, error) {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > MaxSuspendReason {
		return nil, problem.Invalid("InvalidReason", "reason", fmt.Sprintf("The reason must be at most %d characters.", MaxSuspendReason))
	}
	if !utf8.ValidString(reason) || strings.ContainsFunc(reason, unicode.IsControl) {
		return nil, problem.Invalid("InvalidReason", "reason", "The reason must be one line of text.")
	}
	u, err := s.store.UserByLogin(ctx, strings.TrimSpace(login))
	if err != nil {
		return nil, err
	}
	if u.Suspended() {
		return nil, problem.Conflict("AlreadySuspended", "", u.Username+" is already suspended.")
	}
	now := s.nowUTC()
	if err := s.store.SetSuspension(ctx, u.ID, &now, reason); err != nil {
		return nil, err
	}
	u.SuspendedAt, u.SuspendedReason = &now, reason
	if err := s.store.DeleteSessions(ctx, u.ID, ""); err != nil {
		return u, fmt.Errorf("ending the sessions of %s: %w", u.Username, err)
	}
	if s.onSuspend != nil {
		s.onSuspend(ctx, u.ID)
	}
	s.log.Info("account suspended", "user", u.ID, "username", u.Username)
	return u, nil
}

// Unsuspend lifts the suspension of the account named by username or email.
func (s *Service) Unsuspend(ctx context.Context, login string) (*User, error) {
	u, err := s.store.UserByLogin(ctx, strings.TrimSpace(login))
	if err != nil {
		return nil, err
	}
	if !u.Suspended() {
		return nil, problem.Conflict("NotSuspended", "", u.Username+" is not suspended.")
	}
	if err := s.store.SetSuspension(ctx, u.ID, nil, ""); err != nil {
		return nil, err
	}
	u.SuspendedAt, u.SuspendedReason = nil, ""
	s.log.Info("account unsuspended", "user", u.ID, "username", u.Username)
	return u, nil
}
