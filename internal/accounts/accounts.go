// Package accounts is the domain of user accounts: sign-up, verification, sign-in sessions,
// password reset, profile changes and deletion. It knows nothing of HTTP or SQL.
package accounts

import (
	"context"
	"errors"
	"time"

	"github.com/livehouse/livehouse/internal/channels"
)

// User is an account.
type User struct {
	ID              string
	Username        string
	Email           string
	PendingEmail    string // a new address waiting for its confirmation link
	PasswordHash    string
	EmailVerifiedAt *time.Time
	Color           string
	Avatar          string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	SuspendedAt     *time.Time // set while an operator has suspended the account
	SuspendedReason string     // the operator's note, shown to operators only
}

// Verified reports whether the account's email has been confirmed.
func (u *User) Verified() bool { return u.EmailVerifiedAt != nil }

// Suspended reports whether an operator has suspended the account.
func (u *User) Suspended() bool { return u.SuspendedAt != nil }

// UserChange is one narrow update of an account: nil fields are left as they are in the
// database, so two changes racing each other both survive (a whole-row rewrite from a copy
// read before a 25 ms hash silently undid a concurrent email change).
type UserChange struct {
	Username     *string
	Email        *string
	PendingEmail *string
	PasswordHash *string
	// VerifiedAt verifies the account at this time, unless it is verified already.
	VerifiedAt *time.Time
	// IfPendingEmail makes the change apply only while the account's pending email is this
	// one: the confirmation of an email change that a newer change has replaced is void.
	IfPendingEmail *string
	UpdatedAt      time.Time
}

// Session is a signed-in browser or script. Only the hash of its token is stored.
type Session struct {
	TokenHash string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Code purposes: what a single-use emailed code proves.
const (
	PurposeSignup        = "signup"
	PurposeEmailChange   = "email-change"
	PurposePasswordReset = "password-reset"
)

// Code is a single-use secret sent by mail. Data carries the new address of an email change.
type Code struct {
	Hash      string
	UserID    string
	Purpose   string
	Data      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Errors a Store returns; the service turns them into problems for the user.
var (
	ErrNotFound      = errors.New("not found")
	ErrUsernameTaken = errors.New("username taken")
	ErrEmailTaken    = errors.New("email taken")
)

// Store is what accounts need from persistence. Implementations translate their driver's
// errors to the errors above.
type Store interface {
	// CreateAccount saves a user with their channel, chat room and stream key atomically.
	CreateAccount(ctx context.Context, u *User, ch *channels.Channel) error
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByLogin finds a user by username or email, ignoring case.
	UserByLogin(ctx context.Context, login string) (*User, error)
	// EmailInUse reports whether any account other than exceptUserID uses the address.
	EmailInUse(ctx context.Context, email, exceptUserID string) (bool, error)
	// UpdateUser writes only the fields the change names (ErrNotFound when no user matches
	// the id and the change's guard).
	UpdateUser(ctx context.Context, id string, c UserChange) error
	// SetSuspension suspends the user at the time with the reason, or lifts it (at nil).
	SetSuspension(ctx context.Context, userID string, at *time.Time, reason string) error
	// DeleteUser removes the user and everything they own.
	DeleteUser(ctx context.Context, id string) error
	ListUsers(ctx context.Context) ([]*User, error)
	// DeleteUnverified removes accounts never verified and created before the cutoff.
	DeleteUnverified(ctx context.Context, createdBefore time.Time) (int, error)

	CreateSession(ctx context.Context, s *Session) error
	SessionByHash(ctx context.Context, hash string) (*Session, error)
	DeleteSession(ctx context.Context, hash string) error
	// DeleteSessions ends every session of the user but keepHash ("" ends them all).
	DeleteSessions(ctx context.Context, userID, keepHash string) error
	DeleteExpired(ctx context.Context, now time.Time) error

	CreateCode(ctx context.Context, c *Code) error
	// TakeCode removes and returns the code if it exists and has not expired.
	TakeCode(ctx context.Context, hash, purpose string, now time.Time) (*Code, error)
	DeleteCodes(ctx context.Context, userID, purpose string) error
}
