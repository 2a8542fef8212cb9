package main

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/store/sqlite"
)

// TestUnverifiedAccountCannotGoLive: the stream key of an account whose email is not
// verified is refused over RTMP and WHIP (403 AccountNotVerified), so its channel is never
// listed; once an operator verifies it, the same key goes live.
func TestUnverifiedAccountCannotGoLive(t *testing.T) {
	t.Parallel()
	e := newKeyAccess(t, nil) // signed up verified, to learn the key

	// The account loses its verification (as one signed up with auto_verify off would be).
	db, err := sqlite.Open(context.Background(), filepath.Join(e.dir, "livehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.SQL().Exec(`UPDATE users SET email_verified_at = NULL WHERE username = 'streamer'`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	if refused, out := e.refusedOverRTMP(); !refused {
		t.Errorf("RTMP: the unverified account's key was accepted: %s", out)
	}
	if status, code := e.whipWithKey(); status != 403 || code != "AccountNotVerified" {
		t.Errorf("WHIP with the unverified account's key: %d %s, want 403 AccountNotVerified", status, code)
	}
	if live := e.liveChannels(); len(live) != 0 {
		t.Errorf("directory lists %v", live)
	}

	// Verified by the operator, the same key goes live and is listed.
	if out, err := e.operator("verify", "streamer"); err != nil {
		t.Fatalf("user verify: %v\n%s", err, out)
	}
	e.goLive()
	waitFor(t, 30*time.Second, "the verified channel to be listed live", func() bool {
		return slices.Equal(e.liveChannels(), []string{"streamer"})
	})
}
