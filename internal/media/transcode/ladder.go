package transcode

import (
	"fmt"
	"strconv"
	"strings"
)

// Rung is one transcoded rendition of the ladder.
type Rung struct {
	Name         string // "720p"
	Height       int    // of the picture's shorter edge
	VideoBitrate int    // bits per second
	AudioBitrate int    // bits per second of its own AAC; 0: it plays the source's audio
}

// Ladder is the managed service's STANDARD ladder below the source (which is the 1080p rung
// at most, passed through). Audio is transcoded for the lowest rung only.
var Ladder = []Rung{
	{Name: "720p", Height: 720, VideoBitrate: 2_500_000},
	{Name: "480p", Height: 480, VideoBitrate: 1_200_000},
	{Name: "360p", Height: 360, VideoBitrate: 700_000},
	{Name: "160p", Height: 160, VideoBitrate: 250_000, AudioBitrate: 64_000},
}

// Plan returns the rungs to transcode for a source picture: those below the source's shorter
// edge (a rung at the source's size would repeat the source).
func Plan(width, height int) []Rung {
	edge := min(width, height)
	var out []Rung
	for _, r := range Ladder {
		if r.Height < edge {
			out = append(out, r)
		}
	}
	return out
}

// Encoders that Config.Encoder may name.
const (
	EncoderX264  = "x264"
	EncoderVAAPI = "vaapi"
	EncoderNVENC = "nvenc"
	EncoderQSV   = "qsv"
)

// Args is ffmpeg's command line for a ladder: MPEG-TS in on stdin (timestamps kept as they
// are, -copyts), each rung out as MPEG-TS on its own pipe, file descriptor 3 onwards, with the
// input's timestamps and a keyframe exactly on every source keyframe (-force_key_frames
// source, no other keyframes, no B-frames, closed GOPs), so that every rung can be cut into
// segments at the same media times as the source. portrait marks a source taller than wide.
// fps is the source's nominal frame rate (NominalFPS): the encoders' rate for the stream's
// headers and level, the frames' own times being kept whatever it is.
func Args(c Config, rungs []Rung, portrait bool, fps float64) []string {
	args := []string{"-hide_banner", "-loglevel", "warning", "-nostats"}
	if c.Encoder == EncoderVAAPI {
		args = append(args, "-vaapi_device", c.device())
	}
	args = append(args, "-probesize", "500000", "-analyzeduration", "500000",
		"-copyts", "-f", "mpegts", "-i", "pipe:0")

	var graph strings.Builder
	if len(rungs) > 1 {
		fmt.Fprintf(&graph, "[0:v]split=%d", len(rungs))
		for i := range rungs {
			fmt.Fprintf(&graph, "[s%d]", i)
		}
		graph.WriteString(";")
	}
	for i, r := range rungs {
		in := "[0:v]"
		if len(rungs) > 1 {
			in = fmt.Sprintf("[s%d]", i)
		}
		size := "-2:" + strconv.Itoa(r.Height)
		if portrait {
			size = strconv.Itoa(r.Height) + ":-2"
		}
		switch c.Encoder {
		case EncoderVAAPI:
			fmt.Fprintf(&graph, "%sscale=%s,format=nv12,hwupload[v%d];", in, size, i)
		case EncoderQSV:
			fmt.Fprintf(&graph, "%sscale=%s,format=nv12[v%d];", in, size, i)
		default:
			fmt.Fprintf(&graph, "%sscale=%s,format=yuv420p[v%d];", in, size, i)
		}
	}
	args = append(args, "-filter_complex", strings.TrimSuffix(graph.String(), ";"))

	for i, r := range rungs {
		args = append(args, "-map", fmt.Sprintf("[v%d]", i))
		if r.AudioBitrate > 0 {
			args = append(args, "-map", "0:a?", "-c:a", "aac", "-b:a", strconv.Itoa(r.AudioBitrate))
		}
		args = append(args, c.videoCodec(r)...)
		args = append(args,
			"-bf", "0", "-force_key_frames", "source",
			"-r", strconv.FormatFloat(fps, 'f', -1, 64), "-fps_mode", "passthrough", "-enc_time_base:v", "-1",
			"-f", "mpegts", "-mpegts_copyts", "1", "-flush_packets", "1",
			fmt.Sprintf("pipe:%d", 3+i))
	}
	return args
}

// NominalFPS is the frame rate to give the encoders for a source whose SPS says fps (0: it
// does not say). Without one, ffmpeg takes a rate from the MPEG-TS time base when it cannot
// guess one from the first frames (a WebRTC source's uneven ones, on a busy machine): x264
// then writes 90000 frames a second into the rung's headers and picks level 6.2, which
// players read from CODECS and FRAME-RATE. A camera's 30 is the default.
func NominalFPS(fps float64) float64 {
	if fps <= 0 || fps > 120 {
		return 30
	}
	return fps
}

func (c Config) device() string {
	if c.Device != "" {
		return c.Device
	}
	return "/dev/dri/renderD128"
}

// videoCodec is the encoder and rate control of one rung: constrained VBR with a one-second
// buffer, as live delivery wants.
func (c Config) videoCodec(r Rung) []string {
	b := r.VideoBitrate
	rate := []string{"-b:v", strconv.Itoa(b), "-maxrate", strconv.Itoa(b * 11 / 10), "-bufsize", strconv.Itoa(b)}
	switch c.Encoder {
	case EncoderNVENC:
		return append([]string{"-c:v", "h264_nvenc", "-preset", "p2", "-tune", "ll", "-zerolatency", "1", "-forced-idr", "1", "-g", "100000"}, rate...)
	case EncoderQSV:
		return append([]string{"-c:v", "h264_qsv", "-preset", "veryfast", "-look_ahead", "0", "-forced_idr", "1", "-g", "100000"}, rate...)
	case EncoderVAAPI:
		return append([]string{"-c:v", "h264_vaapi", "-g", "100000"}, rate...)
	}
	preset := c.Preset
	if preset == "" {
		preset = "veryfast"
	}
	return append([]string{"-c:v", "libx264", "-preset", preset, "-tune", "zerolatency", "-forced-idr", "1",
		"-x264-params", "keyint=infinite:min-keyint=1:scenecut=0:open-gop=0"}, rate...)
}
