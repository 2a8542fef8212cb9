package accounts_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/store/sqlite"
)

func code(err error) string {
	if p, ok := problem.As(err); ok {
		return p.Code
	}
	if err != nil {
		return "not a problem: " + err.Error()
	}
	return ""
}

// newService is the account rules on a fresh in-memory database, with cheap password hashes.
func newService(t *testing.T) *accounts.Service {
	t.Helper()
	store, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	box, _ := channels.NewKeyBox(make([]byte, 32))
	cfg := accounts.Config{AutoVerify: true, HashParams: accounts.HashParams{MemoryKiB: 64, Time: 1, Threads: 1}}
	return accounts.NewService(cfg, store, box, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
}

func TestSuspend(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	var stopped []string
	s.OnSuspend(func(_ context.Context, userID string) { stopped = append(stopped, userID) })
	u, err := s.CreateVerified(ctx, accounts.RegisterInput{Username: "streamer", Email: "s@example.com", Password: "Passw0rd!"})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := s.Login(ctx, "streamer", "Passw0rd!", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}

	// Bad input is refused and changes nothing.
	for _, tt := range []struct{ login, reason, want string }{
		{"streamer", strings.Repeat("x", accounts.MaxSuspendReason+1), "InvalidReason"},
		{"streamer", "two\nlines", "InvalidReason"},
		{"streamer", "bad\xffutf8", "InvalidReason"},
	} {
		if _, err := s.Suspend(ctx, tt.login, tt.reason); code(err) != tt.want {
			t.Errorf("Suspend(%q, %q) = %v, want %s", tt.login, tt.reason, err, tt.want)
		}
	}
	if _, err := s.Suspend(ctx, "nobody", ""); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("Suspend(nobody) = %v, want ErrNotFound", err)
	}
	if _, _, err := s.Authenticate(ctx, token); err != nil || len(stopped) != 0 {
		t.Fatalf("refused suspensions had an effect: session %v, streams stopped %v", err, stopped)
	}

	got, err := s.Suspend(ctx, "STREAMER", "  spam  ")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Suspended() || got.SuspendedReason != "spam" {
		t.Errorf("suspended user: at %v reason %q", got.SuspendedAt, got.SuspendedReason)
	}
	if len(stopped) != 1 || stopped[0] != u.ID {
		t.Errorf("stream stop hook got %v, want [%s]", stopped, u.ID)
	}
	if _, _, err := s.Authenticate(ctx, token); !errors.Is(err, problem.ErrUnauthenticated) {
		t.Errorf("a session of the suspended account: %v, want unauthenticated", err)
	}
	_, _, err = s.Login(ctx, "streamer", "Passw0rd!", "192.0.2.1")
	if p, ok := problem.As(err); !ok || p.Code != "AccountSuspended" || p.Message != "This account is suspended." || !errors.Is(err, problem.ErrForbidden) {
		t.Errorf("login while suspended: %v", err)
	}
	if _, _, err := s.Login(ctx, "streamer", "wrong-Passw0rd!", "192.0.2.1"); code(err) != "InvalidCredentials" {
		t.Errorf("a wrong password while suspended: %v, want InvalidCredentials (no hint of the suspension)", err)
	}
	if _, err := s.Suspend(ctx, "streamer", "again"); code(err) != "AlreadySuspended" {
		t.Errorf("suspending twice: %v", err)
	}
	if list, _ := s.List(ctx); len(list) != 1 || list[0].SuspendedReason != "spam" {
		t.Errorf("a second suspension changed the first")
	}

	if _, err := s.Unsuspend(ctx, "s@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Unsuspend(ctx, "streamer"); code(err) != "NotSuspended" {
		t.Errorf("unsuspending twice: %v", err)
	}
	if _, _, err := s.Login(ctx, "streamer", "Passw0rd!", "192.0.2.1"); err != nil {
		t.Errorf("login after the suspension is lifted: %v", err)
	}
}
