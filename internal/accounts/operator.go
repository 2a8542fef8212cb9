package accounts

import (
	"context"
	"strings"
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
		u.EmailVerifiedAt, u.UpdatedAt = &now, now
		if err := s.store.UpdateUser(ctx, u); err != nil {
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
