package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/recordings"
)

func recordingIDs(list []*recordings.Recording) []string {
	var out []string
	for _, r := range list {
		out = append(out, r.ID)
	}
	return out
}

func testRecordings(t *testing.T, s Store) {
	ctx := context.Background()
	ua, a := mustCreate(t, s, "alice", "alice@example.com", true)
	_, b := mustCreate(t, s, "bobby", "bob@example.com", true)

	// The channel's own switch: on by default.
	if on, err := s.RecordingEnabled(ctx, a.ID); err != nil || !on {
		t.Fatalf("RecordingEnabled = %v, %v; want on by default", on, err)
	}
	if err := s.SetRecordingEnabled(ctx, a.ID, false); err != nil {
		t.Fatal(err)
	}
	if on, _ := s.RecordingEnabled(ctx, a.ID); on {
		t.Error("RecordingEnabled after turning it off = true")
	}
	if on, _ := s.RecordingEnabled(ctx, b.ID); !on {
		t.Error("another channel's switch changed")
	}
	if _, err := s.RecordingEnabled(ctx, "nope"); !errors.Is(err, recordings.ErrNotFound) {
		t.Errorf("RecordingEnabled(unknown) err = %v", err)
	}

	for i, id := range []string{"st-1", "st-2", "st-3"} {
		mustOpenSession(t, s, id, a.ID, t0.Add(time.Duration(i)*time.Hour))
		if id != "st-3" { // st-1 and st-2's sessions end; st-3 is live
			if err := s.EndStreamSession(ctx, id, t0.Add(5*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		r := &recordings.Recording{ID: id, ChannelID: a.ID, UserID: ua.ID, Prefix: recordings.Prefix(a.ID, id), Status: recordings.StatusRecording, StartedAt: t0.Add(time.Duration(i) * time.Hour)}
		if err := s.CreateRecording(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// st-2's recorder finishes it; st-1's was lost with its node.
	p := recordings.Progress{Duration: 90 * time.Second, Bytes: 1234, Segments: 45, Dropped: 1, Poster: true}
	if err := s.FinishRecording(ctx, "st-2", t0.Add(time.Hour+95*time.Second), p); err != nil {
		t.Fatal(err)
	}
	// st-4's session ended on node-rec, whose recorder finishes it while it holds its lease.
	if err := s.OpenStreamSession(ctx, "st-4", b.ID, "node-rec", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.EndStreamSession(ctx, "st-4", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRecording(ctx, &recordings.Recording{ID: "st-4", ChannelID: b.ID, UserID: ua.ID, Prefix: recordings.Prefix(b.ID, "st-4"), Status: recordings.StatusRecording, StartedAt: t0.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.RenewNodeLease(ctx, "node-rec", t0.Add(time.Minute), t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		node string
		at   time.Time
		want []string
	}{
		{"node-other", t0.Add(90 * time.Second), []string{"st-1"}},        // node-rec holds its lease
		{"node-rec", t0.Add(90 * time.Second), []string{"st-4", "st-1"}},  // its own (it restarted)
		{"node-other", t0.Add(3 * time.Minute), []string{"st-4", "st-1"}}, // node-rec is gone
	} {
		un, err := s.UnfinishedRecordings(ctx, tt.node, tt.at, 10)
		if diff := cmp.Diff(tt.want, recordingIDs(un)); err != nil || diff != "" {
			t.Errorf("UnfinishedRecordings(%s, %v): %v (-want +got):\n%s", tt.node, tt.at, err, diff)
		}
	}
	if err := s.DeleteRecording(ctx, "st-4"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Recording(ctx, "st-2")
	if err != nil {
		t.Fatal(err)
	}
	want := &recordings.Recording{ID: "st-2", ChannelID: a.ID, UserID: ua.ID, Prefix: recordings.Prefix(a.ID, "st-2"), Status: recordings.StatusComplete,
		StartedAt: t0.Add(time.Hour), EndedAt: t0.Add(time.Hour + 95*time.Second), Duration: 90 * time.Second, Bytes: 1234, Segments: 45, Dropped: 1, Poster: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Recording (-want +got):\n%s", diff)
	}
	if _, err := s.Recording(ctx, "nope"); !errors.Is(err, recordings.ErrNotFound) {
		t.Errorf("Recording(unknown) err = %v", err)
	}
	if err := s.FinishRecording(ctx, "st-1", t0.Add(10*time.Second), recordings.Progress{}); err != nil {
		t.Fatal(err)
	}
	// Newest first; complete ones only; hidden ones for the owner only.
	list, err := s.ChannelRecordings(ctx, a.ID, false, 10)
	if diff := cmp.Diff([]string{"st-2", "st-1"}, recordingIDs(list)); err != nil || diff != "" {
		t.Errorf("ChannelRecordings: %v (-want +got):\n%s", err, diff)
	}
	if err := s.UpdateRecording(ctx, "st-2", "My stream", true); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateRecording(ctx, "nope", "x", false); !errors.Is(err, recordings.ErrNotFound) {
		t.Errorf("UpdateRecording(unknown) err = %v", err)
	}
	list, _ = s.ChannelRecordings(ctx, a.ID, false, 10)
	if diff := cmp.Diff([]string{"st-1"}, recordingIDs(list)); diff != "" {
		t.Errorf("ChannelRecordings without hidden (-want +got):\n%s", diff)
	}
	list, _ = s.ChannelRecordings(ctx, a.ID, true, 10)
	if diff := cmp.Diff([]string{"st-2", "st-1"}, recordingIDs(list)); diff != "" {
		t.Errorf("ChannelRecordings with hidden (-want +got):\n%s", diff)
	}
	if got, _ := s.Recording(ctx, "st-2"); got.Title != "My stream" || !got.Hidden {
		t.Errorf("after update: title %q hidden %v", got.Title, got.Hidden)
	}
	old, err := s.ExpiredRecordings(ctx, t0.Add(time.Minute), 10)
	if diff := cmp.Diff([]string{"st-1"}, recordingIDs(old)); err != nil || diff != "" {
		t.Errorf("ExpiredRecordings: %v (-want +got):\n%s", err, diff)
	}
	if n, err := s.UserRecordingBytes(ctx, ua.ID); err != nil || n != 1234 {
		t.Errorf("UserRecordingBytes = %d, %v; want 1234", n, err)
	}
	mine, _ := s.UserRecordings(ctx, ua.ID, 10)
	if diff := cmp.Diff([]string{"st-1", "st-2", "st-3"}, recordingIDs(mine)); diff != "" {
		t.Errorf("UserRecordings (-want +got):\n%s", diff)
	}
	if err := s.DeleteRecording(ctx, "st-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recording(ctx, "st-1"); !errors.Is(err, recordings.ErrNotFound) {
		t.Errorf("after DeleteRecording err = %v", err)
	}
}

func testChatReplay(t *testing.T, s Store) {
	ctx := context.Background()
	ua, a := mustCreate(t, s, "carol", "carol@example.com", true)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, id := range []string{"cr-1", "cr-2"} {
		if err := s.CreateRecording(ctx, &recordings.Recording{ID: id, ChannelID: a.ID, UserID: ua.ID, Prefix: recordings.Prefix(a.ID, id), Status: recordings.StatusRecording, StartedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	lines := []recordings.ChatLine{
		{MessageID: "m3", Offset: 30 * time.Second, SenderID: "u-b", Sender: `{"username":"bob"}`, Content: "third"},
		{MessageID: "m1", Offset: 1500 * time.Millisecond, SenderID: "u-a", Sender: `{"username":"ann"}`, Content: "first ✓"},
		{MessageID: "m2", Offset: 10 * time.Second, SenderID: "u-b", Sender: `{"username":"bob"}`, Content: "second"},
		{MessageID: "m4", Offset: 40 * time.Second, SenderID: "u-a", Sender: `{"username":"ann"}`, Content: "fourth"},
	}
	for _, l := range lines {
		if err := s.AddChatLine(ctx, "cr-1", l); err != nil {
			t.Fatal(err)
		}
	}
	// A line kept twice (the bus delivers at least once) stays one line.
	if err := s.AddChatLine(ctx, "cr-1", lines[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.AddChatLine(ctx, "cr-2", recordings.ChatLine{MessageID: "m1", Offset: time.Second, SenderID: "u-a", Sender: "{}", Content: "other recording"}); err != nil {
		t.Fatal(err)
	}
	ids := func(from, to time.Duration, limit int) []string {
		t.Helper()
		got, err := s.ChatLines(ctx, "cr-1", from, to, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range got {
			out = append(out, l.MessageID)
		}
		return out
	}
	for _, tt := range []struct {
		from, to time.Duration
		limit    int
		want     []string
	}{
		{0, time.Hour, 10, []string{"m1", "m2", "m3", "m4"}},
		{10 * time.Second, 40 * time.Second, 10, []string{"m2", "m3"}}, // from included, to not
		{0, time.Hour, 2, []string{"m1", "m2"}},
		{41 * time.Second, time.Hour, 10, nil},
	} {
		if diff := cmp.Diff(tt.want, ids(tt.from, tt.to, tt.limit)); diff != "" {
			t.Errorf("ChatLines(%v, %v, %d) (-want +got):\n%s", tt.from, tt.to, tt.limit, diff)
		}
	}
	got, _ := s.ChatLines(ctx, "cr-1", 0, 2*time.Second, 10)
	if diff := cmp.Diff([]recordings.ChatLine{lines[1]}, got); diff != "" {
		t.Errorf("a line as kept (-want +got):\n%s", diff)
	}
	// A deleted message goes; a banned user's lines go; the other recording keeps its own.
	if err := s.DeleteChatLines(ctx, "cr-1", "m2", ""); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"m1", "m3", "m4"}, ids(0, time.Hour, 10)); diff != "" {
		t.Errorf("after deleting m2 (-want +got):\n%s", diff)
	}
	if err := s.DeleteChatLines(ctx, "cr-1", "", "u-a"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"m3"}, ids(0, time.Hour, 10)); diff != "" {
		t.Errorf("after removing u-a's lines (-want +got):\n%s", diff)
	}
	if other, _ := s.ChatLines(ctx, "cr-2", 0, time.Hour, 10); len(other) != 1 {
		t.Errorf("the other recording's chat: %v", other)
	}
	// Deleting the recording deletes its chat.
	if err := s.DeleteRecording(ctx, "cr-1"); err != nil {
		t.Fatal(err)
	}
	if left := ids(0, time.Hour, 10); len(left) != 0 {
		t.Errorf("chat left after deleting its recording: %v", left)
	}
}
