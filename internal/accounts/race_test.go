package accounts_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/store/sqlite"
)

// readTogether is a store whose first two UserByID calls each return only once both have read, so that two
// changes both read the account before either writes: the interleaving that lost an update
// when each change rewrote the whole row from its copy.
type readTogether struct {
	accounts.Store
	reads atomic.Int32
	both  chan struct{}
}

func (s *readTogether) UserByID(ctx context.Context, id string) (*accounts.User, error) {
	u, err := s.Store.UserByID(ctx, id)
	switch s.reads.Add(1) {
	case 1:
		<-s.both
	case 2:
		close(s.both)
	}
	return u, err
}

// TestPasswordAndEmailChangesBothSurvive: a password change racing an email change keeps both.
func TestPasswordAndEmailChangesBothSurvive(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	box, _ := channels.NewKeyBox(make([]byte, 32))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := accounts.Config{AutoVerify: true, HashParams: accounts.HashParams{MemoryKiB: 64, Time: 1, Threads: 1}}
	mailer := &mailbox{}
	setup := accounts.NewService(cfg, db, box, mailer, log, nil)
	for i := range 20 {
		name := fmt.Sprintf("racer%02d", i)
		u, _, err := setup.Register(ctx, accounts.RegisterInput{Username: name, Email: name + "@example.com", Password: "Passw0rd!"})
		if err != nil {
			t.Fatal(err)
		}
		store := &readTogether{Store: db, both: make(chan struct{})}
		svc := accounts.NewService(cfg, store, box, mailer, log, nil)
		newEmail := name + "@new.example.com"
		var wg sync.WaitGroup
		var pwErr, emailErr error
		wg.Go(func() { pwErr = svc.ChangePassword(ctx, u.ID, "", "Passw0rd!", "N3w-passw0rd!", "test") })
		wg.Go(func() {
			_, emailErr = svc.Update(ctx, u.ID, accounts.UpdateInput{Email: &newEmail, CurrentPassword: "Passw0rd!"})
		})
		wg.Wait()
		if pwErr != nil || emailErr != nil {
			t.Fatalf("round %d: password change: %v; email change: %v", i, pwErr, emailErr)
		}
		got, err := db.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.PendingEmail != newEmail {
			t.Errorf("round %d: pending email %q, want %q (the email change was undone)", i, got.PendingEmail, newEmail)
		}
		if _, _, err := setup.Login(ctx, name, "N3w-passw0rd!", "test"); err != nil {
			t.Errorf("round %d: the new password does not sign in (the password change was undone): %v", i, err)
		}
	}
}

// mailbox keeps the mail the service sends.
type mailbox struct {
	mu   sync.Mutex
	mail []accounts.Mail
}

func (m *mailbox) Send(_ context.Context, msg accounts.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mail = append(m.mail, msg)
	return nil
}
