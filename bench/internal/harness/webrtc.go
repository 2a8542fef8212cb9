package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// WebRTCSamples are a pre-encoded 720p30 2.5 Mbps H.264 file in MPEG-TS (baseline, no B-frames, a keyframe every
// 2 s, as a browser sends) and 30 s of Opus, made once, so publishers cost almost nothing.
func WebRTCSamples() (video, audio string, err error) {
	video = filepath.Join(os.TempDir(), "livehouse-bench-whip-720p30.ts")
	audio = filepath.Join(os.TempDir(), "livehouse-bench-whip-opus.ogg")
	if _, err := os.Stat(video); err != nil {
		out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
			"-t", "30", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "baseline", "-bf", "0", "-x264-params", "sliced-threads=0",
			"-b:v", "2500k", "-maxrate", "2500k", "-bufsize", "2500k", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
			"-pix_fmt", "yuv420p", "-f", "mpegts", video).CombinedOutput()
		if err != nil {
			return "", "", fmt.Errorf("encoding the video sample: %v: %s", err, out)
		}
	}
	if _, err := os.Stat(audio); err != nil {
		out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
			"-t", "30", "-ac", "2", "-c:a", "libopus", "-b:a", "64k", "-page_duration", "20000", "-f", "ogg", audio).CombinedOutput()
		if err != nil {
			return "", "", fmt.Errorf("encoding the audio sample: %v: %s", err, out)
		}
	}
	return video, audio, nil
}

// FFmpegCPUSeconds is the CPU time so far of the ffmpeg processes the server started (its
// Opus→AAC transcoders), from /proc.
func FFmpegCPUSeconds(parent int) float64 {
	entries, _ := os.ReadDir("/proc")
	var total float64
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		end := strings.LastIndexByte(string(raw), ')')
		if end < 0 || !strings.Contains(string(raw[:end]), "(ffmpeg") {
			continue
		}
		f := strings.Fields(string(raw[end+2:]))
		if ppid, _ := strconv.Atoi(f[1]); ppid != parent {
			continue
		}
		u, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		total += (u + st) / 100
	}
	return total
}
