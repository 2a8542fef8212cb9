package recordings_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/recordings"
	"github.com/livehouse/livehouse/internal/storage"
)

// memStore is an in-memory recordings.Store.
type memStore struct {
	mu   sync.Mutex
	recs map[string]*recordings.Recording
	off  map[string]bool
}

func newMemStore() *memStore {
	return &memStore{recs: map[string]*recordings.Recording{}, off: map[string]bool{}}
}

func (m *memStore) CreateRecording(_ context.Context, r *recordings.Recording) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *r
	m.recs[r.ID] = &c
	return nil
}
func (m *memStore) FinishRecording(_ context.Context, id string, at time.Time, p recordings.Progress) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.recs[id]
	r.Status, r.EndedAt, r.Duration, r.Segments, r.Bytes = recordings.StatusComplete, at, p.Duration, p.Segments, p.Bytes
	return nil
}
func (m *memStore) Recording(_ context.Context, id string) (*recordings.Recording, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[id]
	if !ok {
		return nil, recordings.ErrNotFound
	}
	c := *r
	return &c, nil
}
func (m *memStore) list(keep func(*recordings.Recording) bool) []*recordings.Recording {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*recordings.Recording
	for _, r := range m.recs {
		if keep(r) {
			c := *r
			out = append(out, &c)
		}
	}
	return out
}
func (m *memStore) ChannelRecordings(_ context.Context, ch string, withHidden bool, _ int) ([]*recordings.Recording, error) {
	return m.list(func(r *recordings.Recording) bool {
		return r.ChannelID == ch && r.Status == recordings.StatusComplete && (withHidden || !r.Hidden)
	}), nil
}
func (m *memStore) UpdateRecording(_ context.Context, id, title string, hidden bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs[id].Title, m.recs[id].Hidden = title, hidden
	return nil
}
func (m *memStore) DeleteRecording(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.recs, id)
	return nil
}
func (m *memStore) UnfinishedRecordings(context.Context, string, time.Time, int) ([]*recordings.Recording, error) {
	return m.list(func(r *recordings.Recording) bool { return r.Status == recordings.StatusRecording }), nil
}
func (m *memStore) ExpiredRecordings(_ context.Context, before time.Time, _ int) ([]*recordings.Recording, error) {
	return m.list(func(r *recordings.Recording) bool {
		return r.Status == recordings.StatusComplete && r.EndedAt.Before(before)
	}), nil
}
func (m *memStore) UserRecordings(_ context.Context, user string, _ int) ([]*recordings.Recording, error) {
	return m.list(func(r *recordings.Recording) bool { return r.UserID == user }), nil
}
func (m *memStore) UserRecordingBytes(_ context.Context, user string) (int64, error) {
	var n int64
	for _, r := range m.list(func(r *recordings.Recording) bool { return r.UserID == user }) {
		n += r.Bytes
	}
	return n, nil
}
func (m *memStore) RecordingEnabled(_ context.Context, ch string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.off[ch], nil
}
func (m *memStore) SetRecordingEnabled(_ context.Context, ch string, on bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.off[ch] = !on
	return nil
}

// stubFinisher reports what a recording's prefix holds.
type stubFinisher struct{ segments map[string]int }

func (f stubFinisher) Finish(_ context.Context, prefix string) (recordings.Progress, error) {
	n := f.segments[prefix]
	return recordings.Progress{Segments: n, Duration: time.Duration(n) * 4 * time.Second}, nil
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func setup(t *testing.T, enabled bool, fin recordings.Finisher) (*recordings.Service, *memStore, storage.Store, *time.Time) {
	t.Helper()
	media, err := storage.NewFolder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	store := newMemStore()
	now := t0
	if fin == nil {
		fin = stubFinisher{}
	}
	svc := recordings.NewService(recordings.Deps{Store: store, Media: media, Finisher: fin, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return now }, Enabled: enabled})
	return svc, store, media, &now
}

func putMedia(t *testing.T, media storage.Store, r *recordings.Recording) {
	t.Helper()
	if err := media.Put(context.Background(), r.Prefix+"video1/seg.m4s", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
}

func stored(t *testing.T, media storage.Store) int {
	t.Helper()
	objs, err := media.List(context.Background(), "", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	return len(objs)
}

func TestShouldRecord(t *testing.T) {
	ctx := context.Background()
	svc, _, _, _ := setup(t, true, nil)
	if on, _ := svc.ShouldRecord(ctx, "ch1", "u1"); !on {
		t.Error("a channel records by default")
	}
	if err := svc.SetChannelRecording(ctx, "ch1", false); err != nil {
		t.Fatal(err)
	}
	if on, _ := svc.ShouldRecord(ctx, "ch1", "u1"); on {
		t.Error("a channel that turned recording off records")
	}
	off, _, _, _ := setup(t, false, nil)
	if on, _ := off.ShouldRecord(ctx, "ch2", "u2"); on {
		t.Error("the operator turned recording off, and a channel records")
	}
}

func TestEmptyRecordingIsRemoved(t *testing.T) {
	ctx := context.Background()
	svc, store, media, _ := setup(t, true, nil)
	r, err := svc.Begin(ctx, "st-1", "ch1", "u1", t0)
	if err != nil {
		t.Fatal(err)
	}
	putMedia(t, media, r) // meta.json, say
	if err := svc.End(ctx, "st-1", recordings.Progress{}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Recording(ctx, "st-1"); !errors.Is(err, recordings.ErrNotFound) || stored(t, media) != 0 {
		t.Errorf("a recording of nothing is kept: %v, %d objects", err, stored(t, media))
	}
}

func TestPurgeAndDeleteUser(t *testing.T) {
	ctx := context.Background()
	svc, store, media, now := setup(t, true, nil)
	for i, id := range []string{"st-old", "st-new", "st-other"} {
		user := "u1"
		if id == "st-other" {
			user = "u2"
		}
		r, _ := svc.Begin(ctx, id, "ch-"+user, user, t0)
		putMedia(t, media, r)
		*now = t0.Add(time.Duration(i) * 24 * time.Hour)
		if err := svc.End(ctx, id, recordings.Progress{Segments: 1}); err != nil {
			t.Fatal(err)
		}
	}
	*now = t0.Add(10 * 24 * time.Hour)
	n, err := svc.Purge(ctx, 9*24*time.Hour+time.Hour) // ended before day 0 + 23 h: st-old only
	if err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v; want 1", n, err)
	}
	if _, err := store.Recording(ctx, "st-old"); !errors.Is(err, recordings.ErrNotFound) || stored(t, media) != 2 {
		t.Errorf("after Purge: %v, %d objects", err, stored(t, media))
	}
	if err := svc.DeleteUser(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Recording(ctx, "st-new"); !errors.Is(err, recordings.ErrNotFound) || stored(t, media) != 1 {
		t.Errorf("after DeleteUser: %v, %d objects", err, stored(t, media))
	}
	if _, err := store.Recording(ctx, "st-other"); err != nil {
		t.Errorf("another user's recording: %v", err)
	}
}

func TestFinishAbandoned(t *testing.T) {
	ctx := context.Background()
	fin := stubFinisher{segments: map[string]int{recordings.Prefix("ch1", "st-a"): 3}}
	svc, store, _, _ := setup(t, true, fin)
	for _, id := range []string{"st-a", "st-b", "st-c"} {
		if _, err := svc.Begin(ctx, id, "ch1", "u1", t0); err != nil {
			t.Fatal(err)
		}
	}
	// st-c is being finished by this node's recorder.
	n, err := svc.FinishAbandoned(ctx, "node-1", func(id string) bool { return id == "st-c" })
	if err != nil || n != 1 {
		t.Fatalf("FinishAbandoned = %d, %v; want 1 (st-b stored nothing, st-c is busy)", n, err)
	}
	if r, err := store.Recording(ctx, "st-c"); err != nil || r.Status != recordings.StatusRecording {
		t.Errorf("st-c, being finished by the recorder: %+v, %v; want it left alone", r, err)
	}
	r, err := store.Recording(ctx, "st-a")
	if err != nil || r.Status != recordings.StatusComplete || r.Duration != 12*time.Second || !r.EndedAt.Equal(t0.Add(12*time.Second)) {
		t.Errorf("st-a = %+v, %v", r, err)
	}
	if _, err := store.Recording(ctx, "st-b"); !errors.Is(err, recordings.ErrNotFound) {
		t.Errorf("st-b, which stored nothing: %v", err)
	}
}

func TestDeleteWhileRecording(t *testing.T) {
	ctx := context.Background()
	svc, _, _, _ := setup(t, true, nil)
	if _, err := svc.Begin(ctx, "st-1", "ch1", "u1", t0); err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, "u1", "st-1"); !errors.Is(err, problem.ErrConflict) {
		t.Errorf("Delete while recording = %v, want a conflict", err)
	}
	if err := svc.Delete(ctx, "u2", "st-1"); !errors.Is(err, problem.ErrForbidden) {
		t.Errorf("Delete by another user = %v, want forbidden", err)
	}
}

func TestQuota(t *testing.T) {
	ctx := context.Background()
	media, _ := storage.NewFolder(t.TempDir())
	store := newMemStore()
	svc := recordings.NewService(recordings.Deps{Store: store, Media: media, Finisher: stubFinisher{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Enabled: true, Quota: 1000})
	if _, err := svc.Begin(ctx, "st-1", "ch1", "u1", t0); err != nil {
		t.Fatal(err)
	}
	if err := svc.End(ctx, "st-1", recordings.Progress{Segments: 1, Bytes: 999}); err != nil {
		t.Fatal(err)
	}
	if on, err := svc.ShouldRecord(ctx, "ch1", "u1"); !on || err != nil {
		t.Errorf("under quota: %v, %v", on, err)
	}
	if _, err := svc.Begin(ctx, "st-2", "ch1", "u1", t0); err != nil {
		t.Fatal(err)
	}
	if err := svc.End(ctx, "st-2", recordings.Progress{Segments: 1, Bytes: 1}); err != nil {
		t.Fatal(err)
	}
	if on, err := svc.ShouldRecord(ctx, "ch1", "u1"); on || !errors.Is(err, recordings.ErrQuota) {
		t.Errorf("at quota: %v, %v; want ErrQuota", on, err)
	}
	if on, err := svc.ShouldRecord(ctx, "ch2", "u2"); !on || err != nil {
		t.Errorf("another user: %v, %v", on, err)
	}
}

func (m *memStore) AddChatLine(context.Context, string, recordings.ChatLine) error { return nil }
func (m *memStore) DeleteChatLines(context.Context, string, string, string) error  { return nil }
func (m *memStore) ChatLines(context.Context, string, time.Duration, time.Duration, int) ([]recordings.ChatLine, error) {
	return nil, nil
}
