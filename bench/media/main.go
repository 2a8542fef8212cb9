// Command media measures Livehouse's live-video path against the real binary, for
// `make bench`: ingest-to-part latency, server CPU and memory per published stream, and LL-HLS
// egress under many simulated viewers. It prints each figure with how it was measured.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/livehouse/livehouse/bench/internal/harness"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

var (
	binary   = flag.String("bin", "bin/livehouse", "livehouse binary")
	scenario = flag.String("scenario", "all", "ingest, golive, player, firstframe, actions, cpu, record, egress, transcode or all")
	warmup   = flag.Duration("warmup", 20*time.Second, "playback before the player latency is sampled")
	streamsF = flag.String("streams", "1,10,50,100", "concurrent streams for the cpu scenario (0: the idle server)")
	ingestsF = flag.String("ingests", "rtmp,rtmps,srt", "ingest protocols the cpu scenario measures, each at every -streams count")
	recordF  = flag.String("record-streams", "10,50", "concurrent streams per server for the record scenario (two servers side by side, recording off and on, -record-runs times)")
	recRuns  = flag.Int("record-runs", 5, "record: runs per stream count, each of two servers side by side (recording off and on); the median of their ratios is the figure")
	recFor   = flag.Duration("record-duration", 60*time.Second, "record: how long each off or on measurement runs (a minute: the servers' once-a-minute work, stream health's, falls into every window once)")
	recAA    = flag.Bool("record-aa", false, "record: calibrate the pair instead: both servers with recording off, so the ratios show the harness's own spread and bias (the figure should be near 0)")
	recWarm  = flag.Duration("record-warmup", 10*time.Second, "record: how long the streams run before each measurement starts (the publishers' start-up bursts left out)")
	viewersF = flag.String("viewers", "1000,5000", "simulated viewers for the egress scenario")
	duration = flag.Duration("duration", 60*time.Second, "how long each cpu/egress measurement runs")
	lateFor  = flag.Duration("late", 20*time.Second, "after each cpu measurement, how long every stream is followed with blocking reloads to count the parts late (0: not)")
	profiles = flag.String("profiles", "", "directory for the cpu scenario's profiles (a CPU profile of the measurement and the heap at its end); empty = none")
	against  = flag.String("against", "", "firstframe: another livehouse binary (a build of an earlier commit) measured in the same run, its tabs taking turns with -bin's")
	tabs     = flag.Int("tabs", 10, "firstframe: fresh tabs per binary")
	slowdown = flag.Int("cpu-slowdown", 1, "firstframe: Chromium runs each page this many times slower (CDP CPU throttling), a busy machine's effect on the page that weighs on every tab alike")
	joins    = flag.Int("joins", 10, "player: fresh pages that join the stream one after another")
	samples  = flag.Int("samples", 10, "player: samples per join, a second apart, after -warmup")
	partMS   = flag.Int("part-target-ms", 0, "player and ingest: the server's hls_part_target_ms (0: its default)")
)

func run() error {
	flag.Parse()
	if *viewerSet != "" {
		return viewers(*viewerSet)
	}
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed (make system-deps installs it)", tool)
		}
	}
	all := *scenario == "all"
	if all || *scenario == "ingest" {
		if err := ingestToPart(); err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
	}
	if all || *scenario == "golive" {
		if err := goLiveTime(); err != nil {
			return fmt.Errorf("go-live: %w", err)
		}
	}
	if all || *scenario == "player" {
		if err := playerLatency(); err != nil {
			return fmt.Errorf("player: %w", err)
		}
	}
	if all || *scenario == "firstframe" {
		if err := firstFrame(); err != nil {
			return fmt.Errorf("first frame: %w", err)
		}
	}
	if all || *scenario == "actions" {
		if err := actionLatency(); err != nil {
			return fmt.Errorf("actions: %w", err)
		}
	}
	if all || *scenario == "transcode" {
		if err := transcodeCPU(); err != nil {
			return fmt.Errorf("transcode cpu: %w", err)
		}
		if err := transcodeLatency(); err != nil {
			return fmt.Errorf("transcode latency: %w", err)
		}
	}
	if all || *scenario == "record" {
		for _, n := range ints(*recordF) {
			if err := recordingCost(n); err != nil {
				return fmt.Errorf("recording cost with %d streams: %w", n, err)
			}
		}
	}
	if all || *scenario == "cpu" {
		for _, n := range ints(*streamsF) {
			for _, ingest := range strings.Split(*ingestsF, ",") {
				if _, err := cpuPerStream(n, strings.TrimSpace(ingest), "LIVEHOUSE_RECORDING=false"); err != nil {
					return fmt.Errorf("cpu with %d streams over %s: %w", n, ingest, err)
				}
				if n == 0 {
					break // the idle server has no ingest to vary
				}
			}
		}
	}
	if all || *scenario == "egress" {
		for _, n := range ints(*viewersF) {
			if err := egress(n); err != nil {
				return fmt.Errorf("egress with %d viewers: %w", n, err)
			}
		}
	}
	return nil
}

func ints(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// sample is a pre-encoded 720p30, 3 Mbps, H.264 + AAC file, made once, so that publishing
// with -c copy costs the encoder nothing.
func sample() (string, error) {
	path := filepath.Join(os.TempDir(), "livehouse-bench-720p30-3mbps.flv")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "30", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "3000k", "-maxrate", "3000k", "-bufsize", "3000k",
		"-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", path).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("encoding the sample: %v: %s", err, out)
	}
	return path, nil
}

// liveEncoder encodes a 720p30 test pattern live with x264 zerolatency, as a streamer's OBS
// would, so latency figures include a real encoder's output pacing.
var liveEncoder = harness.FFmpeg("-hide_banner", "-loglevel", "error", "-re",
	"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
	"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-x264-params", "sliced-threads=0", "-g", "60",
	"-b:v", "2500k", "-maxrate", "2500k", "-bufsize", "2500k", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv")

// copyOf publishes a pre-encoded file in a loop in real time with -c copy.
func copyOf(file string) harness.Publisher {
	return harness.FFmpeg("-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", file, "-c", "copy", "-f", "flv")
}

// copyOver publishes a pre-encoded file like copyOf over an ingest protocol: rtmp, rtmps
// (FLV over TLS, the server's self-signed certificate unverified) or srt (MPEG-TS).
func copyOver(file, ingest string) (harness.Publisher, error) {
	args := []string{"-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", file, "-c", "copy"}
	var url func(s *harness.Server, key string) []string
	switch ingest {
	case "rtmp":
		return copyOf(file), nil
	case "rtmps":
		url = func(s *harness.Server, key string) []string {
			return []string{"-tls_verify", "0", "-f", "flv", "rtmps://" + s.RTMPS + "/live/" + key}
		}
	case "srt":
		url = func(s *harness.Server, key string) []string {
			return []string{"-f", "mpegts", "srt://" + s.SRT + "?streamid=publish:" + key}
		}
	default:
		return nil, fmt.Errorf("ingest %q is not rtmp, rtmps or srt", ingest)
	}
	return func(ctx context.Context, s *harness.Server, key string) (func(), error) {
		cmd := exec.CommandContext(ctx, "ffmpeg", append(append([]string(nil), args...), url(s, key)...)...)
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return func() { _ = cmd.Wait() }, nil
	}, nil
}

// ingestToPart publishes one stream and, for each new part, measures the time from the
// arrival of the part's newest frame to the moment a blocking playlist reload lists it.
func ingestToPart() error {
	s, err := harness.StartLive(*binary, "ingestbench", liveEncoder, serverEnv()...)
	if err != nil {
		return err
	}
	defer s.Stop()
	var lat []float64
	err = harness.FollowParts(s.Base+"/hls/"+s.ChannelID+"/video1_stream.m3u8?token="+harness.Token(s.ChannelID), func(end, at time.Time) bool {
		// The part's newest frame arrived one frame (1/30 s) before the part's media ends.
		lat = append(lat, float64(at.Sub(end.Add(-time.Second/30)).Microseconds())/1000)
		return len(lat) < 150
	})
	if err != nil {
		return err
	}
	fmt.Printf("ingest-to-part latency (720p30 x264 zerolatency over RTMP, %s, %d parts; arrival of a part's newest frame, from its PDT, to a blocking reload listing it): p50 %.1f ms, p95 %.1f ms (a part's oldest frame waits up to a part target more)\n",
		partTargetLabel(), len(lat), harness.Percentile(lat, 0.5), harness.Percentile(lat, 0.95))
	return nil
}

// playerLatency plays a live channel in Chromium with hls.js and samples wall clock minus
// the playing frame's program-date-time (stamped at RTMP arrival, so the encoder's own delay
// is not counted).
func playerLatency() error {
	s, err := harness.StartLive(*binary, "playerbench", liveEncoder, serverEnv()...)
	if err != nil {
		return err
	}
	defer s.Stop()
	res, err := harness.MeasurePlayerLatency(s.Base+"/playerbench", *warmup, *samples, *joins)
	if err != nil {
		return err
	}
	ms := res[0].All()
	if len(ms) == 0 {
		return fmt.Errorf("no sample had a playingDate")
	}
	med := res[0].JoinMedians()
	fmt.Printf("player latency in Chromium with hls.js (low-latency mode, %s; wall clock minus the playing frame's PDT, %d joins of %d samples after %v of playback, %d samples without a playingDate): p50 %.0f ms, p95 %.0f ms over all samples; join medians p50 %.0f ms, min %.0f, max %.0f\n",
		partTargetLabel(), len(res[0].Joins), *samples, *warmup, res[0].Missing, harness.Percentile(ms, 0.5), harness.Percentile(ms, 0.95),
		harness.Percentile(med, 0.5), slices.Min(med), slices.Max(med))
	return nil
}

// serverEnv is the settings the player and ingest scenarios give the server.
func serverEnv() []string {
	if *partMS == 0 {
		return nil
	}
	return []string{"LIVEHOUSE_HLS_PART_TARGET_MS=" + strconv.Itoa(*partMS)}
}

func partTargetLabel() string {
	if *partMS == 0 {
		return "the default part target"
	}
	return fmt.Sprintf("%d ms parts", *partMS)
}

// firstFrame opens a live channel page in 10 fresh Chromium tabs and takes the time from the
// start of navigation to the first video frame presented: the page, its scripts, the channel
// API, hls.js's chunk, the playlist and the first parts, end to end on loopback. With
// -against, a second server runs that binary with its own live stream, and the two take turns
// tab by tab, so that the machine's load (shared, and changing by the second) weighs on both
// alike.
func firstFrame() error {
	if *against == "" {
		ms, err := browserSamples("framebench", func(base, _ string) []string {
			return []string{"bench/first-frame.mjs", base + "/framebench", strconv.Itoa(*tabs)}
		})
		if err != nil {
			return err
		}
		printFirstFrame(*binary, ms)
		return nil
	}
	other, err := harness.StartLive(*against, "framebench", liveEncoder)
	if err != nil {
		return err
	}
	defer other.Stop()
	s, err := harness.StartLive(*binary, "framebench", liveEncoder)
	if err != nil {
		return err
	}
	defer s.Stop()
	out, err := browserScript("bench/first-frame.mjs", s.Base+"/framebench", strconv.Itoa(*tabs), other.Base+"/framebench")
	if err != nil {
		return err
	}
	var ms [2][]float64
	if err := json.Unmarshal(out, &ms); err != nil {
		return fmt.Errorf("browser script output %q: %w", out, err)
	}
	printFirstFrame(*binary, ms[0])
	printFirstFrame(*against, ms[1])
	return nil
}

func printFirstFrame(bin string, ms []float64) {
	slower := ""
	if *slowdown > 1 {
		slower = fmt.Sprintf(", CPU %d× slower", *slowdown)
	}
	fmt.Printf("first frame on a live channel page (%s; Chromium%s, %d fresh tabs, navigation start to the first presented frame, loopback): p50 %.0f ms, p95 %.0f ms (goal: p50 ≤ 1500 ms)\n",
		bin, slower, len(ms), harness.Percentile(ms, 0.5), harness.Percentile(ms, 0.95))
}

// actionLatency measures how long a stream action takes from the streamer's request to a
// viewer's screen, in Chromium with hls.js: the action goes in-band, so this is the player's
// latency plus the wait for the next video frame and part.
func actionLatency() error {
	ms, err := browserSamples("actionbench", func(base, token string) []string {
		return []string{"bench/action-latency.mjs", base + "/actionbench", base, token, "20", "20"}
	})
	if err != nil {
		return err
	}
	fmt.Printf("stream action latency (POST /api/me/stream-actions to the notice on a viewer's screen, Chromium with hls.js, %d samples after 20 s of playback): p50 %.0f ms, p95 %.0f ms\n",
		len(ms), harness.Percentile(ms, 0.5), harness.Percentile(ms, 0.95))
	return nil
}

// browserSamples starts a server with a live 720p30 stream on a channel of that name, runs a
// web/bench script with the arguments args gives (from the server's base URL and the
// streamer's token) and returns the milliseconds it prints as a JSON array.
func browserSamples(channel string, args func(base, token string) []string) ([]float64, error) {
	s, err := harness.StartLive(*binary, channel, liveEncoder)
	if err != nil {
		return nil, err
	}
	defer s.Stop()
	out, err := browserScript(args(s.Base, s.Token)...)
	if err != nil {
		return nil, err
	}
	var ms []float64
	if err := json.Unmarshal(out, &ms); err != nil {
		return nil, fmt.Errorf("browser script output %q: %w", out, err)
	}
	return ms, nil
}

// browserScript runs a web/bench script with node and returns what it prints on stdout.
func browserScript(args ...string) ([]byte, error) {
	cmd := exec.Command("node", args...)
	cmd.Dir = "web" // playwright-core comes from the web app's node_modules
	if *slowdown > 1 {
		cmd.Env = append(os.Environ(), "FIRST_FRAME_CPU_SLOWDOWN="+strconv.Itoa(*slowdown))
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("browser script: %w", err)
	}
	return bytes.TrimSpace(out), nil
}

// recordingCost measures what recording costs with n streams: two servers side by side, one
// recording and one not, each taking n RTMP streams of the same file, measured over the same
// -record-duration (after -record-warmup) — so that the machine's changing load (it varies by
// ±10 % between runs of 40 s on this shared 2-core box, more than the effect) weighs on both
// alike. Done -record-runs times; each run's ratio of the recording server's CPU to the other's
// is printed, then their median, and the bytes recorded per second.
func recordingCost(n int) error {
	var off, on, ratios, written []float64
	for run := range max(*recRuns, 1) {
		var pair [2]*streaming
		// The servers start in turns, the recording one first every other run: a bias of the
		// order (the second's publishers start later) weighs on both halves alike. Live
		// thumbnails are off on both: their ffmpeg runs every 30 s per stream fall unevenly
		// into a window (their cost is the thumbnail scenario's).
		order := []int{0, 1}
		if run%2 == 1 {
			order = []int{1, 0}
		}
		for _, i := range order {
			recording := i == 1 && !*recAA
			st, err := startStreams(n, "rtmp", "LIVEHOUSE_RECORDING="+strconv.FormatBool(recording), "LIVEHOUSE_THUMBNAIL_SECONDS=0")
			if err != nil {
				for _, p := range pair {
					if p != nil {
						p.stop()
					}
				}
				return fmt.Errorf("recording %v, run %d: %w", recording, run+1, err)
			}
			pair[i] = st
		}
		figs, err := measurePair(pair, *recWarm, *recFor)
		pair[0].stop()
		pair[1].stop()
		if err != nil {
			return fmt.Errorf("run %d: %w", run+1, err)
		}
		raw, _ := os.ReadFile("/proc/loadavg")
		load := strings.Fields(string(raw))[:3]
		saturated := ""
		if l, _ := strconv.ParseFloat(load[0], 64); l > float64(2*runtime.NumCPU()) {
			// Both servers starve: their CPU measures the queue for the cores, not recording.
			saturated = " — THE MACHINE IS SATURATED: this run does not measure recording; fewer streams, or more cores"
		}
		fmt.Printf("recording cost with %d streams, run %d: %.3f CPU-s per stream-minute recording off, %.3f on (%+.1f%%); kernel %.0f%% and %.0f%% of it; RSS %.0f and %.0f MiB (load average %s)%s\n",
			n, run+1, figs[0].cpuPerStreamMinute, figs[1].cpuPerStreamMinute, 100*(figs[1].cpuPerStreamMinute/figs[0].cpuPerStreamMinute-1),
			100*figs[0].sysShare, 100*figs[1].sysShare, figs[0].rssMiB, figs[1].rssMiB, strings.Join(load, " "), saturated)
		off, on = append(off, figs[0].cpuPerStreamMinute), append(on, figs[1].cpuPerStreamMinute)
		ratios, written = append(ratios, figs[1].cpuPerStreamMinute/figs[0].cpuPerStreamMinute-1), append(written, figs[1].recordedPerStreamSecond)
	}
	mW := harness.Percentile(written, 0.5)
	fmt.Printf("recording cost with %d streams (%d runs of two servers side by side, %v each): median %.3f CPU-s per stream-minute off, %.3f on; median of the runs' ratios %+.1f%% (goal ≤ +5%%; runs %s); %.0f bytes written per stream-second (%.1f MB per stream-minute)\n",
		n, len(off), *recFor, harness.Percentile(off, 0.5), harness.Percentile(on, 0.5), 100*harness.Percentile(ratios, 0.5), percents(ratios), mW, mW*60/1e6)
	return nil
}

// percents lists ratios as signed percentages.
func percents(ratios []float64) string {
	out := make([]string, len(ratios))
	for i, r := range ratios {
		out[i] = fmt.Sprintf("%+.1f%%", 100*r)
	}
	return strings.Join(out, ", ")
}

// streaming is a server taking n streams, until stop.
type streaming struct {
	s           *harness.Server
	ids, tokens []string
	stop        func()
}

// startStreams starts a server with the settings extra and publishes n copies of the sample
// to it over ingest, each on a channel of its own, and waits until all are live.
func startStreams(n int, ingest string, extra ...string) (*streaming, error) {
	file, err := sample()
	if err != nil {
		return nil, err
	}
	publish, err := copyOver(file, ingest)
	if err != nil {
		return nil, err
	}
	// One account per stream, all signed up from loopback: lift the per-address sign-up limit.
	s, err := harness.Start(*binary, append(append([]string(nil), extra...), harness.ManyAccounts...)...)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	var waits []func()
	st := &streaming{s: s, stop: func() {
		cancel()
		for _, wait := range waits {
			wait()
		}
		s.Stop()
	}}
	for i := range n {
		token, key, id, err := s.Channel(fmt.Sprintf("cpubench%03d", i))
		if err == nil {
			var wait func()
			if wait, err = publish(ctx, s, key); err == nil {
				waits = append(waits, wait)
				st.ids, st.tokens = append(st.ids, id), append(st.tokens, token)
			}
		}
		if err != nil {
			st.stop()
			return nil, err
		}
	}
	for _, id := range st.ids {
		if err := s.WaitLive(id); err != nil {
			st.stop()
			return nil, err
		}
	}
	return st, nil
}

// stillLive checks that every stream is still live, and returns the durations of the
// segments their playlists list.
func (st *streaming) stillLive() ([]float64, error) {
	var all []float64
	for i, id := range st.ids {
		d, ended, err := st.s.SegmentDurations(id)
		if err != nil {
			return nil, err
		}
		if ended {
			events, _ := st.s.SessionEvents(st.tokens[i])
			return nil, fmt.Errorf("stream %d of %d ended during the measurement; its session's events: %s", i+1, len(st.ids), strings.Join(events, ", "))
		}
		all = append(all, d...)
	}
	return all, nil
}

// measurePair measures the servers' CPU over the same d, after warm, and checks that every
// stream stayed live throughout.
func measurePair(pair [2]*streaming, warm, d time.Duration) ([2]cpuFigures, error) {
	var figs [2]cpuFigures
	time.Sleep(warm)
	var user0, sys0, rec0 [2]float64
	for i, p := range pair {
		user0[i], sys0[i] = p.s.CPUSplit()
		rec0[i], _ = harness.Metric(p.s.Base, "livehouse_recording_bytes_total")
	}
	t0 := time.Now()
	time.Sleep(d)
	elapsed := time.Since(t0)
	for i, p := range pair {
		user1, sys1 := p.s.CPUSplit()
		rec1, _ := harness.Metric(p.s.Base, "livehouse_recording_bytes_total")
		cpu := user1 + sys1 - user0[i] - sys0[i]
		streamMinutes := float64(len(p.ids)) * elapsed.Minutes()
		figs[i] = cpuFigures{cpuPerStreamMinute: cpu / streamMinutes, recordedPerStreamSecond: (rec1 - rec0[i]) / (streamMinutes * 60),
			sysShare: (sys1 - sys0[i]) / max(cpu, 1e-9), rssMiB: p.s.RSSKiB() / 1024}
		if _, err := p.stillLive(); err != nil {
			return figs, err
		}
	}
	return figs, nil
}

// cpuFigures is what one cpu measurement found.
type cpuFigures struct {
	cpuPerStreamMinute      float64
	recordedPerStreamSecond float64 // bytes the recorder wrote
	sysShare                float64 // of the CPU, the kernel's (system calls)
	rssMiB                  float64
}

// cpuPerStream publishes n copies of the sample with -c copy over an ingest protocol and
// measures the server's CPU seconds per stream-minute and its resident memory for -duration,
// then the parts late for -late; extra are settings of the server.
func cpuPerStream(n int, ingest string, extra ...string) (cpuFigures, error) {
	return measureCPU(n, ingest, cpuOptions{d: *duration, late: *lateFor, profile: fmt.Sprintf("%s-%d", ingest, n)}, extra...)
}

// cpuOptions shapes one cpu measurement.
type cpuOptions struct {
	d       time.Duration // measured
	late    time.Duration // then the parts-late follow-up (0: none)
	profile string        // the profiles' names, when -profiles is set: cpu-NAME.pprof, heap-NAME.pprof
}

func measureCPU(n int, ingest string, o cpuOptions, extra ...string) (cpuFigures, error) {
	var fig cpuFigures
	env := append([]string(nil), extra...)
	debug := ""
	if *profiles != "" {
		debug = harness.FreeAddr()
		env = append(env, "LIVEHOUSE_DEBUG_ADDR="+debug)
	}
	st, err := startStreams(n, ingest, env...)
	if err != nil {
		return fig, err
	}
	defer st.stop()
	s, ids := st.s, st.ids
	made0, late0, slow0, counted := serverParts(s)
	rec0, _ := harness.Metric(s.Base, "livehouse_recording_bytes_total")
	user0, sys0 := s.CPUSplit()
	t0 := time.Now()
	if debug != "" {
		// The CPU profile covers the measurement; the profiler's own cost is a few per cent.
		err = saveProfile(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", debug, int(o.d.Seconds())), "cpu-"+o.profile+".pprof")
	} else {
		time.Sleep(o.d)
	}
	user1, sys1 := s.CPUSplit()
	cpu, elapsed := user1+sys1-user0-sys0, time.Since(t0)
	rec1, _ := harness.Metric(s.Base, "livehouse_recording_bytes_total")
	rss := s.RSSKiB()
	made1, late1, slow1, _ := serverParts(s)
	if err != nil {
		return fig, err
	}
	if debug != "" {
		for name, q := range map[string]string{"heap-" + o.profile + ".pprof": "", "heap-" + o.profile + ".txt": "?debug=1"} {
			if err := saveProfile("http://"+debug+"/debug/pprof/heap"+q, name); err != nil {
				return fig, err
			}
		}
	}
	var late lateParts
	if o.late > 0 && n > 0 {
		if late, err = partsLate(s, ids, o.late); err != nil {
			return fig, err
		}
	}
	durations, err := st.stillLive()
	if err != nil {
		return fig, err
	}
	var segments, seconds float64
	for _, v := range durations {
		segments, seconds = segments+1, seconds+v
	}
	if n == 0 {
		fmt.Printf("server CPU with no stream (idle; %v): %.1f%% of one core, RSS %.0f MiB\n", elapsed.Round(time.Second), 100*cpu/elapsed.Seconds(), rss/1024)
		return fig, nil
	}
	streamMinutes := float64(n) * elapsed.Minutes()
	fig.cpuPerStreamMinute, fig.recordedPerStreamSecond = cpu/streamMinutes, (rec1-rec0)/(streamMinutes*60)
	fig.sysShare = (sys1 - sys0) / max(cpu, 1e-9)
	fmt.Printf("server CPU with %d concurrent 720p30 3 Mbps streams over %s (ffmpeg -c copy from a pre-encoded file, %s in, LL-HLS packaging, no viewers, %s; %v): %.2f CPU-s per stream-minute, %.1f%% of one core in all, RSS %.0f MiB; segments listed %.1f s long on average\n",
		n, strings.ToUpper(ingest), strings.ToUpper(ingest), strings.Join(extra, " "), elapsed.Round(time.Second), cpu/streamMinutes, 100*cpu/elapsed.Seconds(), rss/1024, seconds/segments)
	if counted {
		fmt.Printf("parts late with %d streams, as the server counts them (%s and %s, over the %v measured above): of %.0f parts, %.0f published more than PART-TARGET after the unit that completed them arrived (the server's own delay), %.0f more than PART-TARGET after their newest frame arrived (the publisher's pauses included)\n",
			n, partsSlowMetric, partsLateMetric, elapsed.Round(time.Second), made1-made0, slow1-slow0, late1-late0)
	}
	if o.late > 0 {
		fmt.Printf("parts late with %d streams (then every stream followed part by part with blocking reloads for %v, publishers still on the same box; a part's delay: from its newest frame's arrival, by its PDT, to the return of the reload listing it): %d of %d parts late, listed more than PART-TARGET (%.0f ms) later than the quickest part of their stream; %d delayed more than PART-TARGET in all; delay p50 %.0f ms, p95 %.0f ms, max %.0f ms; over the stream's quickest p95 %.0f ms, max %.0f ms\n",
			n, o.late, late.late, len(late.ms), late.target*1000, late.overTarget,
			harness.Percentile(late.ms, 0.5), harness.Percentile(late.ms, 0.95), harness.Percentile(late.ms, 1),
			harness.Percentile(late.excess, 0.95), harness.Percentile(late.excess, 1))
	}
	return fig, nil
}

// The server's count of the parts its packager made, of those published more than
// PART-TARGET after their newest frame arrived, and of those published more than PART-TARGET
// after the unit that completed them arrived (llhls.Parts), where it exposes them.
const (
	partsMetric     = "livehouse_hls_parts_total"
	partsLateMetric = "livehouse_hls_parts_late_total"
	partsSlowMetric = "livehouse_hls_parts_slow_total"
)

func serverParts(s *harness.Server) (made, late, slow float64, ok bool) {
	var err [3]error
	made, err[0] = harness.Metric(s.Base, partsMetric)
	late, err[1] = harness.Metric(s.Base, partsLateMetric)
	slow, err[2] = harness.Metric(s.Base, partsSlowMetric)
	return made, late, slow, err[0] == nil && err[1] == nil && err[2] == nil
}

type lateParts struct {
	target     float64   // PART-TARGET, seconds
	ms         []float64 // each part's delay
	excess     []float64 // each part's delay over the quickest of its stream
	late       int       // excess over PART-TARGET
	overTarget int       // delay over PART-TARGET
}

// partsLate follows every channel's video playlist at its live edge with blocking reloads,
// part after part, for d, and measures for each newly listed part the time from the arrival of
// its newest frame (its end by PDT, less a frame) to the return of the reload that listed it.
// A part is late when it was published late after its media arrived, or the blocking reload
// waiting for it was answered late: when its delay exceeds the quickest of its stream by more
// than PART-TARGET. The quickest, not zero: PDT is the estimated capture time of a segment's
// first frame in presentation order, and with B-frames the frames arrive in decode order, up to
// the reorder depth (about 100 ms for x264's defaults) after their PDT would say.
func partsLate(s *harness.Server, ids []string, d time.Duration) (lateParts, error) {
	var out lateParts
	target, err := partTarget(s.Base + "/hls/" + ids[0] + "/video1_stream.m3u8?token=" + harness.Token(ids[0]))
	if err != nil {
		return out, err
	}
	out.target = target
	type result struct {
		ms  []float64
		err error
	}
	results := make(chan result, len(ids))
	stop := time.Now().Add(d)
	for _, id := range ids {
		go func() {
			var r result
			r.err = harness.FollowParts(s.Base+"/hls/"+id+"/video1_stream.m3u8?token="+harness.Token(id), func(end, at time.Time) bool {
				r.ms = append(r.ms, float64(at.Sub(end.Add(-time.Second/30)).Microseconds())/1000)
				return at.Before(stop)
			})
			results <- r
		}()
	}
	for range ids {
		r := <-results
		if r.err != nil && err == nil {
			err = r.err
		}
		if len(r.ms) == 0 {
			continue
		}
		least := slices.Min(r.ms)
		for _, ms := range r.ms {
			out.ms, out.excess = append(out.ms, ms), append(out.excess, ms-least)
			if ms-least > target*1000 {
				out.late++
			}
			if ms > target*1000 {
				out.overTarget++
			}
		}
	}
	return out, err
}

// partTarget reads PART-TARGET (seconds) from a media playlist.
func partTarget(url string) (float64, error) {
	res, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	_, v, ok := strings.Cut(string(body), "PART-TARGET=")
	if !ok {
		return 0, fmt.Errorf("%s lists no PART-TARGET", url)
	}
	v, _, _ = strings.Cut(v, "\n")
	v, _, _ = strings.Cut(v, ",")
	return strconv.ParseFloat(strings.TrimSpace(v), 64)
}

// saveProfile writes what a profiler URL answers to a file in the profiles directory.
func saveProfile(url, name string) error {
	res, err := http.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, res.Status)
	}
	if err := os.MkdirAll(*profiles, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(*profiles, name))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
