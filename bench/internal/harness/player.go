package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"time"
)

// PlayerLatency is what web/bench/player-latency.mjs measured for one way of reaching the
// stream: wall clock minus the playing frame's program-date-time in hls.js, in milliseconds.
type PlayerLatency struct {
	Joins   [][]float64 // each join's samples that had a playingDate
	Missing int         // samples taken while hls.js had no playingDate
}

// All is every join's samples together.
func (p PlayerLatency) All() []float64 { return slices.Concat(p.Joins...) }

// JoinMedians is the median of each join that has samples.
func (p PlayerLatency) JoinMedians() []float64 {
	var out []float64
	for _, j := range p.Joins {
		if len(j) > 0 {
			out = append(out, Percentile(j, 0.5))
		}
	}
	return out
}

// MeasurePlayerLatency runs web/bench/player-latency.mjs in Chromium on a live channel page:
// joins fresh pages per HLS base (an origin the page's /hls/ requests are sent to; "-" is the
// page's own), each playing for warmup, then sampled samples times a second apart. The
// result has one entry per base. It runs from the repository's root (playwright-core comes
// from web/node_modules).
func MeasurePlayerLatency(pageURL string, warmup time.Duration, samples, joins int, bases ...string) ([]PlayerLatency, error) {
	if len(bases) == 0 {
		bases = []string{"-"}
	}
	args := append([]string{"bench/player-latency.mjs", pageURL, strconv.Itoa(int(warmup.Seconds())), strconv.Itoa(samples), strconv.Itoa(joins)}, bases...)
	cmd := exec.Command("node", args...)
	cmd.Dir = "web"
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("player-latency.mjs: %w", err)
	}
	var raw [][][]*float64
	if err := json.Unmarshal(bytes.TrimSpace(out), &raw); err != nil || len(raw) != len(bases) {
		return nil, fmt.Errorf("player-latency.mjs output %q: %v", out, err)
	}
	res := make([]PlayerLatency, len(raw))
	for i, perBase := range raw {
		for _, join := range perBase {
			var got []float64
			for _, ms := range join {
				if ms == nil {
					res[i].Missing++
					continue
				}
				got = append(got, *ms)
			}
			res[i].Joins = append(res[i].Joins, got)
		}
	}
	return res, nil
}
