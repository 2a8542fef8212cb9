// Package validate checks HLS media playlists against the rules of RFC 8216bis that Low-Latency
// HLS players depend on: one playlist on its own (Check), and the reloads of one playlist
// against each other (Session). Tests of every package that makes playlists use it.
package validate

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Options add expectations a playlist alone cannot carry.
type Options struct {
	// Reports are the URIs of the sibling renditions the playlist must report
	// (EXT-X-RENDITION-REPORT), as written in it.
	Reports []string
}

// Segment is a media segment as listed.
type Segment struct {
	MSN      uint64
	URI      string
	Duration float64
	PDT      time.Time // zero without EXT-X-PROGRAM-DATE-TIME
	Disc     bool
	Gap      bool
	Parts    []Part
}

// Part is a partial segment as listed.
type Part struct {
	URI         string
	Duration    float64
	Independent bool
}

// Media is a parsed media playlist.
type Media struct {
	Version       int
	Target        int
	PartTarget    float64 // 0 without EXT-X-PART-INF
	PartHoldBack  float64
	CanBlock      bool
	CanSkipUntil  float64 // the Skip Boundary, in seconds; 0 without CAN-SKIP-UNTIL
	MediaSequence uint64
	DiscSequence  uint64
	Delta         bool      // a Playlist Delta Update: it has EXT-X-SKIP
	Skipped       uint64    // its SKIPPED-SEGMENTS: the segments from MediaSequence it leaves out
	Segments      []Segment // those listed: a delta update's begin at MediaSequence + Skipped
	Pending       []Part    // parts of the segment in progress
	PendingPDT    time.Time
	Hint          string // EXT-X-PRELOAD-HINT TYPE=PART URI
	Reports       []Report
	Ended         bool
}

// Report is an EXT-X-RENDITION-REPORT.
type Report struct {
	URI       string
	MSN, Part int64
}

var attrRE = regexp.MustCompile(`([A-Z0-9-]+)=("[^"]*"|[^,]*)`)

func attrs(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllStringSubmatch(s, -1) {
		out[m[1]] = strings.Trim(m[2], `"`)
	}
	return out
}

// Parse reads a media playlist; the errors are those of its syntax.
func Parse(body []byte) (*Media, error) {
	lines := strings.Split(strings.TrimRight(string(body), "\n"), "\n")
	if len(lines) == 0 || lines[0] != "#EXTM3U" {
		return nil, errors.New("does not begin with #EXTM3U")
	}
	m := &Media{Target: -1}
	var cur Segment
	var inf *float64
	sawSegment := false
	for i, line := range lines[1:] {
		n := i + 2
		tag, val, _ := strings.Cut(line, ":")
		switch tag {
		case "#EXT-X-VERSION":
			v, err := strconv.Atoi(val)
			if err != nil || v < 1 {
				return nil, fmt.Errorf("line %d: bad version %q", n, val)
			}
			m.Version = v
		case "#EXT-X-SKIP":
			if m.Delta {
				return nil, fmt.Errorf("line %d: a second EXT-X-SKIP", n)
			}
			if sawSegment || len(m.Segments) > 0 {
				return nil, fmt.Errorf("line %d: EXT-X-SKIP after the first segment's tags", n)
			}
			v, err := strconv.ParseUint(attrs(val)["SKIPPED-SEGMENTS"], 10, 31)
			if err != nil {
				return nil, fmt.Errorf("line %d: EXT-X-SKIP needs SKIPPED-SEGMENTS", n)
			}
			m.Delta, m.Skipped = true, v
		case "#EXT-X-TARGETDURATION":
			v, err := strconv.Atoi(val)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("line %d: bad target duration %q", n, val)
			}
			m.Target = v
		case "#EXT-X-MEDIA-SEQUENCE", "#EXT-X-DISCONTINUITY-SEQUENCE":
			v, err := strconv.ParseUint(val, 10, 63)
			if err != nil {
				return nil, fmt.Errorf("line %d: bad %s", n, tag)
			}
			if sawSegment {
				return nil, fmt.Errorf("line %d: %s after the first segment", n, tag)
			}
			if tag == "#EXT-X-MEDIA-SEQUENCE" {
				m.MediaSequence = v
			} else {
				m.DiscSequence = v
			}
		case "#EXT-X-PART-INF":
			v, err := strconv.ParseFloat(attrs(val)["PART-TARGET"], 64)
			if err != nil || v <= 0 {
				return nil, fmt.Errorf("line %d: bad PART-TARGET", n)
			}
			m.PartTarget = v
		case "#EXT-X-SERVER-CONTROL":
			a := attrs(val)
			m.CanBlock = a["CAN-BLOCK-RELOAD"] == "YES"
			if s, ok := a["CAN-SKIP-UNTIL"]; ok {
				v, err := strconv.ParseFloat(s, 64)
				if err != nil || v <= 0 {
					return nil, fmt.Errorf("line %d: bad CAN-SKIP-UNTIL", n)
				}
				m.CanSkipUntil = v
			}
			if s, ok := a["PART-HOLD-BACK"]; ok {
				v, err := strconv.ParseFloat(s, 64)
				if err != nil {
					return nil, fmt.Errorf("line %d: bad PART-HOLD-BACK", n)
				}
				m.PartHoldBack = v
			}
		case "#EXT-X-DISCONTINUITY":
			cur.Disc = true
			sawSegment = true
		case "#EXT-X-GAP":
			cur.Gap = true
		case "#EXT-X-PROGRAM-DATE-TIME":
			t, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				return nil, fmt.Errorf("line %d: bad program-date-time %q", n, val)
			}
			cur.PDT = t
			sawSegment = true
		case "#EXT-X-PART":
			a := attrs(val)
			d, err := strconv.ParseFloat(a["DURATION"], 64)
			if err != nil || a["URI"] == "" {
				return nil, fmt.Errorf("line %d: EXT-X-PART needs DURATION and URI", n)
			}
			cur.Parts = append(cur.Parts, Part{URI: a["URI"], Duration: d, Independent: a["INDEPENDENT"] == "YES"})
			sawSegment = true
		case "#EXTINF":
			d, err := strconv.ParseFloat(strings.TrimSuffix(strings.SplitN(val, ",", 2)[0], ","), 64)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("line %d: bad EXTINF %q", n, val)
			}
			inf = &d
			sawSegment = true
		case "#EXT-X-PRELOAD-HINT":
			a := attrs(val)
			if a["TYPE"] == "PART" {
				if m.Hint != "" {
					return nil, fmt.Errorf("line %d: a second part preload hint", n)
				}
				m.Hint = a["URI"]
			}
		case "#EXT-X-RENDITION-REPORT":
			a := attrs(val)
			r := Report{URI: a["URI"], MSN: -1, Part: -1}
			if v, err := strconv.ParseInt(a["LAST-MSN"], 10, 64); err == nil {
				r.MSN = v
			}
			if v, err := strconv.ParseInt(a["LAST-PART"], 10, 64); err == nil {
				r.Part = v
			}
			m.Reports = append(m.Reports, r)
		case "#EXT-X-ENDLIST":
			m.Ended = true
		default:
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if inf == nil {
				return nil, fmt.Errorf("line %d: a URI without EXTINF", n)
			}
			cur.URI, cur.Duration = line, *inf
			cur.MSN = m.MediaSequence + m.Skipped + uint64(len(m.Segments))
			m.Segments = append(m.Segments, cur)
			cur, inf = Segment{}, nil
		}
	}
	if inf != nil {
		return nil, errors.New("EXTINF without a URI")
	}
	m.Pending, m.PendingPDT = cur.Parts, cur.PDT
	return m, nil
}

// End is the sequence number of the segment after the last complete one listed: the
// segment in progress.
func (m *Media) End() uint64 { return m.MediaSequence + m.Skipped + uint64(len(m.Segments)) }

// Check validates one media playlist on its own.
func Check(body []byte, opt Options) error {
	m, err := Parse(body)
	if err != nil {
		return err
	}
	return m.check(opt)
}

func (m *Media) check(opt Options) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if m.Target < 0 {
		bad("no EXT-X-TARGETDURATION")
	}
	m.checkSkip(bad)
	const eps = 1e-6
	var lastPDT time.Time
	var lastPart string
	partNames := map[string]bool{}
	for _, s := range m.Segments {
		if r := int(math.Round(s.Duration)); r > m.Target {
			bad("segment %d: EXTINF %.5f rounds to %d s, over the target duration %d", s.MSN, s.Duration, r, m.Target)
		}
		if !s.PDT.IsZero() {
			if !lastPDT.IsZero() && !s.PDT.After(lastPDT) {
				bad("segment %d: program-date-time %s not after the previous one's %s", s.MSN, s.PDT.Format(time.RFC3339Nano), lastPDT.Format(time.RFC3339Nano))
			}
			lastPDT = s.PDT
		}
		if len(s.Parts) > 0 {
			sum := 0.0
			for _, p := range s.Parts {
				sum += p.Duration
			}
			if math.Abs(sum-s.Duration) > 0.001*float64(len(s.Parts)) {
				bad("segment %d: parts last %.5f s, EXTINF says %.5f", s.MSN, sum, s.Duration)
			}
		}
		if s.Gap && len(s.Parts) > 0 {
			bad("segment %d: a gap with parts", s.MSN)
		}
	}
	if !m.PendingPDT.IsZero() && !lastPDT.IsZero() && !m.PendingPDT.After(lastPDT) {
		bad("the segment in progress: program-date-time not after the previous one's")
	}
	all := make([]Part, 0, 32)
	for _, s := range m.Segments {
		all = append(all, s.Parts...)
	}
	all = append(all, m.Pending...)
	for _, p := range all {
		if m.PartTarget == 0 {
			bad("EXT-X-PART without EXT-X-PART-INF")
			break
		}
		if p.Duration > m.PartTarget+eps {
			bad("part %s: duration %.5f over PART-TARGET %.5f", p.URI, p.Duration, m.PartTarget)
		}
		if partNames[p.URI] {
			bad("part %s listed twice", p.URI)
		}
		partNames[p.URI] = true
		if lastPart != "" {
			if a, b, ok := numbers(lastPart, p.URI); ok && b != a+1 {
				bad("part %s follows %s: part numbers not consecutive", p.URI, lastPart)
			}
		}
		lastPart = p.URI
	}
	if m.PartTarget > 0 {
		if !m.CanBlock {
			bad("LL-HLS without CAN-BLOCK-RELOAD=YES")
		}
		if m.PartHoldBack < 3*m.PartTarget-eps {
			bad("PART-HOLD-BACK %.3f is under 3 × PART-TARGET (%.3f)", m.PartHoldBack, 3*m.PartTarget)
		}
		if !m.Ended && m.Hint == "" {
			bad("a live LL-HLS playlist without a part preload hint")
		}
	}
	if m.Ended && m.Hint != "" {
		bad("a preload hint after EXT-X-ENDLIST")
	}
	if m.Hint != "" {
		if partNames[m.Hint] {
			bad("the preload hint %s names a part already listed", m.Hint)
		}
		if lastPart != "" {
			if a, b, ok := numbers(lastPart, m.Hint); ok && b != a+1 {
				bad("the preload hint %s does not name the part after %s", m.Hint, lastPart)
			}
		}
	}
	seen := map[string]bool{}
	for _, r := range m.Reports {
		switch {
		case r.URI == "":
			bad("a rendition report without URI")
		case seen[r.URI]:
			bad("rendition %s reported twice", r.URI)
		case r.MSN < 0:
			bad("rendition report %s without LAST-MSN", r.URI)
		case m.PartTarget > 0 && r.Part < 0:
			bad("rendition report %s without LAST-PART", r.URI)
		}
		seen[r.URI] = true
	}
	if !m.Ended {
		for _, want := range opt.Reports {
			if !seen[want] {
				bad("no rendition report for %s", want)
			}
		}
	}
	return errors.Join(errs...)
}

// checkSkip checks the delta update rules (RFC 8216bis 4.4.3.8, 4.4.5.2 and 6.2.5.1): the Skip
// Boundary is at least six target durations; a delta update is version 9 or later, comes from
// a playlist that advertises one, and lists at least the Skip Boundary from its end.
func (m *Media) checkSkip(bad func(string, ...any)) {
	if m.CanSkipUntil > 0 && m.Target >= 0 && m.CanSkipUntil < float64(6*m.Target)-1e-6 {
		bad("CAN-SKIP-UNTIL %.3f is under 6 × the target duration (%d)", m.CanSkipUntil, 6*m.Target)
	}
	if !m.Delta {
		return
	}
	if m.Version < 9 {
		bad("EXT-X-SKIP in a playlist of version %d, under 9", m.Version)
	}
	if m.CanSkipUntil == 0 {
		bad("EXT-X-SKIP without CAN-SKIP-UNTIL")
		return
	}
	listed := 0.0
	for _, s := range m.Segments {
		listed += s.Duration
	}
	for _, p := range m.Pending {
		listed += p.Duration
	}
	if m.Skipped > 0 && listed < m.CanSkipUntil-1e-3 {
		bad("EXT-X-SKIP left out segments within the skip boundary: %.3f s listed after them, CAN-SKIP-UNTIL=%.3f", listed, m.CanSkipUntil)
	}
}

var numRE = regexp.MustCompile(`(\d+)\.[a-z0-9]+$`)

// numbers reads the numbers that end two media names sharing their stem.
func numbers(a, b string) (int64, int64, bool) {
	ma, mb := numRE.FindStringSubmatchIndex(a), numRE.FindStringSubmatchIndex(b)
	if ma == nil || mb == nil || a[:ma[2]] != b[:mb[2]] {
		return 0, 0, false
	}
	x, _ := strconv.ParseInt(a[ma[2]:ma[3]], 10, 64)
	y, _ := strconv.ParseInt(b[mb[2]:mb[3]], 10, 64)
	return x, y, true
}

// Session checks successive reloads of one media playlist: each on its own, and each against
// the one before.
type Session struct {
	Options
	prev *Media
}

// Next checks a reload.
func (s *Session) Next(body []byte) error {
	m, err := Parse(body)
	if err != nil {
		return err
	}
	errs := []error{m.check(s.Options)}
	if p := s.prev; p != nil {
		errs = append(errs, expand(p, m))
		errs = append(errs, continuity(p, m))
	}
	s.prev = m
	return errors.Join(errs...)
}

// expand completes a delta update with the segments it skipped, from the previous reload, as
// a player merges it: a delta update may skip only segments the previous reload listed.
func expand(p, m *Media) error {
	if !m.Delta || m.Skipped == 0 || p.Skipped > 0 { // p: a delta update with nothing before it
		return nil
	}
	var skipped []Segment
	for _, s := range p.Segments {
		if s.MSN >= m.MediaSequence && s.MSN < m.MediaSequence+m.Skipped {
			skipped = append(skipped, s)
		}
	}
	if uint64(len(skipped)) != m.Skipped {
		return fmt.Errorf("EXT-X-SKIP left out segments %d to %d, of which the previous reload listed %d", m.MediaSequence, m.MediaSequence+m.Skipped-1, len(skipped))
	}
	m.Segments = append(skipped, m.Segments...)
	m.Skipped = 0
	return nil
}

func continuity(p, m *Media) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if m.Target != p.Target {
		bad("the target duration changed from %d to %d", p.Target, m.Target)
	}
	if m.MediaSequence < p.MediaSequence {
		bad("the media sequence went back from %d to %d", p.MediaSequence, m.MediaSequence)
	}
	// Discontinuities of the segments that left the window advance the sequence.
	left := uint64(0)
	for _, s := range p.Segments {
		if s.MSN < m.MediaSequence && s.Disc {
			left++
		}
	}
	if m.Skipped == 0 && m.MediaSequence <= p.End() && m.DiscSequence != p.DiscSequence+left {
		bad("discontinuity sequence %d, want %d (%d before, %d discontinuities left)", m.DiscSequence, p.DiscSequence+left, p.DiscSequence, left)
	}
	old := map[uint64]Segment{}
	for _, s := range p.Segments {
		old[s.MSN] = s
	}
	for _, s := range m.Segments {
		o, ok := old[s.MSN]
		if !ok {
			continue
		}
		if o.URI != s.URI || math.Abs(o.Duration-s.Duration) > 1e-6 || o.Gap != s.Gap || o.Disc != s.Disc {
			bad("segment %d changed between reloads", s.MSN)
		}
		if !o.PDT.IsZero() && !s.PDT.IsZero() && !o.PDT.Equal(s.PDT) {
			bad("segment %d: program-date-time changed between reloads", s.MSN)
		}
		if len(s.Parts) > 0 && !prefix(o.Parts, s.Parts) {
			bad("segment %d: its parts changed between reloads", s.MSN)
		}
	}
	// The segment that was in progress: its parts so far stay as they were.
	next := p.End()
	for _, s := range m.Segments {
		if s.MSN == next && len(s.Parts) > 0 && !prefix(p.Pending, s.Parts) {
			bad("segment %d: its parts changed as it completed", s.MSN)
		}
	}
	if m.End() == next && !prefix(p.Pending, m.Pending) {
		bad("the parts of the segment in progress changed between reloads")
	}
	lastOld, lastNew := p.End(), m.End()
	if lastNew < lastOld {
		bad("the live edge went back from segment %d to %d", lastOld, lastNew)
	}
	return errors.Join(errs...)
}

// prefix reports whether a lists the first parts of b.
func prefix(a, b []Part) bool {
	if len(a) > len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
