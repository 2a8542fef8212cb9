package accounts_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/store/sqlite"
)

// countingStore counts the store calls made for account lookups and codes.
type countingStore struct {
	accounts.Store
	calls atomic.Int32
}

func (s *countingStore) UserByLogin(ctx context.Context, login string) (*accounts.User, error) {
	s.calls.Add(1)
	return s.Store.UserByLogin(ctx, login)
}

func (s *countingStore) CreateCode(ctx context.Context, c *accounts.Code) error {
	s.calls.Add(1)
	return s.Store.CreateCode(ctx, c)
}

func (s *countingStore) DeleteCodes(ctx context.Context, userID, purpose string) error {
	s.calls.Add(1)
	return s.Store.DeleteCodes(ctx, userID, purpose)
}

// chanMailer hands each mail to the test.
type chanMailer chan accounts.Mail

func (m chanMailer) Send(_ context.Context, msg accounts.Mail) error {
	m <- msg
	return nil
}

// mailEnv is a service with a counting store and a mailer the test reads; run starts its
// mail worker.
type mailEnv struct {
	svc   *accounts.Service
	store *countingStore
	mail  chanMailer
}

func newMailEnv(t *testing.T, limits accounts.Limits) *mailEnv {
	t.Helper()
	db, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	box, _ := channels.NewKeyBox(make([]byte, 32))
	store := &countingStore{Store: db}
	mail := make(chanMailer, 100)
	cfg := accounts.Config{AutoVerify: false, PublicURL: "http://livehouse.test", HashParams: accounts.HashParams{MemoryKiB: 64, Time: 1, Threads: 1}, Limits: limits}
	svc := accounts.NewService(cfg, store, box, mail, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	return &mailEnv{svc: svc, store: store, mail: mail}
}

func (e *mailEnv) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// next returns the next mail sent; the deadline only keeps a broken build from hanging.
func (e *mailEnv) next(t *testing.T) accounts.Mail {
	t.Helper()
	select {
	case m := <-e.mail:
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("no mail was sent")
		return accounts.Mail{}
	}
}

func (e *mailEnv) register(t *testing.T, name string) {
	t.Helper()
	if _, _, err := e.svc.Register(context.Background(), accounts.RegisterInput{Username: name, Email: name + "@example.com", Password: "Passw0rd!"}); err != nil {
		t.Fatal(err)
	}
	if m := e.next(t); m.To != name+"@example.com" {
		t.Fatalf("sign-up mail to %s", m.To)
	}
}

// TestResetAndResendDoTheSameWorkForKnownAndUnknown: a reset or a resend is answered after
// the same work whether or not an account matches — no lookup, no code, no mail on the
// request path (a reset answered 3 times slower for a known email) — and the mail follows
// off the request path for the known account only.
func TestResetAndResendDoTheSameWorkForKnownAndUnknown(t *testing.T) {
	e := newMailEnv(t, accounts.Limits{})
	ctx := context.Background()
	e.register(t, "known")
	for _, tt := range []struct {
		name string
		ask  func(login string) error
	}{
		{"reset", func(login string) error { return e.svc.RequestPasswordReset(ctx, login, "198.51.100.1") }},
		{"resend", func(login string) error { return e.svc.ResendVerification(ctx, login, "198.51.100.1") }},
	} {
		for _, login := range []string{"nobody@example.com", "known@example.com"} {
			before := e.store.calls.Load()
			if err := tt.ask(login); err != nil {
				t.Errorf("%s for %s: %v", tt.name, login, err)
			}
			if got := e.store.calls.Load() - before; got != 0 {
				t.Errorf("%s for %s made %d store calls on the request path, want 0", tt.name, login, got)
			}
		}
	}
	if len(e.mail) != 0 {
		t.Fatalf("%d mails sent on the request path", len(e.mail))
	}
	e.run(t)
	// In order: nobody's reset (no mail), known's reset, nobody's resend (none), known's resend.
	if m := e.next(t); m.To != "known@example.com" || m.Subject != "Reset your Livehouse password" {
		t.Errorf("first mail: %s to %s, want the reset to known", m.Subject, m.To)
	}
	if m := e.next(t); m.To != "known@example.com" || m.Subject != "Confirm your email for Livehouse" {
		t.Errorf("second mail: %s to %s, want the verification to known", m.Subject, m.To)
	}
	// A sentinel request behind them: once its mail comes, nothing else was sent.
	e.register(t, "sentinel")
	if len(e.mail) != 0 {
		t.Errorf("%d unexpected mails, the first to %s", len(e.mail), (<-e.mail).To)
	}
}

// TestMailThrottles: a recipient gets at most MailsPerRecipient links an hour, silently (the
// answer is the same as for an address without an account); a client address may ask for at
// most MailsPerAddress, then gets 429 whether the address has an account or not.
func TestMailThrottles(t *testing.T) {
	e := newMailEnv(t, accounts.Limits{MailsPerRecipient: 3, MailsPerAddress: 6})
	ctx := context.Background()
	e.run(t)
	e.register(t, "target") // its sign-up mail is the first of its 3
	for i := range 4 {
		if err := e.svc.RequestPasswordReset(ctx, "target@example.com", "203.0.113.1"); err != nil {
			t.Errorf("reset %d: %v, want the usual answer", i, err)
		}
	}
	for range 2 {
		if err := e.svc.RequestPasswordReset(ctx, "nobody@example.com", "203.0.113.1"); err != nil {
			t.Errorf("reset for nobody: %v", err)
		}
	}
	for _, login := range []string{"target@example.com", "nobody@example.com"} {
		err := e.svc.RequestPasswordReset(ctx, login, "203.0.113.1")
		if code(err) != "TooManyRequests" {
			t.Errorf("7th request from one address for %s: %v, want TooManyRequests", login, err)
		}
	}
	for range 2 {
		if m := e.next(t); m.To != "target@example.com" {
			t.Errorf("mail to %s", m.To)
		}
	}
	e.register(t, "sentinel")
	if len(e.mail) != 0 {
		t.Errorf("%d mails past the recipient's 3 an hour", len(e.mail))
	}
}

// TestResetLinkSurvivesABusyAnswer: a reset refused because the hashing queue is full keeps
// its link working for the next try.
func TestResetLinkSurvivesABusyAnswer(t *testing.T) {
	e := newMailEnv(t, accounts.Limits{HashWorkers: 1, HashQueue: 1})
	ctx := context.Background()
	e.run(t)
	e.register(t, "forgetful")
	if err := e.svc.RequestPasswordReset(ctx, "forgetful@example.com", ""); err != nil {
		t.Fatal(err)
	}
	link := e.next(t).Link
	code := link[strings.Index(link, "code=")+len("code=") : strings.Index(link, "&")]
	release := e.svc.HoldHashing(t)
	if _, err := e.svc.ResetPassword(ctx, code, "N3w-passw0rd!"); !errors.Is(err, problem.ErrUnavailable) {
		t.Fatalf("reset while hashing is full: %v, want ServerBusy", err)
	}
	release()
	if _, err := e.svc.ResetPassword(ctx, code, "N3w-passw0rd!"); err != nil {
		t.Errorf("reset with the same link after the busy answer: %v", err)
	}
}
