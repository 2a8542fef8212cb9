package hls

import "testing"

const edgePlaylist = `#EXTM3U
#EXT-X-VERSION:10
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T10:00:00Z
#EXTINF:2.00000,
seg10.mp4
#EXT-X-PART:DURATION=0.20000,URI="part100.mp4",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.20000,URI="part101.mp4"
#EXT-X-PART:DURATION=0.20000,URI="part102.mp4"
#EXTINF:0.60000,
seg11.mp4
#EXT-X-PART:DURATION=0.20000,URI="part110.mp4",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.20000,URI="part111.mp4"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part112.mp4"
`

func TestPlaylistState(t *testing.T) {
	st, ok := parseState([]byte(edgePlaylist))
	if !ok || st.seq != 10 || st.cur != 12 || st.curParts != 2 || len(st.parts) != 2 || st.parts[1] != 3 || st.target.Seconds() != 2 {
		t.Fatalf("state = %+v, %v", st, ok)
	}
	tests := []struct {
		msn, part int
		want      bool
	}{
		{9, 0, true},   // before the window: answer at once
		{10, -1, true}, // a complete segment
		{11, 2, true},
		{11, 3, true}, // past the last part of 11: part 0 of 12, which exists
		{12, 0, true},
		{12, 1, true},
		{12, 2, false}, // the hinted part, not there yet
		{12, -1, false},
		{13, 0, false},
	}
	for _, tt := range tests {
		if got := st.has(tt.msn, tt.part); got != tt.want {
			t.Errorf("has(%d, %d) = %v, want %v", tt.msn, tt.part, got, tt.want)
		}
	}
	// Segment 12 complete with 2 parts and nothing of 13 yet: part 2 of 12 means part 0 of 13.
	st.parts, st.cur, st.curParts = append(st.parts, 2), 13, 0
	if st.has(12, 2) {
		t.Errorf("has(12, 2) with 13 empty = true")
	}
	st.curParts = 1
	if !st.has(12, 2) {
		t.Errorf("has(12, 2) once 13 has a part = false")
	}
}
