// Package storetest is the acceptance suite every SQL dialect's store must pass.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/actions"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/chat"
	"github.com/livehouse/livehouse/internal/polls"
	"github.com/livehouse/livehouse/internal/recordings"
	"github.com/livehouse/livehouse/internal/stages"
	"github.com/livehouse/livehouse/internal/streams"
)

// Store is everything the suite exercises.
type Store interface {
	accounts.Store
	channels.Store
	ChannelByStreamKeyHash(ctx context.Context, hash string) (*streams.Channel, error)
	OpenStreamSession(ctx context.Context, id, channelID, node string, at time.Time) error
	StartStreamSession(ctx context.Context, id string, at time.Time) error
	EndStreamSession(ctx context.Context, id string, at time.Time) error
	EndOrphanedStreamSessions(ctx context.Context, node string, at time.Time) (map[string]streams.EndedSession, error)
	streams.LeaseStore
	actions.Store
	AddStreamEvent(ctx context.Context, e *streams.Event) error
	SetIngestConfig(ctx context.Context, sessionID, config string) error
	streams.HealthStore
	chat.TokenStore
	SetNodeURL(ctx context.Context, node, url string) error
	LiveOrigin(ctx context.Context, channelID string, at time.Time) (streams.Origin, bool, error)
	recordings.Store
	polls.Store
	chat.SettingsStore
	stages.Store
	StageNode(ctx context.Context, by stages.Lookup, at time.Time) (string, bool, error)
}

// Run runs the suite; open returns a fresh, empty, migrated store for each test.
func Run(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"CreateAndRead", testCreateAndRead},
		{"UniqueIgnoringCase", testUnique},
		{"UpdateUser", testUpdate},
		{"NarrowUpdates", testNarrowUpdates},
		{"DeleteCascades", testDeleteCascades},
		{"Sessions", testSessions},
		{"CodesAreSingleUse", testCodes},
		{"DeleteUnverified", testDeleteUnverified},
		{"ProfilesAndAppearance", testProfiles},
		{"StreamKeyReplace", testStreamKeyReplace},
		{"ChannelType", testChannelType},
		{"FollowingOrder", testFollowingOrder},
		{"Directory", testDirectory},
		{"UnverifiedNotLive", testUnverifiedNotLive},
		{"Bans", testBans},
		{"Assets", testAssets},
		{"OrphanedSessions", testOrphanedSessions},
		{"ActionConfigs", testActionConfigs},
		{"StreamSessionList", testStreamSessionList},
		{"StreamSessionFlags", testStreamSessionFlags},
		{"StreamEventsCapped", testStreamEventsCapped},
		{"StreamEventsConcurrent", testStreamEventsConcurrent},
		{"StreamMetrics", testStreamMetrics},
		{"StreamRetention", testStreamRetention},
		{"OneOpenSessionPerChannel", testOneOpenSessionPerChannel},
		{"NodeLeases", testNodeLeases},
		{"NodeStreamSessions", testNodeStreamSessions},
		{"LiveOrigin", testLiveOrigin},
		{"Suspension", testSuspension},
		{"ChatTokens", testChatTokens},
		{"Recordings", testRecordings},
		{"ChatReplay", testChatReplay},
		{"Privacy", testPrivacy},
		{"Invites", testInvites},
		{"StreamInfo", testStreamInfo},
		{"Categories", testCategories},
		{"DirectorySearch", testDirectorySearch},
		{"SearchStaleness", testSearchStaleness},
		{"DirectoryPages", testDirectoryPages},
		{"SearchFillsPagePastHidden", testSearchFillsPagePastHidden},
		{"Polls", testPolls},
		{"PollConcurrentVotes", testPollConcurrentVotes},
		{"ChatSettings", testChatSettings},
		{"Stages", testStages},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

var box = func() *channels.KeyBox {
	b, err := channels.NewKeyBox(make([]byte, 32))
	if err != nil {
		panic(err)
	}
	return b
}()

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func newAccount(name, email string, verified bool) (*accounts.User, *channels.Channel) {
	u := &accounts.User{
		ID: "u_" + name, Username: name, Email: email, PasswordHash: "$argon2id$x",
		Color: "salmon", Avatar: "bird", CreatedAt: t0, UpdatedAt: t0,
	}
	if verified {
		v := t0.Add(time.Minute)
		u.EmailVerifiedAt = &v
	}
	return u, channels.New(box, u.ID, channels.TypeBasic, t0)
}

func mustCreate(t *testing.T, s Store, name, email string, verified bool) (*accounts.User, *channels.Channel) {
	t.Helper()
	u, ch := newAccount(name, email, verified)
	if err := s.CreateAccount(context.Background(), u, ch); err != nil {
		t.Fatalf("CreateAccount(%s): %v", name, err)
	}
	return u, ch
}

func testCreateAndRead(t *testing.T, s Store) {
	ctx := context.Background()
	u, ch := mustCreate(t, s, "Alice.B", "Alice@Example.com", true)

	for _, login := range []string{"Alice.B", "alice.b", "ALICE.B", "alice@example.com", "ALICE@EXAMPLE.COM"} {
		got, err := s.UserByLogin(ctx, login)
		if err != nil {
			t.Fatalf("UserByLogin(%q): %v", login, err)
		}
		if diff := cmp.Diff(u, got); diff != "" {
			t.Errorf("UserByLogin(%q) mismatch (-want +got):\n%s", login, diff)
		}
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(u, got); diff != "" {
		t.Errorf("UserByID mismatch (-want +got):\n%s", diff)
	}
	if _, err := s.UserByLogin(ctx, "nobody"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("UserByLogin(nobody) = %v, want ErrNotFound", err)
	}

	gotCh, err := s.ChannelByUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := *ch
	want.StreamKey = "" // only the sealed form and the hash are stored
	if diff := cmp.Diff(&want, gotCh); diff != "" {
		t.Errorf("ChannelByUser mismatch (-want +got):\n%s", diff)
	}
	if key, err := box.Open(gotCh.StreamKeySealed); err != nil || key != ch.StreamKey {
		t.Errorf("stored key opens to %q, %v; want %q", key, err, ch.StreamKey)
	}
	users, err := s.ListUsers(ctx)
	if err != nil || len(users) != 1 {
		t.Errorf("ListUsers = %d users, %v; want 1", len(users), err)
	}
}

func testUnique(t *testing.T, s Store) {
	ctx := context.Background()
	mustCreate(t, s, "alice", "alice@example.com", true)
	tests := []struct {
		name, username, email string
		want                  error
	}{
		{"same username other case", "ALICE", "other@example.com", accounts.ErrUsernameTaken},
		{"same email other case", "alice2", "Alice@Example.COM", accounts.ErrEmailTaken},
	}
	for _, tt := range tests {
		u, ch := newAccount(tt.username, tt.email, true)
		u.ID += "-dup"
		ch.UserID = u.ID
		if err := s.CreateAccount(ctx, u, ch); !errors.Is(err, tt.want) {
			t.Errorf("%s: CreateAccount = %v, want %v", tt.name, err, tt.want)
		}
		// The failed transaction left nothing behind.
		if _, err := s.UserByID(ctx, u.ID); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("%s: user exists after failed create: %v", tt.name, err)
		}
		if _, err := s.ChannelByUser(ctx, u.ID); !errors.Is(err, channels.ErrNotFound) {
			t.Errorf("%s: channel exists after failed create: %v", tt.name, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func testUpdate(t *testing.T, s Store) {
	ctx := context.Background()
	alice, _ := mustCreate(t, s, "alice", "alice@example.com", false)
	mustCreate(t, s, "bobby", "bob@example.com", true)

	v := t0.Add(time.Hour)
	if err := s.UpdateUser(ctx, alice.ID, accounts.UserChange{Username: ptr("Alice_2"), PendingEmail: ptr("new@example.com"), VerifiedAt: &v, UpdatedAt: v}); err != nil {
		t.Fatal(err)
	}
	alice.Username, alice.PendingEmail, alice.EmailVerifiedAt, alice.UpdatedAt = "Alice_2", "new@example.com", &v, v
	got, err := s.UserByLogin(ctx, "alice_2")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(alice, got); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}
	if _, err := s.UserByLogin(ctx, "alice"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("old username still resolves: %v", err)
	}

	if err := s.UpdateUser(ctx, alice.ID, accounts.UserChange{Username: ptr("BOBBY"), UpdatedAt: v}); !errors.Is(err, accounts.ErrUsernameTaken) {
		t.Errorf("rename to taken username = %v, want ErrUsernameTaken", err)
	}
	if err := s.UpdateUser(ctx, alice.ID, accounts.UserChange{Email: ptr("BOB@example.com"), UpdatedAt: v}); !errors.Is(err, accounts.ErrEmailTaken) {
		t.Errorf("change to taken email = %v, want ErrEmailTaken", err)
	}
	if inUse, err := s.EmailInUse(ctx, "Bob@Example.com", alice.ID); err != nil || !inUse {
		t.Errorf("EmailInUse(bob) = %v, %v; want true", inUse, err)
	}
	if inUse, err := s.EmailInUse(ctx, "alice@example.com", alice.ID); err != nil || inUse {
		t.Errorf("EmailInUse(own) = %v, %v; want false", inUse, err)
	}
	if err := s.UpdateUser(ctx, "u_ghost", accounts.UserChange{Username: ptr("ghost"), UpdatedAt: v}); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("UpdateUser(unknown) = %v, want ErrNotFound", err)
	}
	if got, _ := s.UserByID(ctx, alice.ID); cmp.Diff(alice, got) != "" {
		t.Errorf("refused updates changed the account (-want +got):\n%s", cmp.Diff(alice, got))
	}
}

// testNarrowUpdates: an update writes only the columns it names, so two changes made from
// copies read at the same time both survive; a verification keeps the first time; a guarded
// change whose guard no longer holds changes nothing.
func testNarrowUpdates(t *testing.T, s Store) {
	ctx := context.Background()
	u, _ := mustCreate(t, s, "carol", "carol@example.com", false)
	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	if err := s.UpdateUser(ctx, u.ID, accounts.UserChange{PasswordHash: ptr("$argon2id$new"), UpdatedAt: t1}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateUser(ctx, u.ID, accounts.UserChange{PendingEmail: ptr("carol2@example.com"), UpdatedAt: t1}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateUser(ctx, u.ID, accounts.UserChange{VerifiedAt: &t1, UpdatedAt: t1}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateUser(ctx, u.ID, accounts.UserChange{VerifiedAt: &t2, UpdatedAt: t2}); err != nil {
		t.Fatal(err)
	}
	// A confirmation guarded by an address that is no longer pending changes nothing.
	if err := s.UpdateUser(ctx, u.ID, accounts.UserChange{Email: ptr("old@example.com"), PendingEmail: ptr(""), IfPendingEmail: ptr("old@example.com"), UpdatedAt: t2}); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("update with a stale guard = %v, want ErrNotFound", err)
	}
	want := *u
	want.PasswordHash, want.PendingEmail, want.EmailVerifiedAt, want.UpdatedAt = "$argon2id$new", "carol2@example.com", &t1, t2
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("after narrow updates (-want +got):\n%s", diff)
	}
	// The guard that holds applies.
	if err := s.UpdateUser(ctx, u.ID, accounts.UserChange{Email: ptr("carol2@example.com"), PendingEmail: ptr(""), IfPendingEmail: ptr("carol2@example.com"), UpdatedAt: t2}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByLogin(ctx, "CAROL2@example.com"); got == nil || got.ID != u.ID || got.PendingEmail != "" || got.PasswordHash != "$argon2id$new" {
		t.Errorf("after the confirmed email change: %+v", got)
	}
}

func testDeleteCascades(t *testing.T, s Store) {
	ctx := context.Background()
	u, _ := mustCreate(t, s, "alice", "alice@example.com", true)
	other, _ := mustCreate(t, s, "bobby", "bob@example.com", true)
	for _, id := range []string{u.ID, other.ID} {
		if err := s.CreateSession(ctx, &accounts.Session{TokenHash: "s-" + id, UserID: id, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateCode(ctx, &accounts.Code{Hash: "c-" + id, UserID: id, Purpose: accounts.PurposeSignup, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByID(ctx, u.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("user after delete: %v", err)
	}
	if _, err := s.ChannelByUser(ctx, u.ID); !errors.Is(err, channels.ErrNotFound) {
		t.Errorf("channel after delete: %v", err)
	}
	if _, err := s.SessionByHash(ctx, "s-"+u.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("session after delete: %v", err)
	}
	if _, err := s.TakeCode(ctx, "c-"+u.ID, accounts.PurposeSignup, t0); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("code after delete: %v", err)
	}
	// The other account is untouched.
	if _, err := s.SessionByHash(ctx, "s-"+other.ID); err != nil {
		t.Errorf("other user's session: %v", err)
	}
	if _, err := s.ChannelByUser(ctx, other.ID); err != nil {
		t.Errorf("other user's channel: %v", err)
	}
	// The name and address are free again.
	mustCreate(t, s, "alice", "alice@example.com", true)
	if err := s.DeleteUser(ctx, "u_nobody"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("DeleteUser(unknown) = %v, want ErrNotFound", err)
	}
}

func testSessions(t *testing.T, s Store) {
	ctx := context.Background()
	u, _ := mustCreate(t, s, "alice", "alice@example.com", true)
	for i := range 3 {
		sess := &accounts.Session{TokenHash: fmt.Sprint("h", i), UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Duration(i+1) * time.Hour)}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.SessionByHash(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	want := &accounts.Session{TokenHash: "h1", UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(2 * time.Hour)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SessionByHash (-want +got):\n%s", diff)
	}
	if err := s.DeleteExpired(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByHash(ctx, "h0"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("expired session h0 kept: %v", err)
	}
	if err := s.DeleteSessions(ctx, u.ID, "h2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByHash(ctx, "h1"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("h1 kept after DeleteSessions: %v", err)
	}
	if _, err := s.SessionByHash(ctx, "h2"); err != nil {
		t.Errorf("kept session h2 gone: %v", err)
	}
	if err := s.DeleteSession(ctx, "h2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByHash(ctx, "h2"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("h2 kept after DeleteSession: %v", err)
	}
}

func testCodes(t *testing.T, s Store) {
	ctx := context.Background()
	u, _ := mustCreate(t, s, "alice", "alice@example.com", false)
	code := &accounts.Code{Hash: "c1", UserID: u.ID, Purpose: accounts.PurposeEmailChange, Data: "new@example.com", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeCode(ctx, "c1", accounts.PurposePasswordReset, t0); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("TakeCode with the wrong purpose = %v, want ErrNotFound", err)
	}
	got, err := s.TakeCode(ctx, "c1", accounts.PurposeEmailChange, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(code, got); diff != "" {
		t.Errorf("TakeCode (-want +got):\n%s", diff)
	}
	if _, err := s.TakeCode(ctx, "c1", accounts.PurposeEmailChange, t0); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("second TakeCode = %v, want ErrNotFound", err)
	}

	expired := &accounts.Code{Hash: "c2", UserID: u.ID, Purpose: accounts.PurposeSignup, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateCode(ctx, expired); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeCode(ctx, "c2", accounts.PurposeSignup, t0.Add(time.Hour)); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("TakeCode(expired) = %v, want ErrNotFound", err)
	}

	for _, h := range []string{"c3", "c4"} {
		if err := s.CreateCode(ctx, &accounts.Code{Hash: h, UserID: u.ID, Purpose: accounts.PurposePasswordReset, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteCodes(ctx, u.ID, accounts.PurposePasswordReset); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeCode(ctx, "c3", accounts.PurposePasswordReset, t0); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("code c3 kept after DeleteCodes: %v", err)
	}
}

func testDeleteUnverified(t *testing.T, s Store) {
	ctx := context.Background()
	old, _ := mustCreate(t, s, "oldie", "old@example.com", false) // created at t0
	verified, _ := mustCreate(t, s, "veri", "veri@example.com", true)
	young, ch := newAccount("young", "young@example.com", false)
	young.CreatedAt = t0.Add(23 * time.Hour)
	if err := s.CreateAccount(ctx, young, ch); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteUnverified(ctx, t0.Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("DeleteUnverified = %d, %v; want 1", n, err)
	}
	if _, err := s.UserByID(ctx, old.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("old unverified account kept: %v", err)
	}
	for _, u := range []*accounts.User{verified, young} {
		if _, err := s.UserByID(ctx, u.ID); err != nil {
			t.Errorf("%s removed: %v", u.Username, err)
		}
	}
}

func testActionConfigs(t *testing.T, s Store) {
	ctx := context.Background()
	u, _ := mustCreate(t, s, "alice", "alice@example.com", true)
	other, _ := mustCreate(t, s, "bobby", "bob@example.com", true)
	if err := s.SaveActionConfig(ctx, u.ID, "quiz", json.RawMessage(`{"question":"a"}`), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveActionConfig(ctx, u.ID, "quiz", json.RawMessage(`{"question":"b"}`), t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveActionConfig(ctx, u.ID, "notice", json.RawMessage(`{"title":"t"}`), t0); err != nil {
		t.Fatal(err)
	}
	got, err := s.ActionConfigs(ctx, u.ID)
	if err != nil || len(got) != 2 || string(got["quiz"]) != `{"question":"b"}` || string(got["notice"]) != `{"title":"t"}` {
		t.Errorf("configs = %s, %v", got, err)
	}
	if theirs, _ := s.ActionConfigs(ctx, other.ID); len(theirs) != 0 {
		t.Errorf("another user's configs: %s", theirs)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ActionConfigs(ctx, u.ID); len(got) != 0 {
		t.Errorf("configs outlive their user: %s", got)
	}
}
