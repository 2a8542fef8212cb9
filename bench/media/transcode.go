package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/livehouse/livehouse/bench/internal/harness"
	"github.com/livehouse/livehouse/internal/media/transcode"
)

var (
	ladderSeconds = flag.Int("ladder-seconds", 20, "seconds of 1080p30 media the transcode cpu scenario encodes")
	ladderParts   = flag.Int("ladder-parts", 100, "parts the transcode latency scenario compares")
)

// ladderSample is a pre-encoded 1080p30, 6 Mbps H.264 + AAC MPEG-TS file: what the transcoder
// receives on its stdin from a STANDARD channel's top input.
func ladderSample() (string, error) {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("livehouse-bench-1080p30-%ds.ts", *ladderSeconds))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", fmt.Sprint(*ladderSeconds), "-c:v", "libx264", "-preset", "veryfast", "-b:v", "6000k", "-maxrate", "6000k", "-bufsize", "6000k",
		"-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "160k", "-f", "mpegts", path).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("encoding the sample: %v: %s", err, out)
	}
	return path, nil
}

// ffmpegCPU runs ffmpeg on the ladder's command line over the sample, as fast as it goes
// (CPU per media second does not depend on pacing), and returns its user+system CPU seconds.
func ffmpegCPU(sample string, args []string, outputs int) (float64, error) {
	in, err := os.Open(sample)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	cmd := exec.Command("ffmpeg", args...)
	cmd.Stdin = in
	var wg sync.WaitGroup
	for range outputs {
		r, w, err := os.Pipe()
		if err != nil {
			return 0, err
		}
		cmd.ExtraFiles = append(cmd.ExtraFiles, w)
		wg.Go(func() { _, _ = io.Copy(io.Discard, r); r.Close() })
	}
	out, err := cmd.CombinedOutput()
	for _, w := range cmd.ExtraFiles {
		w.Close()
	}
	wg.Wait()
	if err != nil {
		return 0, fmt.Errorf("ffmpeg: %v: %s", err, out)
	}
	return (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds(), nil
}

// transcodeCPU measures the CPU the ladder costs per stream-minute: the full 1080p30 ladder,
// each rung alone, and decoding the source alone (which every run includes).
func transcodeCPU() error {
	sample, err := ladderSample()
	if err != nil {
		return err
	}
	perMinute := func(cpu float64) float64 { return cpu / float64(*ladderSeconds) * 60 }
	decode, err := ffmpegCPU(sample, []string{"-hide_banner", "-loglevel", "error", "-copyts", "-f", "mpegts", "-i", "pipe:0", "-map", "0:v", "-f", "null", "-"}, 0)
	if err != nil {
		return err
	}
	rungs := transcode.Plan(1920, 1080)
	full, err := ffmpegCPU(sample, transcode.Args(transcode.DefaultConfig, rungs, false, 30), len(rungs))
	if err != nil {
		return err
	}
	fmt.Printf("transcode CPU (ffmpeg %s x264 %s zerolatency, 1080p30 6 Mbps source, %d s of media, user+system CPU scaled to one stream-minute; 1080p is passed through):\n",
		"5.1", transcode.DefaultConfig.Preset, *ladderSeconds)
	fmt.Printf("  full ladder 720p+480p+360p+160p: %.1f CPU-s per stream-minute (%.2f cores)\n", perMinute(full), full/float64(*ladderSeconds))
	fmt.Printf("  decoding the 1080p source alone: %.1f CPU-s per stream-minute (in every figure)\n", perMinute(decode))
	for _, r := range rungs {
		cpu, err := ffmpegCPU(sample, transcode.Args(transcode.DefaultConfig, []transcode.Rung{r}, false, 30), 1)
		if err != nil {
			return err
		}
		fmt.Printf("  %s alone: %.1f CPU-s per stream-minute, %.1f above decoding\n", r.Name, perMinute(cpu), perMinute(cpu-decode))
	}
	return nil
}

// transcodeLatency publishes a live 640x360 stream to a STANDARD channel and follows the
// source's and the 160p rung's media playlists with blocking reloads: parts line up across
// renditions (same media times, same program-date-time), so the extra latency of the lowest
// rung is when a part is listed there minus when the same part was listed in the source.
func transcodeLatency() error {
	pub := harness.FFmpeg("-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-x264-params", "sliced-threads=0", "-g", "60",
		"-b:v", "800k", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv")
	s, err := harness.StartLive(*binary, "ladderbench", pub, "LIVEHOUSE_CHANNEL_TYPE=STANDARD")
	if err != nil {
		return err
	}
	defer s.Stop()
	base := s.Base + "/hls/" + s.ChannelID + "/"
	deadline := time.Now().Add(45 * time.Second)
	for {
		res, err := http.Get(base + "160p/video1_stream.m3u8?token=" + harness.Token(s.ChannelID))
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the 160p rung did not appear")
		}
		time.Sleep(200 * time.Millisecond)
	}
	type seen map[int64]time.Time // part end (PDT + offset, ms) → when a reload listed it
	follow := func(url string, out seen, stop <-chan struct{}) error {
		return harness.FollowParts(url, func(end, at time.Time) bool {
			if _, dup := out[end.UnixMilli()]; !dup {
				out[end.UnixMilli()] = at
			}
			select {
			case <-stop:
				return false
			default:
				return true
			}
		})
	}
	src, low := seen{}, seen{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var errSrc, errLow error
	wg.Go(func() { errSrc = follow(base+"video1_stream.m3u8?token="+harness.Token(s.ChannelID), src, stop) })
	wg.Go(func() { errLow = follow(base+"160p/video1_stream.m3u8?token="+harness.Token(s.ChannelID), low, stop) })
	time.Sleep(time.Duration(*ladderParts) * 200 * time.Millisecond) // the measurement window
	close(stop)
	wg.Wait()
	if errSrc != nil || errLow != nil {
		return fmt.Errorf("following the playlists: %v %v", errSrc, errLow)
	}
	var extra []float64
	for end, t := range low {
		if t0, ok := src[end]; ok {
			extra = append(extra, float64(t.Sub(t0).Microseconds())/1000)
		}
	}
	if len(extra) == 0 {
		return fmt.Errorf("no part was seen in both renditions")
	}
	fmt.Printf("transcoder latency, lowest rung (640x360 live source → 160p x264 %s zerolatency, 200 ms parts, %d parts seen in both; a part listed in 160p minus the same part listed in the source): p50 %.0f ms, p95 %.0f ms\n",
		transcode.DefaultConfig.Preset, len(extra), harness.Percentile(extra, 0.5), harness.Percentile(extra, 0.95))
	return nil
}
