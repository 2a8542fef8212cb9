// Command whip measures WebRTC ingest against the real binary, for `make bench`: WHIP-to-part
// latency, server CPU per WebRTC stream, and what transcoding Opus to AAC would cost (the
// alternative to passing Opus through into fMP4). It prints each figure with how it was
// measured.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/livehouse/livehouse/bench/internal/harness"
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
	scenario = flag.String("scenario", "all", "latency, cpu, opus or all")
	streamsF = flag.String("streams", "1,5,10", "concurrent WebRTC streams for the cpu scenario")
	duration = flag.Duration("duration", 30*time.Second, "how long each cpu measurement runs")
	partsN   = flag.Int("parts", 150, "parts sampled for the latency figure")
	audioF   = flag.String("audio", "aac,opus", "webrtc_hls_audio settings to measure: aac (Opus transcoded), opus (passed through)")
)

func run() error {
	flag.Parse()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return errors.New("ffmpeg is needed (make system-deps installs it)")
	}
	all := *scenario == "all"
	for _, audio := range strings.Split(*audioF, ",") {
		// The server reads its settings from the environment the harness passes on.
		if err := os.Setenv("LIVEHOUSE_WEBRTC_HLS_AUDIO", audio); err != nil {
			return err
		}
		if all || *scenario == "latency" {
			if err := latency(audio); err != nil {
				return fmt.Errorf("latency: %w", err)
			}
		}
		if all || *scenario == "cpu" {
			for _, f := range strings.Split(*streamsF, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil {
					return err
				}
				if err := cpuPerStream(n, audio); err != nil {
					return fmt.Errorf("cpu with %d streams: %w", n, err)
				}
			}
		}
	}
	if all || *scenario == "opus" {
		if err := opusToAAC(); err != nil {
			return fmt.Errorf("opus: %w", err)
		}
	}
	return nil
}

// latency publishes one 720p30 stream over WHIP (a Pion client, H.264 + Opus, loopback) and,
// for each new video part, measures from the moment the part's newest frame was sent by the
// publisher to the moment a blocking playlist reload lists the part. It also reports the
// part's newest frame's arrival (its PDT) to listing, which is what RTMP's figure measures.
func latency(audio string) error {
	video, opus, err := harness.WebRTCSamples()
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var sent []time.Time // send time of each video frame, in order
	var pub *whiptest.Publisher
	s, err := harness.StartLive(*binary, "whiplatency", func(ctx context.Context, s *harness.Server, key string) (func(), error) {
		var err error
		pub, err = whiptest.Publish(ctx, s.Base+"/api/whip", key, whiptest.Options{Width: 1280, Height: 720, VideoFile: video, AudioFile: opus,
			OnFrame: func(_ int, at time.Time) {
				mu.Lock()
				sent = append(sent, at)
				mu.Unlock()
			}})
		if err != nil {
			return nil, err
		}
		return func() { pub.Close() }, nil
	})
	if err != nil {
		return err
	}
	defer s.Stop()
	id := s.ChannelID
	var fromSend []float64
	fromArrival, err := follow(s.Base+"/hls/"+id+"/video1_stream.m3u8?token="+harness.Token(id), time.Second/30, func(newest, listed time.Time) {
		// The newest frame is the last one the publisher sent before it arrived (loopback: the
		// transit is far below a frame interval).
		mu.Lock()
		defer mu.Unlock()
		i, _ := slices.BinarySearchFunc(sent, newest, func(t, target time.Time) int { return t.Compare(target) })
		if i > 0 {
			fromSend = append(fromSend, float64(listed.Sub(sent[i-1]).Microseconds())/1000)
		}
	})
	if err != nil {
		return err
	}
	if err := pub.Err(); err != nil {
		return err
	}
	fmt.Printf("WHIP-to-part latency, webrtc_hls_audio=%s (720p30 2.5 Mbps H.264 + 64 kbps Opus from a Pion publisher over loopback, 200 ms parts, %d parts each): "+
		"the publisher sends a part's newest video frame → a blocking reload lists the part: p50 %.1f ms, p95 %.1f ms; its arrival (PDT) → listed: p50 %.1f ms, p95 %.1f ms "+
		"(a part's oldest frame waits up to one part target more; parts are cut on the video, so audio late from a transcoder moves into the next part — see the opus scenario for that delay)\n",
		audio, *partsN, harness.Percentile(fromSend, 0.5), harness.Percentile(fromSend, 0.95), harness.Percentile(fromArrival, 0.5), harness.Percentile(fromArrival, 0.95))
	return nil
}

// follow reads *partsN new parts of a media playlist with blocking reloads and returns, for
// each, the time from its newest sample's start (PDT-based; sample is one sample's duration)
// to the reload that listed it. seen, if set, also gets both instants. (The playlists share
// segments, so an audio playlist's PDT is the video's: only video parts are measured.)
func follow(url string, sample time.Duration, seen func(newest, listed time.Time)) ([]float64, error) {
	var lat []float64
	err := harness.FollowParts(url, func(end, at time.Time) bool {
		newest := end.Add(-sample)
		lat = append(lat, float64(at.Sub(newest).Microseconds())/1000)
		if seen != nil {
			seen(newest, at)
		}
		return len(lat) < *partsN
	})
	return lat, err
}

// cpuPerStream publishes n WebRTC streams at once and reads the server's CPU time over the
// measurement window.
func cpuPerStream(n int, audio string) error {
	video, opus, err := harness.WebRTCSamples()
	if err != nil {
		return err
	}
	s, err := harness.Start(*binary)
	if err != nil {
		return err
	}
	defer s.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var pubs []*whiptest.Publisher
	defer func() {
		for _, p := range pubs {
			p.Close()
		}
	}()
	var ids []string
	for i := range n {
		_, key, id, err := s.Channel(fmt.Sprintf("whipcpu%03d", i))
		if err != nil {
			return err
		}
		p, err := whiptest.Publish(ctx, s.Base+"/api/whip", key, whiptest.Options{Width: 1280, Height: 720, VideoFile: video, AudioFile: opus})
		if err != nil {
			return err
		}
		pubs = append(pubs, p)
		ids = append(ids, id)
	}
	for _, id := range ids {
		if err := s.WaitLive(id); err != nil {
			return err
		}
	}
	cpu0, ff0, t0 := s.CPUSeconds(), harness.FFmpegCPUSeconds(s.PID()), time.Now()
	time.Sleep(*duration) // the measurement window
	cpu, elapsed := s.CPUSeconds()-cpu0, time.Since(t0)
	for _, p := range pubs {
		if err := p.Err(); err != nil {
			return err
		}
	}
	streamMinutes := float64(n) * elapsed.Minutes()
	ff := harness.FFmpegCPUSeconds(s.PID()) - ff0
	fmt.Printf("server CPU with %d concurrent WebRTC streams, webrtc_hls_audio=%s (720p30 2.5 Mbps H.264 + 64 kbps Opus over WHIP, SRTP + depacketising + LL-HLS packaging, no viewers; %v): "+
		"%.2f CPU-s per stream-minute in livehouse + %.2f in its ffmpeg transcoders, %.1f%% of one core in all, RSS %.0f MiB\n",
		n, audio, elapsed.Round(time.Second), cpu/streamMinutes, ff/streamMinutes, 100*(cpu+ff)/elapsed.Seconds(), s.RSSKiB()/1024)
	return nil
}

// opusToAAC measures the alternative to Opus passthrough: an ffmpeg transcoder per stream
// behind pipes. It costs CPU (the encoder) and delay (ffmpeg's input probing and the AAC
// encoder's lookahead): 20 ms Opus packets are written in real time to ffmpeg's stdin, and the
// time until the matching ADTS frames come out of its stdout is recorded.
func opusToAAC() error {
	_, audio, err := harness.WebRTCSamples()
	if err != nil {
		return err
	}
	// CPU: transcode 30 s of Opus as fast as possible.
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", audio, "-c:a", "aac", "-b:a", "128k", "-f", "adts", "-y", os.DevNull)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	perMinute := cpu.Seconds() * 2 // 30 s of audio

	// Delay: ffmpeg reading Ogg Opus on stdin in real time, writing ADTS AAC on stdout.
	src, err := os.ReadFile(audio)
	if err != nil {
		return err
	}
	tc := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-fflags", "nobuffer", "-probesize", "32", "-analyzeduration", "0",
		"-f", "ogg", "-i", "pipe:0", "-c:a", "aac", "-b:a", "128k", "-flush_packets", "1", "-f", "adts", "pipe:1")
	in, err := tc.StdinPipe()
	if err != nil {
		return err
	}
	out, err := tc.StdoutPipe()
	if err != nil {
		return err
	}
	if err := tc.Start(); err != nil {
		return err
	}
	defer tc.Wait()
	start := time.Now()
	const writeFor = 10 * time.Second
	go func() {
		defer in.Close()
		// Ogg pages of 20 ms each; write them paced in real time (rough split on page headers).
		pages := splitOgg(src)
		for i, p := range pages {
			// Page i ≥ 2 holds the audio up to (i-1)×20 ms: a live source has it only then.
			if d := time.Until(start.Add(time.Duration(max(i-1, 0)) * 20 * time.Millisecond)); d > 0 {
				time.Sleep(d) // real-time pacing of the source
			}
			if _, err := in.Write(p); err != nil {
				return
			}
			if time.Since(start) > writeFor {
				return
			}
		}
	}()
	var delays []float64
	r := bufio.NewReader(out)
	var produced time.Duration // audio time produced so far
	for {
		hdr := make([]byte, 7)
		if _, err := io.ReadFull(r, hdr); err != nil {
			break
		}
		n := int(hdr[3]&0x3)<<11 | int(hdr[4])<<3 | int(hdr[5])>>5
		if n < 7 {
			break
		}
		if _, err := io.CopyN(io.Discard, r, int64(n-7)); err != nil {
			break
		}
		produced += time.Second * 1024 / 48000
		// This frame ends produced−1024 samples into the source (the encoder's priming comes
		// first), which the source had made available at that time after start.
		delays = append(delays, float64(time.Since(start.Add(produced-time.Second*1024/48000)).Microseconds())/1000)
	}
	if len(delays) > 50 {
		delays = delays[50:] // past the start-up
	}
	fmt.Printf("Opus→AAC transcode (the alternative to Opus passthrough; ffmpeg libopus decode + native AAC 128 kbps, behind pipes): %.3f CPU-s per stream-minute; "+
		"added delay from an Opus packet written to its AAC frame read back: p50 %.0f ms, p95 %.0f ms (%d frames)\n",
		perMinute, harness.Percentile(delays, 0.5), harness.Percentile(delays, 0.95), len(delays))
	return nil
}

// splitOgg cuts an Ogg stream at its page boundaries ("OggS").
func splitOgg(b []byte) [][]byte {
	var pages [][]byte
	for len(b) > 0 {
		next := strings.Index(string(b[4:]), "OggS")
		if next < 0 {
			pages = append(pages, b)
			break
		}
		pages = append(pages, b[:next+4])
		b = b[next+4:]
	}
	return pages
}
