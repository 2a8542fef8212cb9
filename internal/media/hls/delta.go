package hls

import (
	"bytes"
	"regexp"
	"strconv"
)

// Playlist delta updates (RFC 8216bis 6.2.5.1 and 4.4.5.2). Every media playlist advertises
// CAN-SKIP-UNTIL (the packager sets six target durations, the least allowed); a reload with
// _HLS_skip=YES gets it with its oldest segments replaced by one EXT-X-SKIP tag, so that a
// player reloading every part reads only the recent end of the window. _HLS_skip=v2 is
// answered the same way: the playlists do not advertise CAN-SKIP-DATERANGES, so their
// EXT-X-DATERANGEs stay (moved after EXT-X-SKIP when they sat in a skipped segment's tags).
//
// A segment is skipped only when the complete segments after it last at least the Skip
// Boundary (the segment in progress does not count). Skipping stops at the first segment
// that starts a discontinuity, so that EXT-X-DISCONTINUITY-SEQUENCE keeps describing the
// segments as listed (hls.js counts discontinuities from the tags it reads), and the
// EXT-X-MAP in effect is repeated before the first listed segment when that segment has none
// of its own. The update is made once per playlist rendering, on the edge, and shared by
// every request for it, like the full playlist.

var canSkipRE = regexp.MustCompile(`#EXT-X-SERVER-CONTROL:[^\n]*CAN-SKIP-UNTIL=([0-9]{1,6}(?:\.[0-9]{1,9})?)`)

// segment tags: the lines that belong to the media segment they precede.
var segmentTags = [][]byte{
	[]byte("#EXTINF:"), []byte("#EXT-X-DISCONTINUITY"), []byte("#EXT-X-MAP:"), []byte("#EXT-X-PROGRAM-DATE-TIME:"),
	[]byte("#EXT-X-PART:"), []byte("#EXT-X-GAP"), []byte("#EXT-X-BITRATE:"), []byte("#EXT-X-DATERANGE:"),
}

func isSegmentTag(line []byte) bool {
	for _, t := range segmentTags {
		if bytes.HasPrefix(line, t) {
			return true
		}
	}
	return false
}

// deltaPlaylist returns the delta update of a media playlist, or the playlist itself when it
// advertises none or has no segment to skip.
func deltaPlaylist(body []byte) []byte {
	m := canSkipRE.FindSubmatch(body)
	if m == nil {
		return body
	}
	boundary, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || boundary <= 0 {
		return body
	}
	// The playlist's tags, then each complete segment (its tags and its URI line), then the
	// segment in progress and the rendition reports.
	type seg struct {
		from, to   int // its lines [from, to), the URI line last
		dur        float64
		disc       bool
		mapLine    []byte   // its EXT-X-MAP, if any
		dateRanges [][]byte // EXT-X-DATERANGE lines among its tags
	}
	lines := bytes.SplitAfter(body, []byte("\n"))
	head := len(lines)
	var segs []seg
	cur := seg{from: -1}
	for i, line := range lines {
		l := bytes.TrimRight(line, "\n")
		switch {
		case len(l) == 0:
		case l[0] == '#':
			if !isSegmentTag(l) {
				continue
			}
			if cur.from < 0 {
				cur.from = i
				head = min(head, i)
			}
			switch {
			case bytes.HasPrefix(l, []byte("#EXTINF:")):
				v := l[len("#EXTINF:"):]
				if c := bytes.IndexByte(v, ','); c >= 0 {
					v = v[:c]
				}
				if cur.dur, err = strconv.ParseFloat(string(v), 64); err != nil {
					return body
				}
			case bytes.Equal(l, []byte("#EXT-X-DISCONTINUITY")):
				cur.disc = true
			case bytes.HasPrefix(l, []byte("#EXT-X-MAP:")):
				cur.mapLine = line
			case bytes.HasPrefix(l, []byte("#EXT-X-DATERANGE:")):
				cur.dateRanges = append(cur.dateRanges, line)
			}
		default: // a URI: the segment is complete
			if cur.from < 0 {
				return body
			}
			cur.to = i + 1
			segs = append(segs, cur)
			cur = seg{from: -1}
		}
	}
	// skip: the most segments whose followers last the boundary, none starting a discontinuity.
	skip, after := 0, 0.0
	for i := len(segs) - 1; i >= 0; i-- {
		if after >= boundary-1e-6 {
			skip = i + 1
			break
		}
		after += segs[i].dur
	}
	for i := range skip {
		if segs[i].disc {
			skip = i
			break
		}
	}
	if skip == 0 || skip >= len(segs) { // the last segment always stays (a tiny boundary)
		return body
	}
	out := make([]byte, 0, len(body))
	for _, line := range lines[:head] {
		out = append(out, line...)
	}
	out = append(out, "#EXT-X-SKIP:SKIPPED-SEGMENTS="...)
	out = strconv.AppendInt(out, int64(skip), 10)
	out = append(out, '\n')
	var mapLine []byte
	for _, s := range segs[:skip] {
		for _, d := range s.dateRanges {
			out = append(out, d...)
		}
		if s.mapLine != nil {
			mapLine = s.mapLine
		}
	}
	if segs[skip].mapLine == nil && mapLine != nil {
		out = append(out, mapLine...)
	}
	for _, line := range lines[segs[skip].from:] {
		out = append(out, line...)
	}
	return out
}
