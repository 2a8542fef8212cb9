package cues

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/media/llhls"
)

// The window forgets cues older than Keep (but the one in force); no Keep is DefaultKeep.
func TestKeep(t *testing.T) {
	start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		tl   *Timeline
		want int
	}{
		{"a minute", &Timeline{Keep: 60 * clock}, 4}, // 180 s (in force at 210 s), 210, 240, 270
		{"two minutes", &Timeline{Keep: 120 * clock}, 6},
		{"the default", &Timeline{}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 10 {
				tc.tl.Put(Cue{ID: "c", Payload: json.RawMessage(`{}`)})
				tc.tl.Stamp(int64(i)*30*clock, start.Add(time.Duration(i)*30*time.Second))
			}
			if got := len(tc.tl.cues); got != tc.want {
				t.Errorf("cues kept: got %d, want %d", got, tc.want)
			}
		})
	}
}

// A cue is stamped with the latest video time seen, never an earlier frame's (B-frames), and
// a keyframe fragment after it announces it again with how far into it it is.
func TestStampAndAnnounce(t *testing.T) {
	tl := &Timeline{}
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	tl.Stamp(2*clock, at)
	tl.Put(Cue{ID: "q", Payload: json.RawMessage(`{"name":"quiz"}`)})
	tl.Stamp(clock, at) // a B-frame: below the latest
	if got, want := tl.cues[0].pts, int64(llhls.StartDTS+2*clock); got != want {
		t.Fatalf("stamped at %d, want %d", got, want)
	}
	if got := len(tl.Announcements(llhls.StartDTS, llhls.StartDTS+2*clock, true)); got != 0 {
		t.Errorf("a fragment before the cue announces %d boxes, want 0", got)
	}
	if got := len(tl.Announcements(llhls.StartDTS+2*clock, llhls.StartDTS+3*clock, false)); got != 1 {
		t.Errorf("the fragment the cue begins in announces %d boxes, want 1", got)
	}
	if got := len(tl.Announcements(llhls.StartDTS+4*clock, llhls.StartDTS+5*clock, false)); got != 0 {
		t.Errorf("a later fragment without a keyframe announces %d boxes, want 0", got)
	}
	if got := len(tl.Announcements(llhls.StartDTS+4*clock, llhls.StartDTS+5*clock, true)); got != 1 {
		t.Errorf("a later keyframe fragment announces %d boxes, want 1 (the cue in force)", got)
	}
}
