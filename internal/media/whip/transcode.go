package whip

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"

	"github.com/livehouse/livehouse/internal/safe"
)

// Audio for HLS viewers: what Opus from WebRTC publishers becomes.
const (
	AudioAAC  = "aac"  // transcoded by ffmpeg: plays wherever HLS does
	AudioOpus = "opus" // passed through into fMP4: no cost, but not every player takes it
)

// aacConfig is the transcoder's output: AAC-LC, 48 kHz, stereo.
var aacConfig = mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelConfig: 2}

const (
	aacFrame       = 1024 // samples per AAC frame
	oggPreSkip     = 3840 // samples the Ogg writer declares to be skipped at the start (RFC 7845's advice)
	sampleRate     = 48000
	aacBitrateFlag = "128k"
)

// transcoder turns one publisher's Opus packets into AAC access units with an ffmpeg process
// behind pipes: Ogg Opus in on stdin, ADTS out on stdout. Go keeps the timing: the n-th AAC
// frame is placed n frames after the first Opus packet (ffmpeg's encoder priming removed).
type transcoder struct {
	cmd  *exec.Cmd
	ogg  *oggwriter.OggWriter
	in   io.WriteCloser
	done chan struct{}
}

// startTranscoder starts ffmpeg; emit receives each AAC access unit with its presentation
// time, base being the first Opus packet's.
func startTranscoder(ctx context.Context, log *slog.Logger, base time.Duration, emit func(pts time.Duration, au []byte)) (*transcoder, error) {
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
		"-fflags", "nobuffer", "-probesize", "32", "-analyzeduration", "0", "-f", "ogg", "-i", "pipe:0",
		"-c:a", "aac", "-b:a", aacBitrateFlag, "-ar", "48000", "-ac", "2", "-flush_packets", "1", "-f", "adts", "pipe:1")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting ffmpeg for Opus→AAC: %w", err)
	}
	ogg, err := oggwriter.NewWith(in, sampleRate, 2)
	if err != nil {
		in.Close()
		_ = cmd.Wait()
		return nil, err
	}
	t := &transcoder{cmd: cmd, ogg: ogg, in: in, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		defer safe.Recover(log, "whip opus→aac reader") // ends the audio of this broadcast only
		r := bufio.NewReader(out)
		for n := 0; ; n++ {
			au, err := readADTS(r)
			if err != nil {
				return
			}
			if n == 0 {
				continue // the encoder's priming frame comes before any input
			}
			emit(base+time.Duration(oggPreSkip+(n-1)*aacFrame)*time.Second/sampleRate, au)
		}
	}()
	return t, nil
}

// write hands one Opus RTP packet to ffmpeg.
func (t *transcoder) write(pkt *rtp.Packet) error { return t.ogg.WriteRTP(pkt) }

// close ends the input, lets ffmpeg flush, and waits for it.
func (t *transcoder) close() {
	_ = t.ogg.Close()
	_ = t.in.Close()
	<-t.done
	_ = t.cmd.Wait()
}

// readADTS reads one ADTS frame and returns its raw AAC access unit.
func readADTS(r *bufio.Reader) ([]byte, error) {
	hdr := make([]byte, 7)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	if hdr[0] != 0xFF || hdr[1]&0xF0 != 0xF0 {
		return nil, errors.New("not an ADTS frame")
	}
	size := int(hdr[3]&0x3)<<11 | int(hdr[4])<<3 | int(hdr[5])>>5
	headerSize := 7
	if hdr[1]&0x1 == 0 { // a CRC follows the header
		headerSize = 9
	}
	if size < headerSize {
		return nil, errors.New("short ADTS frame")
	}
	frame := make([]byte, size-7)
	if _, err := io.ReadFull(r, frame); err != nil {
		return nil, err
	}
	return frame[headerSize-7:], nil
}
