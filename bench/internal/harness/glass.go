package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Endpoint is a WHIP- or WHEP-style URL (an SDP offer posted with a bearer token) and its token.
type Endpoint struct {
	URL   string `json:"url"`
	Token string `json:"token"`
}

// GlassToGlass is what web/bench/glass-to-glass.mjs measured in one run.
type GlassToGlass struct {
	Display       []float64 // per frame read: display time − the time drawn into it, ms
	Received      []float64 // per frame read: its last packet arriving − the time drawn, ms
	Unreadable    int       // frames presented whose time could not be read
	Presented     int       // frames the video presented while sampling
	Widths        []float64 // the picture width of each frame read
	ClockOffsetMs float64   // the viewer page's clock minus the publisher page's
	DrawnPerSec   float64   `json:"drawnPerSecond"`
}

// GlassConfig is one glass-to-glass run: the server's origin, where the publisher page sends
// and where the viewer page plays from, how many frames to read after the first
// WarmupSeconds of pictures, and OffsetMs, an error put in on purpose (the publisher draws the
// time that much early, so the figures must grow by it: a check of the measurement).
type GlassConfig struct {
	Origin        string   `json:"origin"`
	Publish       Endpoint `json:"publish"`
	Play          Endpoint `json:"play"`
	Frames        int      `json:"frames"`
	WarmupSeconds int      `json:"warmupSeconds"`
	OffsetMs      float64  `json:"offsetMs"`
}

// MeasureGlassToGlass runs web/bench/glass-to-glass.mjs in Chromium: a publisher page sends a
// canvas with the time drawn into it to cfg.Publish, a viewer page plays it from cfg.Play and
// reads the time back from the frames it presents. It runs from the repository's root
// (playwright-core comes from web/node_modules).
func MeasureGlassToGlass(cfg GlassConfig) (GlassToGlass, error) {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return GlassToGlass{}, err
	}
	cmd := exec.Command("node", "bench/glass-to-glass.mjs", string(raw))
	cmd.Dir = "web"
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return GlassToGlass{}, fmt.Errorf("glass-to-glass.mjs: %w", err)
	}
	var g GlassToGlass
	if err := json.Unmarshal(bytes.TrimSpace(out), &g); err != nil {
		return GlassToGlass{}, fmt.Errorf("glass-to-glass.mjs output %q: %w", out, err)
	}
	if len(g.Display) < cfg.Frames {
		return GlassToGlass{}, fmt.Errorf("glass-to-glass.mjs read %d frames of %d", len(g.Display), cfg.Frames)
	}
	return g, nil
}

// Load is the machine's load averages (1, 5 and 15 minutes) from /proc/loadavg, to print
// beside a figure the machine's other work can move.
func Load() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// GlassRuns prints each run of a glass-to-glass measurement and the medians over the runs.
// what names the path measured (for the printed lines).
type GlassRuns struct {
	What string
	runs []glassRun
}

type glassRun struct {
	p50, p95, recvP50, width      float64
	frames, unreadable, presented int
	offset, drawn                 float64
	loadBefore, loadAfter         string
}

// Add prints one run (taken while the load went from loadBefore to the present one).
func (r *GlassRuns) Add(g GlassToGlass, loadBefore string) {
	run := glassRun{
		p50: Percentile(g.Display, 0.5), p95: Percentile(g.Display, 0.95), recvP50: Percentile(g.Received, 0.5), width: Percentile(g.Widths, 0.5),
		frames: len(g.Display), unreadable: g.Unreadable, presented: g.Presented, offset: g.ClockOffsetMs, drawn: g.DrawnPerSec,
		loadBefore: loadBefore, loadAfter: Load(),
	}
	r.runs = append(r.runs, run)
	fmt.Printf("  %s run %d: %d frames read (%d presented, %d unreadable; %.0f px wide; drawn %.0f/s): display − drawn p50 %.0f ms, p95 %.0f ms; drawn → last packet received p50 %.0f ms; page clocks %.2f ms apart; load %s → %s\n",
		r.What, len(r.runs), run.frames, run.presented, run.unreadable, run.width, run.drawn, run.p50, run.p95, run.recvP50, run.offset, run.loadBefore, run.loadAfter)
}

// Summary prints the medians over the runs.
func (r *GlassRuns) Summary(method string) {
	var p50, p95, recv []float64
	for _, run := range r.runs {
		p50, p95, recv = append(p50, run.p50), append(p95, run.p95), append(recv, run.recvP50)
	}
	fmt.Printf("%s glass-to-glass in Chromium (%s): median of %d runs: p50 %.0f ms, p95 %.0f ms (goal ≤ 250 ms); of it, drawn → last packet received p50 %.0f ms\n",
		r.What, method, len(r.runs), Percentile(p50, 0.5), Percentile(p95, 0.5), Percentile(recv, 0.5))
}
