package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// result is what one attack found.
type result struct {
	n, name string
	notes   []string // what happened, in order: the bounds hit and what got through
	held    bool     // every bound the attack checks was hit
	err     error    // the attack could not be carried out
	took    time.Duration
	rss0    float64 // KiB, the server before the attack
	rssPeak float64
	fd0     int
	fdPeak  int
	fdLimit int
	viewer  viewerReport
}

// note records what happened.
func (r *result) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// check records one bound: held or not, and what was seen.
func (r *result) check(held bool, format string, args ...any) {
	if !held {
		r.held = false
		format = "NOT HELD: " + format
	}
	r.note(format, args...)
}

// fail records a bound that was not held.
func (r *result) fail(format string, args ...any) { r.check(false, format, args...) }

func (r *result) verdict() string {
	switch {
	case r.err != nil:
		return "ERROR"
	case r.held:
		return "HELD"
	default:
		return "NOT HELD"
	}
}

func (r *result) outcome() string {
	s := strings.Join(r.notes, "; ")
	if r.err != nil {
		s = strings.TrimPrefix(s+"; ", "; ") + "error: " + r.err.Error()
	}
	return s
}

func printTable(w io.Writer, rs []result, took time.Duration) {
	fmt.Fprintf(w, "\nAttacks on %s (issue 15), each on a fresh server with one channel live, on loopback; %v in all.\n", *binPath, took.Round(time.Second))
	fmt.Fprintln(w, "RSS and fds: the server process before the attack → its peak during it (sampled from /proc every 100 ms).")
	fmt.Fprintln(w, "Normal viewer: an LL-HLS player (blocking reloads, every new part, a fresh connection at least every 5 s) and an anonymous")
	fmt.Fprintln(w, "chat reader (reconnecting every 15 s) getting the streamer's message each second; served = no failed request and no gap over 5 s.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| # | Attack | Verdict | What happened (bound hit, or what got through) | RSS MiB | fds | Normal viewer |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	held, total := 0, 0
	for _, r := range rs {
		total++
		if r.verdict() == "HELD" {
			held++
		}
		fds := fmt.Sprintf("%d → %d", r.fd0, r.fdPeak)
		if r.fdLimit > 0 {
			fds += fmt.Sprintf(" (limit %d)", r.fdLimit)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.0f → %.0f | %s | %s |\n", r.n, r.name, r.verdict(),
			strings.ReplaceAll(r.outcome(), "|", "/"), r.rss0/1024, r.rssPeak/1024, fds, r.viewer.text())
	}
	fmt.Fprintf(w, "\n%d of %d attacks held.\n", held, total)
}
