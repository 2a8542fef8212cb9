package streams

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/livehouse/livehouse/internal/media/stream"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"abcdefghij", 8, "abcde…"},
		{"ab€cdef", 6, "ab…"}, // the euro sign (3 bytes) would be cut: it goes whole
		{"€€€", 5, "…"},
	}
	for _, tt := range tests {
		if got := Truncate(tt.s, tt.n); got != tt.want || !utf8.ValidString(got) || len(got) > max(tt.n, len("…")) {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

// TestFailureReasonIsJSON: a reason holding a control character, quotes and a multi-byte
// character where the cut falls (ffmpeg's error text) is recorded as valid JSON, which the
// health page reads back.
func TestFailureReasonIsJSON(t *testing.T) {
	s, store, _ := newService(t)
	s.starveAfter = time.Hour
	prefix := "ffmpeg: \x1b[31mError\x1b[0m \"bad\" \\ "
	cut := MaxReasonBytes - len("…")
	// An é (2 bytes) starts one byte before the cut, so a byte cut would split it.
	reason := prefix + strings.Repeat("x", cut-1-len(prefix)) + strings.Repeat("é", 20)
	if utf8.RuneStart(reason[cut]) {
		t.Fatal("the cut does not fall inside a character")
	}
	s.outputs = []Output{&fakeOutput{reports: []Report{{Kind: ReportFailure, Reason: reason}}}}
	ctx := context.Background()
	ch, err := s.Authorize(ctx, "sk_key")
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.Begin(ctx, ch, stream.New(stream.Tracks{H264: &stream.H264{}}), func() {})
	if err != nil {
		t.Fatal(err)
	}
	defer l.End("test over")
	for _, want := range []string{EventSessionCreated, EventStreamFailure} {
		if got := store.next(t); got != want {
			t.Fatalf("event %s, want %s", got, want)
		}
	}

	store.mu.Lock()
	var detail string
	for _, e := range store.events {
		if e.Name == EventStreamFailure {
			detail = e.Detail
		}
	}
	store.mu.Unlock()
	if !json.Valid([]byte(detail)) {
		t.Fatalf("detail %q is not JSON", detail)
	}
	e := Event{Name: EventStreamFailure, Detail: detail}
	got := e.ParseDetail().Reason
	if want := prefix + strings.Repeat("x", cut-1-len(prefix)) + "…"; got != want || !utf8.ValidString(got) || len(got) > MaxReasonBytes {
		t.Errorf("reason read back as %q, want %q", got, want)
	}
	if msg := Describe(&e).Message; !strings.Contains(msg, "\"bad\"") {
		t.Errorf("health page message %q lacks the reason", msg)
	}
}

// The recorder's events read as the health page shows them, with their reasons and counts.
func TestDescribeRecordingEvents(t *testing.T) {
	for _, tt := range []struct {
		e               Event
		label, severity string
		messageContains string
	}{
		{Event{Name: EventRecordingStart}, "Recording started", SeverityNone, ""},
		{Event{Name: EventRecordingEnd, Detail: `{"recording_duration_ms":20000}`}, "Recording ended", SeverityNone, ""},
		{Event{Name: EventRecordingFailure, Detail: `{"recording_status_reason":"quota full"}`}, "Recording start failure", SeverityError, "quota full"},
		{Event{Name: EventRecordingDropped, Detail: `{"recording_segments_dropped":3}`}, "Recording gaps", SeverityWarning, "3 segments"},
	} {
		d := Describe(&tt.e)
		if d.Label != tt.label || d.Severity != tt.severity || !strings.Contains(d.Message, tt.messageContains) {
			t.Errorf("Describe(%s) = %+v", tt.e.Name, d)
		}
	}
}
