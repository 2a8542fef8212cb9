// Command whep measures WebRTC playback (WHEP) against the real binary, for `make bench`:
// glass-to-glass latency in Chromium (a time drawn into a canvas, sent over WHIP, read back
// from the frames a WHEP viewer presents), publisher-to-viewer latency and join time, server CPU per WHEP viewer (and so how many
// viewers of one 720p stream a core serves), and the CPU of the AAC→Opus transcode an RTMP
// stream needs once it has WebRTC viewers. It prints each figure with how it was measured.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/livehouse/livehouse/bench/internal/harness"
	"github.com/livehouse/livehouse/internal/media/whep/wheptest"
	"github.com/livehouse/livehouse/internal/media/whip/whiptest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

var (
	binary   = flag.String("bin", "bin/livehouse", "livehouse binary")
	scenario = flag.String("scenario", "all", "glass, latency, cpu, opus or all")
	runs     = flag.Int("runs", 3, "glass: runs, each on a fresh server and browser")
	frames   = flag.Int("frames", 300, "glass: frames read per run, after its first 3 s")
	offset   = flag.Duration("glass-offset", 0, "glass: draw the time this much early, to check that the figures grow by it")
	joinsN   = flag.Int("joins", 12, "viewers joining one after another for the latency figures")
	viewersF = flag.String("viewers", "10,40", "concurrent WHEP viewers for the cpu scenario")
	duration = flag.Duration("duration", 20*time.Second, "how long each cpu measurement runs")
)

func run() error {
	flag.Parse()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return errors.New("ffmpeg is needed (make system-deps installs it)")
	}
	all := *scenario == "all"
	if all || *scenario == "glass" {
		if err := glass(); err != nil {
			return fmt.Errorf("glass: %w", err)
		}
	}
	if all || *scenario == "latency" {
		if err := latency(); err != nil {
			return fmt.Errorf("latency: %w", err)
		}
	}
	if all || *scenario == "cpu" {
		for _, f := range strings.Split(*viewersF, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return err
			}
			if err := cpuPerViewer(n); err != nil {
				return fmt.Errorf("cpu with %d viewers: %w", n, err)
			}
		}
	}
	if all || *scenario == "opus" {
		if err := opusCPU(); err != nil {
			return fmt.Errorf("opus: %w", err)
		}
	}
	return nil
}

// glass measures glass-to-glass latency in Chromium, -runs times on a fresh server each: a
// page draws the time into a 1280×720 canvas and publishes it over WHIP as the broadcast card
// does, another plays the channel over WHEP and reads the time back from each frame it
// presents (web/bench/glass-to-glass.mjs).
func glass() error {
	r := harness.GlassRuns{What: "WHIP→WHEP"}
	for range *runs {
		load := harness.Load()
		s, err := harness.Start(*binary)
		if err != nil {
			return err
		}
		_, key, id, err := s.Channel("glassbench")
		if err != nil {
			s.Stop()
			return err
		}
		g, err := harness.MeasureGlassToGlass(harness.GlassConfig{Origin: s.Base, Frames: *frames, WarmupSeconds: 3, OffsetMs: ms(*offset),
			Publish: harness.Endpoint{URL: s.Base + "/api/whip", Token: key},
			Play:    harness.Endpoint{URL: s.Base + "/api/whep/" + id, Token: harness.Token(id)}})
		s.Stop()
		if err != nil {
			return err
		}
		r.Add(g, load)
	}
	what := ""
	if *offset != 0 {
		what = fmt.Sprintf(" (CHECK: the time drawn %v early, so every figure should be %v more)", *offset, *offset)
	}
	r.Summary(fmt.Sprintf("a page draws the time into a 1280×720 canvas on each animation frame, captureStream → WHIP (H.264, ≤ 2.5 Mbps, 30 fps) → the server → WHEP → a <video> in another page, "+
		"which reads the time back from each frame it presents (requestVideoFrameCallback's expected display time); %d frames per run after its first 3 s, loopback, one browser%s", *frames, what))
	return nil
}

// publishWHIP is a harness publisher: a Pion WHIP client sending the 720p30 sample (and its
// Opus) in a loop, reporting each access unit it sends.
func publishWHIP(onAU func([]byte, time.Time)) harness.Publisher {
	return func(ctx context.Context, s *harness.Server, key string) (func(), error) {
		video, opus, err := harness.WebRTCSamples()
		if err != nil {
			return nil, err
		}
		p, err := whiptest.Publish(ctx, s.Base+"/api/whip", key, whiptest.Options{Width: 1280, Height: 720, VideoFile: video, AudioFile: opus, OnAccessUnit: onAU})
		if err != nil {
			return nil, err
		}
		return p.Close, nil
	}
}

// latency publishes a 720p30 stream over WHIP and has viewers join over WHEP one after
// another. For each: the time from its offer to its first complete picture, and for every
// picture after its first second the time from the publisher sending it to the viewer
// having all of it (both Pion clients on loopback, so no capture, encode, decode or display
// is included: what the server adds).
func latency() error {
	sent := harness.NewSentFrames()
	s, err := harness.StartLive(*binary, "wheplatency", publishWHIP(sent.Add))
	if err != nil {
		return err
	}
	defer s.Stop()
	endpoint := s.Base + "/api/whep/" + s.ChannelID
	var joins, all, joinMedians []float64
	for range *joinsN {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		start := time.Now()
		v, err := wheptest.Play(ctx, endpoint, harness.Token(s.ChannelID), wheptest.Options{Keep: 200})
		if err != nil {
			cancel()
			return err
		}
		for len(v.Frames()) < 120 && ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond) // polling interval while frames arrive
		}
		_, _ = v.Leave(ctx)
		cancel()
		frames := v.Frames()
		if len(frames) < 120 {
			return fmt.Errorf("a viewer got %d pictures in 30 s", len(frames))
		}
		joins = append(joins, ms(frames[0].Arrived.Sub(start)))
		var these []float64
		for _, f := range frames {
			if f.Arrived.Sub(frames[0].Arrived) < time.Second {
				continue // the group of pictures a viewer starts with is older by design
			}
			if at, ok := sent.When(f.NALUs); ok {
				these = append(these, ms(f.Arrived.Sub(at)))
			}
		}
		all = append(all, these...)
		joinMedians = append(joinMedians, harness.Percentile(these, 0.5))
	}
	fmt.Printf("WHEP join (%d viewers joining one after another a 720p30 2.5 Mbps WHIP stream, Pion clients on loopback): offer posted → first complete picture (a keyframe, from the cached group of pictures): p50 %.0f ms, p95 %.0f ms\n",
		len(joins), harness.Percentile(joins, 0.5), harness.Percentile(joins, 0.95))
	fmt.Printf("WHIP→WHEP latency (same run, %d pictures after each viewer's first second): the publisher sends a picture → the viewer has all of it: p50 %.1f ms, p95 %.1f ms; median of the %d viewers' medians %.1f ms "+
		"(no capture, encode, decode or display: add the browser's for glass-to-glass)\n",
		len(all), harness.Percentile(all, 0.5), harness.Percentile(all, 0.95), len(joinMedians), harness.Percentile(joinMedians, 0.5))
	return nil
}

// cpuPerViewer publishes one 720p30 stream over WHIP and reads the server's CPU time over a
// window with no viewer, then with n WHEP viewers (video and audio, Opus passed through).
func cpuPerViewer(n int) error {
	s, err := harness.StartLive(*binary, "whepcpu", publishWHIP(nil), "LIVEHOUSE_WEBRTC_HLS_AUDIO=opus")
	if err != nil {
		return err
	}
	defer s.Stop()
	window := func() float64 {
		c0, t0 := s.CPUSeconds(), time.Now()
		time.Sleep(*duration) // the measurement window
		return (s.CPUSeconds() - c0) / time.Since(t0).Minutes()
	}
	base := window()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute+*duration)
	defer cancel()
	var vs []*wheptest.Viewer
	defer func() {
		for _, v := range vs {
			v.Close()
		}
	}()
	endpoint := s.Base + "/api/whep/" + s.ChannelID
	for range n {
		v, err := wheptest.Play(ctx, endpoint, harness.Token(s.ChannelID), wheptest.Options{Keep: 1})
		if err != nil {
			return err
		}
		vs = append(vs, v)
	}
	time.Sleep(2 * time.Second) // let the connections come up and the starting bursts pass
	with := window()
	for _, v := range vs {
		if len(v.Frames()) == 0 {
			return errors.New("a viewer received nothing")
		}
	}
	perViewer := (with - base) / float64(n)
	fmt.Printf("server CPU per WHEP viewer (%d viewers of one 720p30 2.5 Mbps + Opus WHIP stream, SRTP + RTP packetising + RTCP; %v windows): stream alone %.2f CPU-s/min, with the viewers %.2f: "+
		"%.3f CPU-s per viewer-minute (%.2f%% of a core), so one core serves about %.0f such viewers\n",
		n, *duration, base, with, perViewer, 100*perViewer/60, 60/perViewer)
	return nil
}

// opusCPU publishes H.264 + AAC over RTMP (a pre-encoded file, copied) and reads the CPU of
// the server's AAC→Opus ffmpeg while one WHEP viewer with audio watches.
func opusCPU() error {
	sample := filepath.Join(os.TempDir(), "livehouse-bench-whep-720p30-aac.flv")
	if _, err := os.Stat(sample); err != nil {
		out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
			"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "30", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "baseline",
			"-bf", "0", "-g", "60", "-b:v", "2500k", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-f", "flv", sample).CombinedOutput()
		if err != nil {
			return fmt.Errorf("encoding the sample: %v: %s", err, out)
		}
	}
	s, err := harness.StartLive(*binary, "whepopus", harness.FFmpeg("-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", sample, "-c", "copy", "-f", "flv"))
	if err != nil {
		return err
	}
	defer s.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute+*duration)
	defer cancel()
	v, err := wheptest.Play(ctx, s.Base+"/api/whep/"+s.ChannelID, harness.Token(s.ChannelID), wheptest.Options{Keep: 1000})
	if err != nil {
		return err
	}
	defer v.Close()
	for len(v.Opus()) == 0 && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond) // polling interval while the transcoder starts
	}
	ff0, t0 := harness.FFmpegCPUSeconds(s.PID()), time.Now()
	time.Sleep(*duration) // the measurement window
	ff, elapsed := harness.FFmpegCPUSeconds(s.PID())-ff0, time.Since(t0)
	got := len(v.Opus())
	fmt.Printf("AAC→Opus for WebRTC viewers of an RTMP stream (128 kbps AAC in, 96 kbps Opus out, one ffmpeg per stream while it has WHEP viewers; %v): %.2f CPU-s per stream-minute (%.2f%% of a core), %d Opus packets received\n",
		elapsed.Round(time.Second), ff/elapsed.Minutes(), 100*ff/elapsed.Seconds(), got)
	if got == 0 {
		return errors.New("no Opus arrived")
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
