package llhls

import "strconv"

// Parts are listed for the segment in progress and this many complete ones before it:
// players join PART-HOLD-BACK behind the edge, and older parts are only in the way.
const partSegments = 2

// render makes the track's media playlist, once per change, and wakes its readers.
func (t *track) render() {
	t.dirty = false
	if len(t.segs) == 0 {
		return // nothing a player could start on
	}
	closed := t.m.closed
	b := make([]byte, 0, len(t.body)+256)
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:10\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, max(t.target, 1), 10)
	b = append(b, "\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK="...)
	b = appendSecs(b, 3*t.partTarget, t.scale)
	// Delta updates (_HLS_skip, served by internal/media/hls): the Skip Boundary is the least
	// the rules allow, six target durations.
	b = append(b, ",CAN-SKIP-UNTIL="...)
	b = strconv.AppendInt(b, 6*max(t.target, 1), 10)
	b = append(b, "\n#EXT-X-PART-INF:PART-TARGET="...)
	b = appendSecs(b, t.partTarget, t.scale)
	b = append(b, "\n#EXT-X-MEDIA-SEQUENCE:"...)
	b = strconv.AppendUint(b, t.segs[0].msn, 10)
	if t.discSeq > 0 {
		b = append(b, "\n#EXT-X-DISCONTINUITY-SEQUENCE:"...)
		b = strconv.AppendUint(b, t.discSeq, 10)
	}
	b = append(b, '\n')
	init := -1
	for i, s := range t.segs {
		b = t.appendSegmentHead(b, s, &init)
		if len(t.segs)-i <= partSegments {
			b = t.appendParts(b, s)
		}
		if s.gap {
			b = append(b, "#EXT-X-GAP\n"...)
		}
		b = append(b, "#EXTINF:"...)
		b = appendSecs(b, s.dur, t.scale)
		b = append(b, ",\n"...)
		b = t.appendName(b, "seg", s.msn)
	}
	msn, last := int64(t.segs[len(t.segs)-1].msn), int64(len(t.segs[len(t.segs)-1].parts)-1)
	if c := t.cur; c != nil && !closed {
		b = t.appendSegmentHead(b, c, &init)
		b = t.appendParts(b, c)
		b = append(b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\""...)
		b = t.appendName(b, "part", t.partN)
		b = append(b[:len(b)-1], "\"\n"...)
		if len(c.parts) > 0 {
			msn, last = int64(c.msn), int64(len(c.parts)-1)
		}
	}
	if t.m.cfg.Reports != nil && !closed {
		for _, r := range t.m.cfg.Reports(t.name + "_stream.m3u8") {
			b = append(b, "#EXT-X-RENDITION-REPORT:URI=\""...)
			b = append(b, r.URI...)
			b = append(b, "\",LAST-MSN="...)
			b = strconv.AppendInt(b, r.MSN, 10)
			b = append(b, ",LAST-PART="...)
			b = strconv.AppendInt(b, r.Part, 10)
			b = append(b, '\n')
		}
	}
	if closed {
		b = append(b, "#EXT-X-ENDLIST\n"...)
	}
	t.body = b
	t.edge.Store(&edgeState{msn: msn, part: max(last, 0)})
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *track) appendSegmentHead(b []byte, s *segment, init *int) []byte {
	if s.disc {
		b = append(b, "#EXT-X-DISCONTINUITY\n"...)
	}
	if s.init != *init && !s.gap {
		*init = s.init
		b = append(b, "#EXT-X-MAP:URI=\""...)
		b = t.appendName(b, "init", uint64(s.init))
		b = append(b[:len(b)-1], "\"\n"...)
	}
	b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
	b = s.pdt.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	return append(b, '\n')
}

func (t *track) appendParts(b []byte, s *segment) []byte {
	for _, p := range s.parts {
		b = append(b, "#EXT-X-PART:DURATION="...)
		b = appendSecs(b, p.dur, t.scale)
		b = append(b, ",URI=\""...)
		b = t.appendName(b, "part", p.n)
		b = b[:len(b)-1]
		b = append(b, '"')
		if p.indep {
			b = append(b, ",INDEPENDENT=YES"...)
		}
		b = append(b, '\n')
	}
	return b
}

// appendName appends a media file's name and a newline: prefix_track_kindN.mp4.
func (t *track) appendName(b []byte, kind string, n uint64) []byte {
	b = append(b, t.m.prefix...)
	b = append(b, '_')
	b = append(b, t.name...)
	b = append(b, '_')
	b = append(b, kind...)
	b = strconv.AppendUint(b, n, 10)
	return append(b, ".mp4\n"...)
}

// appendSecs writes a duration in seconds with five decimals (enough for 90 kHz to round
// to the same tick).
func appendSecs(b []byte, ticks, scale int64) []byte {
	return strconv.AppendFloat(b, float64(ticks)/float64(scale), 'f', 5, 64)
}
