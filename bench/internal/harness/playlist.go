package harness

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// WaitLive polls a channel's media playlist until it lists a part.
func (s *Server) WaitLive(channelID string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(s.Base + "/hls/" + channelID + "/video1_stream.m3u8?token=" + Token(channelID))
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == 200 && strings.Contains(string(body), "#EXT-X-PART:") {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
	return errors.New("stream did not become playable")
}

// SegmentDurations lists the durations (EXTINF) of the complete segments in a channel's media
// playlist now, and whether the stream has ended (EXT-X-ENDLIST).
func (s *Server) SegmentDurations(channelID string) (d []float64, ended bool, err error) {
	res, err := http.Get(s.Base + "/hls/" + channelID + "/video1_stream.m3u8?token=" + Token(channelID))
	if err != nil {
		return nil, false, err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var out []float64
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "#EXTINF:"); ok {
			d, _ := strconv.ParseFloat(strings.TrimSuffix(v, ","), 64)
			out = append(out, d)
		}
	}
	return out, strings.Contains(string(body), "#EXT-X-ENDLIST"), nil
}

// Percentile is the p-quantile (0–1) of d, by rank.
func Percentile(d []float64, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}

var (
	seqRE  = regexp.MustCompile(`#EXT-X-MEDIA-SEQUENCE:(\d+)`)
	pdtRE  = regexp.MustCompile(`#EXT-X-PROGRAM-DATE-TIME:(\S+)`)
	partRE = regexp.MustCompile(`#EXT-X-PART:DURATION=([0-9.]+),URI="([^"]+)"`)
)

// NextPart parses a media playlist: the next part to ask for, and the wall-clock time at which
// the newest listed part's media ends (its segment's program-date-time plus the durations of
// the parts before it; PDT is stamped at frame arrival, so this is when the part's last frame
// arrived plus one frame), with that part's URI.
func NextPart(pl string) (msn, part int, newestEnd time.Time, newestURI string, ok bool) {
	m := seqRE.FindStringSubmatch(pl)
	if m == nil {
		return
	}
	msn, _ = strconv.Atoi(m[1])
	var pdt time.Time
	var offset float64
	for _, line := range strings.Split(pl, "\n") {
		switch {
		case strings.HasPrefix(line, "#EXT-X-PROGRAM-DATE-TIME:"):
			pdt, _ = time.Parse(time.RFC3339Nano, pdtRE.FindStringSubmatch(line)[1])
			offset, part = 0, 0
		case strings.HasPrefix(line, "#EXTINF"):
			msn++
			part = 0
		case strings.HasPrefix(line, "#EXT-X-PART:"):
			pm := partRE.FindStringSubmatch(line)
			if pm == nil {
				continue
			}
			d, _ := strconv.ParseFloat(pm[1], 64)
			offset += d
			part++
			newestEnd, newestURI = pdt.Add(time.Duration(offset*float64(time.Second))), pm[2]
		}
	}
	return msn, part, newestEnd, newestURI, !newestEnd.IsZero()
}

// FollowParts follows a media playlist at its live edge with blocking reloads, one part at a
// time, calling listed with the wall-clock end of each newly listed part's media (see
// NextPart) and the moment the reload that listed it returned, until listed returns false.
// A playlist that lists no part yet is asked for again without blocking.
func FollowParts(url string, listed func(end, at time.Time) bool) error {
	msn, part := -1, 0
	for {
		q := url
		if msn >= 0 {
			q = fmt.Sprintf("%s&_HLS_msn=%d&_HLS_part=%d", url, msn, part)
		}
		res, err := http.Get(q)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		at := time.Now()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %d", q, res.StatusCode)
		}
		next, nextPart, end, _, ok := NextPart(string(body))
		if !ok {
			msn = -1
			continue
		}
		first := msn < 0
		msn, part = next, nextPart
		if !first && !listed(end, at) {
			return nil
		}
	}
}
