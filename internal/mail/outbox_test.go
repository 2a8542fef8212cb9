package mail

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOutboxSend(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox") // not there yet: Send creates it
	rec := &recorder{}
	o := NewOutbox(dir, "Livehouse <noreply@live.example>", slog.New(rec))
	o.now = func() time.Time { return testTime.In(time.FixedZone("CET", 3600)) }

	m := Message{
		To: "Ada <ada@example.com>", Subject: "Verify your email",
		Text: "Open this link:\n" + testLink, HTML: `<a href="` + testLink + `">Verify</a>`, Link: testLink,
	}
	if err := o.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	// The same clock reading again must not overwrite the first file.
	if err := o.Send(t.Context(), m); err != nil {
		t.Fatalf("second Send: %v", err)
	}

	want := []string{
		"20260304T050607.000000008Z-ada@example.com.eml",
		"20260304T050607.000000009Z-ada@example.com.eml",
	}
	if diff := cmp.Diff(want, listDir(t, dir)); diff != "" {
		t.Fatalf("outbox files (-want +got):\n%s", diff)
	}

	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.Mode().Perm(), fs.FileMode(0o700); got != want {
		t.Errorf("outbox mode = %v, want %v", got, want)
	}
	file := filepath.Join(dir, want[0])
	info, err = os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.Mode().Perm(), fs.FileMode(0o600); got != want {
		t.Errorf("mail file mode = %v, want %v", got, want)
	}

	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	got := parse(t, raw)
	wantMsg := parsed{
		From: `"Livehouse" <noreply@live.example>`, To: `"Ada" <ada@example.com>`, Subject: "Verify your email",
		Date: "Wed, 04 Mar 2026 05:06:07 +0000", MIMEVersion: "1.0", ContentType: "multipart/alternative",
		Parts: []part{
			{"text/plain; charset=utf-8", "8bit", "Open this link:\r\n" + testLink + "\r\n"},
			{"text/html; charset=utf-8", "8bit", `<a href="` + testLink + `">Verify</a>` + "\r\n"},
		},
	}
	if diff := cmp.Diff(wantMsg, got); diff != "" {
		t.Errorf("mail in outbox (-want +got):\n%s", diff)
	}
	if !hasLine(raw, testLink) {
		t.Errorf("link is not intact on a line of its own in %s:\n%s", file, raw)
	}

	var wantLog []map[string]string
	for _, name := range want {
		wantLog = append(wantLog, map[string]string{
			"level": "INFO", "msg": "mail written to outbox",
			"to": m.To, "subject": m.Subject, "file": filepath.Join(dir, name),
		})
	}
	if diff := cmp.Diff(wantLog, rec.records()); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}

func TestOutboxRefusesInjection(t *testing.T) {
	dir := t.TempDir()
	o := NewOutbox(dir, "noreply@live.example", nil)
	err := o.Send(t.Context(), Message{To: "ada@example.com\r\nBcc: eve@example.com", Subject: "Hi", Text: "x"})
	if !errors.Is(err, ErrHeaderInjection) {
		t.Errorf("Send: got %v, want %v", err, ErrHeaderInjection)
	}
	if got := listDir(t, dir); len(got) != 0 {
		t.Errorf("refused mail left files: %v", got)
	}
}

func TestOutboxCancelled(t *testing.T) {
	dir := t.TempDir()
	o := NewOutbox(dir, "noreply@live.example", nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := o.Send(ctx, Message{To: "ada@example.com", Subject: "Hi", Text: "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Send: got %v, want %v", err, context.Canceled)
	}
	if got := listDir(t, dir); len(got) != 0 {
		t.Errorf("cancelled Send left files: %v", got)
	}
}

// TestOutboxConcurrent sends from many goroutines at once, on a clock that never moves:
// every mail must land in its own complete file, and no temporary file may be left behind.
func TestOutboxConcurrent(t *testing.T) {
	dir := t.TempDir()
	o := NewOutbox(dir, "noreply@live.example", nil)
	o.now = func() time.Time { return testTime }
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- o.Send(t.Context(), Message{To: "ada@example.com", Subject: fmt.Sprint("mail ", i), Text: "x"})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	files := listDir(t, dir)
	if len(files) != n {
		t.Fatalf("got %d files, want %d: %v", len(files), n, files)
	}
	subjects := map[string]bool{}
	for _, f := range files {
		if filepath.Ext(f) != ".eml" || f[0] == '.' {
			t.Errorf("unexpected file %q", f)
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		subjects[parse(t, raw).Subject] = true
	}
	if len(subjects) != n {
		t.Errorf("got %d distinct mails, want %d", len(subjects), n)
	}
}

func TestSanitise(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ada@example.com", "ada@example.com"},
		{"Ada <ada+live@example.com>", "ada+live@example.com"},
		{"../../etc/passwd", "_.._etc_passwd"},
		{`"a/b\\c"@example.com`, "a_b_c@example.com"},
		{"zoë@example.com", "zo_@example.com"},
		{"", "unknown"},
	}
	for _, tt := range tests {
		if got := sanitise(tt.in); got != tt.want {
			t.Errorf("sanitise(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read outbox: %v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// recorder is a slog.Handler that keeps each record as a map of its attributes.
type recorder struct {
	mu   sync.Mutex
	recs []map[string]string
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	m := map[string]string{"level": rec.Level.String(), "msg": rec.Message}
	rec.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	r.recs = append(r.recs, m)
	r.mu.Unlock()
	return nil
}

func (r *recorder) records() []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]string(nil), r.recs...)
}
