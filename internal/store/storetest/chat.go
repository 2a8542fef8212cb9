package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/chat"
)

// Chat tokens are single-use, refused once expired, and purged once expired whether used
// or not.
func testChatTokens(t *testing.T, s Store) {
	ctx := context.Background()
	for _, tc := range []struct {
		hash    string
		expires time.Time
	}{
		{"old1", t0.Add(-time.Second)}, {"old2", t0}, {"live", t0.Add(time.Minute)}, {"taken", t0.Add(time.Minute)},
	} {
		if err := s.CreateChatToken(ctx, tc.hash, `{"RoomID":"r"}`, tc.expires); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.TakeChatToken(ctx, "taken", t0.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	n, err := s.PurgeChatTokens(ctx, t0)
	if err != nil || n != 2 {
		t.Errorf("PurgeChatTokens = %d, %v; want the 2 expired", n, err)
	}
	if n, err := s.PurgeChatTokens(ctx, t0); err != nil || n != 0 {
		t.Errorf("second PurgeChatTokens = %d, %v; want 0", n, err)
	}
	if got, err := s.TakeChatToken(ctx, "live", t0); err != nil || got != `{"RoomID":"r"}` {
		t.Errorf("the unexpired token: TakeChatToken = %q, %v", got, err)
	}
	if _, err := s.TakeChatToken(ctx, "taken", t0); !errors.Is(err, chat.ErrInvalidToken) {
		t.Errorf("second TakeChatToken: got %v, want ErrInvalidToken", err)
	}
}
