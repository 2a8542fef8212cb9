package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/clientaddr"
	"github.com/livehouse/livehouse/internal/problem"
)

// Lifetimes of the secrets accounts hand out.
const (
	SessionTTL      = 30 * 24 * time.Hour
	VerifyCodeTTL   = 24 * time.Hour
	ResetCodeTTL    = time.Hour
	UnverifiedGrace = 24 * time.Hour
)

// Config is the part of the configuration accounts use.
type Config struct {
	PublicURL      string // base of links in mail
	AutoVerify     bool
	ChannelType    string
	AllowedDomains []string
	HashParams     HashParams
	Limits         Limits
}

// Windows of the throttles Limits configures.
const (
	LoginWindow  = 15 * time.Minute
	SignUpWindow = time.Hour
	MailWindow   = time.Hour
)

// Limits bound what one client can make the account rules do. A zero field takes its
// default from DefaultLimits.
type Limits struct {
	LoginPerAccount   int // password attempts per account (sign-in and current-password checks) per LoginWindow
	LoginPerAddress   int // failed password attempts per client address per LoginWindow
	SignUpsPerAddress int // sign-ups per client address per SignUpWindow
	MailsPerRecipient int // mails with a link per recipient address per MailWindow
	MailsPerAddress   int // requests for a reset or verification mail per client address per MailWindow
	HashWorkers       int // password hashes run at once; 0 = max(2, GOMAXPROCS)
	HashQueue         int // requests that may wait for a hash; more are answered 503
}

// DefaultLimits are the limits of a zero Limits field.
var DefaultLimits = Limits{
	LoginPerAccount: 5, LoginPerAddress: 30, SignUpsPerAddress: 20,
	MailsPerRecipient: 5, MailsPerAddress: 10, HashQueue: DefaultHashQueue,
}

// WithDefaults returns the limits with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	or := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	d := DefaultLimits
	or(&l.LoginPerAccount, d.LoginPerAccount)
	or(&l.LoginPerAddress, d.LoginPerAddress)
	or(&l.SignUpsPerAddress, d.SignUpsPerAddress)
	or(&l.MailsPerRecipient, d.MailsPerRecipient)
	or(&l.MailsPerAddress, d.MailsPerAddress)
	or(&l.HashWorkers, DefaultHashWorkers())
	or(&l.HashQueue, d.HashQueue)
	return l
}

// Mail is one message to a user; Link is its one action link.
type Mail struct {
	To      string
	Subject string
	Text    string
	HTML    string
	Link    string
}

// Mailer sends one message.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// Service holds the account rules.
type Service struct {
	cfg    Config
	store  Store
	box    *channels.KeyBox
	mailer Mailer
	log    *slog.Logger
	now    func() time.Time

	beforeDelete func(ctx context.Context, userID string) // e.g. end the user's live stream
	onSuspend    func(ctx context.Context, userID string) // end the user's live stream

	dummyHash  string    // compared against when a login names nobody, to even out timing
	hash       *hasher   // every password hash and check runs through it
	perAccount *throttle // password attempts per account ("user:" id) or unknown login name
	perAddr    *throttle // failed password attempts per client address
	signUps    *throttle // sign-ups per client address
	mailTo     *throttle // mails with a link per recipient
	mailAsks   *throttle // reset and resend requests per client address
	mailq      chan mailJob
}

// NewService wires the account rules to their store, key box and mailer. now may be nil.
func NewService(cfg Config, store Store, box *channels.KeyBox, mailer Mailer, log *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if cfg.HashParams == (HashParams{}) {
		cfg.HashParams = DefaultHashParams
	}
	if cfg.ChannelType == "" {
		cfg.ChannelType = channels.TypeBasic
	}
	cfg.Limits = cfg.Limits.WithDefaults()
	l := cfg.Limits
	return &Service{
		cfg: cfg, store: store, box: box, mailer: mailer, log: log, now: now,
		dummyHash:  hashPassword("not a password of anybody's", cfg.HashParams),
		hash:       newHasher(l.HashWorkers, l.HashQueue, DefaultHashMaxWait),
		perAccount: newThrottle(l.LoginPerAccount, LoginWindow),
		perAddr:    newThrottle(l.LoginPerAddress, LoginWindow),
		signUps:    newThrottle(l.SignUpsPerAddress, SignUpWindow),
		mailTo:     newThrottle(l.MailsPerRecipient, MailWindow),
		mailAsks:   newThrottle(l.MailsPerAddress, MailWindow),
		mailq:      make(chan mailJob, mailQueue),
	}
}

// Throttle answers: the codes and messages a client sees.
const (
	codeTooManyAttempts = "TooManyAttempts"
	msgTooManyAttempts  = "Attempt limit exceeded, please try again later"
)

// addrSlot is the attempt of a client address in t, counted by its clientaddr.Key (an IPv6
// address by its /64); operator commands have no address and are not throttled by one.
func addrSlot(t *throttle, addr string) []slot {
	if addr == "" {
		return nil
	}
	return []slot{{t, clientaddr.Key(addr)}}
}

func accountKey(userID string) string { return "user:" + userID }

// checkPassword checks a password attempt on the account (u nil: an unknown login, checked
// against a dummy hash so that both take the same time) within the throttles and the
// hashing bound. The attempt is counted for the account and the address before the hash
// runs; a wrong password leaves it counted, a right one clears the account's count and
// gives the address its attempt back. then, if not nil, runs in the same hashing turn after
// a right password (to hash a new one).
func (s *Service) checkPassword(ctx context.Context, u *User, key, password, clientAddr string, then func()) (bool, error) {
	// The address first: a refused address creates no count for the name it tried.
	res, err := reserve(s.now(), codeTooManyAttempts, msgTooManyAttempts, append(addrSlot(s.perAddr, clientAddr), slot{s.perAccount, key})...)
	if err != nil {
		return false, err
	}
	hash := s.dummyHash
	if u != nil {
		hash = u.PasswordHash
	}
	var ok bool
	var checkErr error
	err = s.hash.do(ctx, func() {
		ok, checkErr = checkPassword(password, hash)
		if ok && u != nil && then != nil {
			then()
		}
	})
	if err == nil {
		err = checkErr
	}
	if err != nil { // no attempt was made
		res.giveBack()
		return false, err
	}
	if !ok || u == nil {
		return false, nil
	}
	s.perAccount.reset(key)
	reservation(addrSlot(s.perAddr, clientAddr)).giveBack()
	return true, nil
}

// hashNew hashes a new password within the hashing bound.
func (s *Service) hashNew(ctx context.Context, password string) (string, error) {
	var h string
	err := s.hash.do(ctx, func() { h = hashPassword(password, s.cfg.HashParams) })
	return h, err
}

func (s *Service) nowUTC() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// BeforeDelete registers work to do when an account is about to be deleted, such as ending
// its live stream cleanly.
func (s *Service) BeforeDelete(fn func(ctx context.Context, userID string)) { s.beforeDelete = fn }

// RegisterInput is a sign-up request.
type RegisterInput struct {
	Username   string
	Email      string
	Password   string
	ClientAddr string // keys the per-address sign-up throttle; empty for operator commands
}

// Register creates an account with its channel, chat room and stream key. It returns whether
// the account must still be verified from the emailed link.
func (s *Service) Register(ctx context.Context, in RegisterInput) (*User, bool, error) {
	if err := ValidateUsername(in.Username); err != nil {
		return nil, false, err
	}
	email, err := normalizeEmail(in.Email)
	if err != nil {
		return nil, false, err
	}
	if !emailDomainAllowed(email, s.cfg.AllowedDomains) {
		return nil, false, problem.Invalid("EmailDomainNotAllowed", "email", "Sign-up is not open to this email domain.")
	}
	if err := ValidatePassword("password", in.Password); err != nil {
		return nil, false, err
	}
	// The sign-up is counted before its hash: concurrent sign-ups cannot all pass the check.
	res, err := reserve(s.now(), "TooManySignUps", "Too many sign-ups from your address; please try again later.", addrSlot(s.signUps, in.ClientAddr)...)
	if err != nil {
		return nil, false, err
	}
	hash, err := s.hashNew(ctx, in.Password)
	if err != nil {
		res.giveBack()
		return nil, false, err
	}
	now := s.nowUTC()
	u := &User{
		ID:           "u_" + channels.RandomID(20),
		Username:     in.Username,
		Email:        email,
		PasswordHash: hash,
		Color:        pick(channels.Colors),
		Avatar:       pick(channels.Avatars),
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	if s.cfg.AutoVerify {
		u.EmailVerifiedAt = &now
	}
	ch := channels.New(s.box, u.ID, s.cfg.ChannelType, now)
	if err := s.store.CreateAccount(ctx, u, ch); err != nil {
		return nil, false, takenProblem(err)
	}
	s.log.Info("account registered", "user", u.ID, "username", u.Username, "verified", u.Verified())
	if !u.Verified() {
		if err := s.sendCode(ctx, u, signupMail, u.Email, ""); err != nil {
			s.log.Error("mailing the verification link", "user", u.ID, "err", err)
		}
	}
	return u, !u.Verified(), nil
}

func takenProblem(err error) error {
	switch {
	case errors.Is(err, ErrUsernameTaken):
		return problem.Conflict("UsernameExists", "username", msgUsernameTaken)
	case errors.Is(err, ErrEmailTaken):
		return problem.Conflict("EmailExists", "email", msgEmailTaken)
	}
	return err
}

// codeMail is one kind of mail carrying a single-use link.
type codeMail struct {
	purpose string
	ttl     time.Duration
	path    string // the web app page the link opens
	subject string
	body    string // the sentence before the link
	footer  string // the sentence after it
	label   string // the HTML link's text
}

var (
	signupMail = codeMail{PurposeSignup, VerifyCodeTTL, "/login", "Confirm your email for Livehouse",
		"Use the link below to confirm your email for your Livehouse account.", "If you did not sign up, you can safely disregard this email.", "Confirm Email"}
	emailChangeMail = codeMail{PurposeEmailChange, VerifyCodeTTL, "/login", "Confirm your new email for Livehouse",
		"Use the link below to confirm this address as the new email of your Livehouse account.", "If you did not ask for this, you can safely disregard this email.", "Confirm Email"}
	resetMail = codeMail{PurposePasswordReset, ResetCodeTTL, "/reset", "Reset your Livehouse password",
		"Use the link below to set up a new password for your Livehouse account. This password reset link is only valid for the next 1 hour.", "If you did not make this request, you can safely disregard this email.", "Reset Password"}
)

// sendCode replaces the user's outstanding codes of the mail's purpose with a new one and
// mails its link to the address. data travels with the code (the new address of an email
// change). A failure to send is logged, not returned: the user can ask again.
func (s *Service) sendCode(ctx context.Context, u *User, m codeMail, to, data string) error {
	if wait := s.mailTo.take(strings.ToLower(to), s.now()); wait > 0 {
		// Silently: the answer must not depend on whether the address has an account.
		s.log.Info("mail not sent: the recipient had its mails for the hour", "user", u.ID, "purpose", m.purpose)
		return nil
	}
	if err := s.store.DeleteCodes(ctx, u.ID, m.purpose); err != nil {
		return err
	}
	code, err := s.newCode(ctx, u.ID, m.purpose, data, m.ttl)
	if err != nil {
		return err
	}
	link := s.link(m.path, code, u.Username)
	s.send(ctx, Mail{
		To:      to,
		Subject: m.subject,
		Text:    "Hello " + u.Username + ",\n\n" + m.body + "\n\n" + link + "\n\n" + m.footer + "\n",
		HTML:    htmlMail(m.body+" "+m.footer, link, m.label),
		Link:    link,
	})
	return nil
}

// ResendVerification mails a new link to an unverified account named by username or email.
// It says nothing about whether the account exists: the request is queued, and looked up
// and mailed off the request path (see queueMail).
func (s *Service) ResendVerification(ctx context.Context, login, clientAddr string) error {
	return s.queueMail(mailJob{purpose: PurposeSignup, login: strings.TrimSpace(login)}, clientAddr)
}

// mailQueue bounds the reset and resend requests waiting for the mail worker.
const mailQueue = 256

// mailJob is a request for a reset or a new verification link, handled by Run.
type mailJob struct {
	purpose string // PurposePasswordReset or PurposeSignup
	login   string // the email (reset) or the username or email (resend) given
}

var errMailBusy = problem.Unavailable("ServerBusy", "The server is busy; please try again in a moment.", 5*time.Second)

// queueMail hands a reset or resend request to the mail worker. The request path does the
// same work whether or not an account matches — a throttle per client address and a queue
// insert — so that neither its answer nor its time tells (a reset answered 3 times slower for
// a known address when the lookup, the code and the mail were made on it).
func (s *Service) queueMail(job mailJob, clientAddr string) error {
	res, err := reserve(s.now(), "TooManyRequests", "Too many requests for mail from your address; please try again later.", addrSlot(s.mailAsks, clientAddr)...)
	if err != nil {
		return err
	}
	select {
	case s.mailq <- job:
		return nil
	default:
		res.giveBack()
		return errMailBusy
	}
}

// Run sends the mail of queued reset and resend requests until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case job := <-s.mailq:
			jobCtx, cancel := context.WithTimeout(ctx, time.Minute)
			if err := s.mailFor(jobCtx, job); err != nil {
				s.log.Error("mailing a link", "purpose", job.purpose, "err", err)
			}
			cancel()
		}
	}
}

// mailFor looks up the account a queued request names and mails it its link, if it has one
// to get.
func (s *Service) mailFor(ctx context.Context, job mailJob) error {
	u, err := s.store.UserByLogin(ctx, job.login)
	if errors.Is(err, ErrNotFound) {
		s.log.Info("link asked for an unknown account", "purpose", job.purpose)
		return nil
	}
	if err != nil {
		return err
	}
	switch job.purpose {
	case PurposePasswordReset:
		if !strings.EqualFold(u.Email, job.login) {
			return nil
		}
		return s.sendCode(ctx, u, resetMail, u.Email, "")
	case PurposeSignup:
		if u.Verified() {
			return nil
		}
		return s.sendCode(ctx, u, signupMail, u.Email, "")
	}
	return fmt.Errorf("unknown mail purpose %q", job.purpose)
}

// Verify consumes an emailed code: it confirms a sign-up or an email change.
func (s *Service) Verify(ctx context.Context, code string) (*User, string, error) {
	now := s.nowUTC()
	for _, purpose := range []string{PurposeSignup, PurposeEmailChange} {
		c, err := s.store.TakeCode(ctx, hashSecret(code), purpose, now)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		change := UserChange{VerifiedAt: &now, UpdatedAt: now}
		if purpose == PurposeEmailChange {
			none := ""
			change.Email, change.PendingEmail, change.IfPendingEmail = &c.Data, &none, &c.Data
		}
		u, err := s.change(ctx, c.UserID, change)
		if errors.Is(err, ErrNotFound) {
			return nil, "", invalidCode() // the account is gone, or a newer email change replaced this one
		}
		if err != nil {
			return nil, "", takenProblem(err)
		}
		s.log.Info("email verified", "user", u.ID, "purpose", purpose)
		return u, purpose, nil
	}
	return nil, "", invalidCode()
}

func invalidCode() error {
	return problem.Invalid("InvalidCode", "code", "This link is invalid or has expired.")
}

// Login checks a username-or-email and password and opens a session. clientAddr keys the
// per-address throttle.
func (s *Service) Login(ctx context.Context, login, password, clientAddr string) (string, *User, error) {
	login = strings.TrimSpace(login)
	u, err := s.store.UserByLogin(ctx, login)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", nil, err
	}
	// A known account is throttled as one, whether named by username or email.
	key := "login:" + strings.ToLower(login)
	if u != nil {
		key = accountKey(u.ID)
	}
	ok, err := s.checkPassword(ctx, u, key, password, clientAddr, nil)
	if err != nil {
		return "", nil, err
	}
	if !ok {
		return "", nil, problem.Unauthenticated("InvalidCredentials", "Incorrect username or password")
	}
	if u.Suspended() {
		return "", nil, errSuspended
	}
	if !u.Verified() {
		return "", nil, problem.Forbidden("EmailNotVerified", "Verify your email with the link we sent before signing in.")
	}
	token, err := s.openSession(ctx, u.ID)
	if err != nil {
		return "", nil, err
	}
	return token, u, nil
}

func (s *Service) openSession(ctx context.Context, userID string) (string, error) {
	token := newSecret()
	now := s.nowUTC()
	err := s.store.CreateSession(ctx, &Session{TokenHash: hashSecret(token), UserID: userID, CreatedAt: now, ExpiresAt: now.Add(SessionTTL)})
	if err != nil {
		return "", fmt.Errorf("opening session: %w", err)
	}
	return token, nil
}

// Authenticate resolves a session token to its user.
func (s *Service) Authenticate(ctx context.Context, token string) (*User, *Session, error) {
	unauth := problem.Unauthenticated("Unauthorized", "Sign in to continue.")
	if token == "" {
		return nil, nil, unauth
	}
	sess, err := s.store.SessionByHash(ctx, hashSecret(token))
	if errors.Is(err, ErrNotFound) {
		return nil, nil, unauth
	}
	if err != nil {
		return nil, nil, err
	}
	if !s.now().Before(sess.ExpiresAt) {
		_ = s.store.DeleteSession(ctx, sess.TokenHash)
		return nil, nil, unauth
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, unauth
	}
	if err == nil && u.Suspended() { // its sessions are deleted at suspension; this covers a race
		return nil, nil, unauth
	}
	if err != nil {
		return nil, nil, err
	}
	return u, sess, nil
}

// Logout ends the session of token.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return s.store.DeleteSession(ctx, hashSecret(token))
}

// RequestPasswordReset mails a reset link if an account has this address. It never reveals
// whether one does, by its answer or its time: the lookup and the mail happen off the
// request path (see queueMail).
func (s *Service) RequestPasswordReset(ctx context.Context, email, clientAddr string) error {
	email, err := normalizeEmail(email)
	if err != nil {
		return err
	}
	return s.queueMail(mailJob{purpose: PurposePasswordReset, login: email}, clientAddr)
}

// ResetPassword sets a new password with an emailed code and ends every session of the
// account. A reset also proves the address, so it verifies an unverified account.
func (s *Service) ResetPassword(ctx context.Context, code, password string) (*User, error) {
	if err := ValidatePassword("password", password); err != nil {
		return nil, err
	}
	now := s.nowUTC()
	c, err := s.store.TakeCode(ctx, hashSecret(code), PurposePasswordReset, now)
	if errors.Is(err, ErrNotFound) {
		return nil, invalidCode()
	}
	if err != nil {
		return nil, err
	}
	hash, err := s.hashNew(ctx, password)
	if err != nil {
		// Busy: put the code back, so that the link works when the user tries again.
		if rerr := s.store.CreateCode(ctx, c); rerr != nil {
			s.log.Warn("restoring a reset code after a busy answer", "user", c.UserID, "err", rerr)
		}
		return nil, err
	}
	u, err := s.change(ctx, c.UserID, UserChange{PasswordHash: &hash, VerifiedAt: &now, UpdatedAt: now})
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteSessions(ctx, u.ID, ""); err != nil {
		return nil, err
	}
	s.perAccount.reset(accountKey(u.ID))
	s.log.Info("password reset", "user", u.ID)
	return u, nil
}

// ChangePassword replaces the password after checking the current one, and ends every other
// session of the account (keepSession stays signed in). clientAddr keys the per-address
// throttle of password attempts.
func (s *Service) ChangePassword(ctx context.Context, userID, keepSession, current, next, clientAddr string) error {
	if err := ValidatePassword("newPassword", next); err != nil {
		return err
	}
	if current == next {
		return problem.Invalid("SamePassword", "newPassword", "Your new password cannot be the same as your old password.")
	}
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	var hash string
	if err := s.checkCurrent(ctx, u, current, clientAddr, func() { hash = hashPassword(next, s.cfg.HashParams) }); err != nil {
		return err
	}
	if err := s.store.UpdateUser(ctx, u.ID, UserChange{PasswordHash: &hash, UpdatedAt: s.nowUTC()}); err != nil {
		return err
	}
	s.log.Info("password changed", "user", u.ID)
	return s.store.DeleteSessions(ctx, u.ID, keepSession)
}

// checkCurrent checks the account's current password, counted as a sign-in attempt; then
// runs after a right one, in the same hashing turn.
func (s *Service) checkCurrent(ctx context.Context, u *User, password, clientAddr string, then func()) error {
	ok, err := s.checkPassword(ctx, u, accountKey(u.ID), password, clientAddr, then)
	if err != nil {
		return err
	}
	if !ok {
		return problem.Unauthenticated("IncorrectPassword", "Incorrect password.")
	}
	return nil
}

// UpdateInput changes the username, the email, or both; nil leaves a field as it is. A new
// email needs the current password and takes effect when its emailed link is opened.
type UpdateInput struct {
	Username        *string
	Email           *string
	CurrentPassword string
	ClientAddr      string // keys the per-address throttle of password attempts
}

// Update applies profile changes.
func (s *Service) Update(ctx context.Context, userID string, in UpdateInput) (*User, error) {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	var newEmail string
	if in.Email != nil {
		if newEmail, err = normalizeEmail(*in.Email); err != nil {
			return nil, err
		}
		if newEmail == u.Email {
			newEmail = "" // unchanged
		} else {
			if err := s.checkCurrent(ctx, u, in.CurrentPassword, in.ClientAddr, nil); err != nil {
				return nil, err
			}
			if !emailDomainAllowed(newEmail, s.cfg.AllowedDomains) {
				return nil, problem.Invalid("EmailDomainNotAllowed", "email", "Sign-up is not open to this email domain.")
			}
			inUse, err := s.store.EmailInUse(ctx, newEmail, u.ID)
			if err != nil {
				return nil, err
			}
			if inUse {
				return nil, problem.Conflict("EmailExists", "email", msgEmailTaken)
			}
		}
	}
	change := UserChange{UpdatedAt: s.nowUTC()}
	if in.Username != nil && *in.Username != u.Username {
		if err := ValidateUsername(*in.Username); err != nil {
			return nil, err
		}
		change.Username = in.Username
	}
	pending := false
	if newEmail != "" {
		if strings.EqualFold(newEmail, u.Email) {
			change.Email = &newEmail // a change of case only needs no proof
		} else {
			change.PendingEmail, pending = &newEmail, true
		}
	}
	if u, err = s.change(ctx, u.ID, change); err != nil {
		return nil, takenProblem(err)
	}
	if pending {
		if err := s.sendCode(ctx, u, emailChangeMail, newEmail, newEmail); err != nil {
			s.log.Error("mailing the email change link", "user", u.ID, "err", err)
		}
	}
	return u, nil
}

// change writes a narrow update and reads the account back as it now is.
func (s *Service) change(ctx context.Context, userID string, c UserChange) (*User, error) {
	if err := s.store.UpdateUser(ctx, userID, c); err != nil {
		return nil, err
	}
	return s.store.UserByID(ctx, userID)
}

// Delete removes the account and everything it owns, after checking its password.
// clientAddr keys the per-address throttle of password attempts.
func (s *Service) Delete(ctx context.Context, userID, password, clientAddr string) error {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.checkCurrent(ctx, u, password, clientAddr, nil); err != nil {
		return err
	}
	if s.beforeDelete != nil {
		s.beforeDelete(ctx, u.ID)
	}
	if err := s.store.DeleteUser(ctx, u.ID); err != nil {
		return err
	}
	s.log.Info("account deleted", "user", u.ID, "username", u.Username)
	return nil
}

// PurgeUnverified deletes accounts left unverified for longer than UnverifiedGrace, and
// expired sessions and codes.
func (s *Service) PurgeUnverified(ctx context.Context) (int, error) {
	now := s.nowUTC()
	n, err := s.store.DeleteUnverified(ctx, now.Add(-UnverifiedGrace))
	if err != nil {
		return 0, err
	}
	if err := s.store.DeleteExpired(ctx, now); err != nil {
		return n, err
	}
	if n > 0 {
		s.log.Info("purged unverified accounts", "count", n)
	}
	return n, nil
}

func (s *Service) newCode(ctx context.Context, userID, purpose, data string, ttl time.Duration) (string, error) {
	code := newSecret()
	now := s.nowUTC()
	err := s.store.CreateCode(ctx, &Code{Hash: hashSecret(code), UserID: userID, Purpose: purpose, Data: data, CreatedAt: now, ExpiresAt: now.Add(ttl)})
	return code, err
}

func (s *Service) link(path, code, username string) string {
	q := url.Values{"code": {code}, "username": {username}}
	return strings.TrimSuffix(s.cfg.PublicURL, "/") + path + "?" + q.Encode()
}

func (s *Service) send(ctx context.Context, m Mail) {
	if err := s.mailer.Send(ctx, m); err != nil {
		s.log.Error("sending mail", "to", m.To, "subject", m.Subject, "err", err)
	}
}

func htmlMail(text, link, label string) string {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return "<p>" + esc.Replace(text) + "</p>\n<p><a href=\"" + esc.Replace(link) + "\">" + esc.Replace(label) + "</a></p>\n"
}

// newSecret returns 256 random bits, URL-safe.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is how sessions and codes are stored: a copy of the database gives no usable
// secret, and 256-bit secrets need no slow hash.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// SessionHash exposes the stored form of a session token to adapters that must name the
// current session (to keep it signed in on a password change).
func SessionHash(token string) string { return hashSecret(token) }

func pick(list []string) string {
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(list))))
	return list[n.Int64()]
}
