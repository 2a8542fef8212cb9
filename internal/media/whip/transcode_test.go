package whip

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// TestTranscoderKeepsTiming feeds the transcoder Opus that is silent for one second and then
// a tone, decodes the AAC it emits, and checks that the tone starts at 1 s of media time by
// the presentation times it was given (within one AAC frame): the encoder's priming and the
// Ogg pre-skip must not shift audio against video.
func TestTranscoderKeepsTiming(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed (make test installs it)")
	}
	dir := t.TempDir()
	src := dir + "/in.ogg"
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "aevalsrc=if(gte(t\\,1)\\,0.5*sin(2*PI*440*t)\\,0):s=48000:d=2", "-ac", "2", "-c:a", "libopus", "-page_duration", "20000", "-f", "ogg", src).CombinedOutput()
	if err != nil {
		t.Fatal(err, string(out))
	}
	f, _ := os.Open(src)
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var adts bytes.Buffer
	var first time.Duration = -1
	tc, err := startTranscoder(context.Background(), slog.New(slog.DiscardHandler), 0, func(pts time.Duration, au []byte) {
		mu.Lock()
		defer mu.Unlock()
		if first < 0 {
			first = pts
		}
		// Wrapped back into ADTS (AAC-LC, 48 kHz, stereo) for ffmpeg to decode.
		n := len(au) + 7
		h := []byte{0xFF, 0xF1, 0x4C, 0x80, byte(n >> 3), byte(n<<5) | 0x1F, 0xFC}
		adts.Write(h)
		adts.Write(au)
	})
	if err != nil {
		t.Fatal(err)
	}
	var ts uint32
	seq := uint16(0)
	for {
		page, hdr, err := r.ParseNextPage()
		if err != nil {
			break
		}
		if hdr.GranulePosition == 0 {
			continue
		}
		seq++
		tc.write(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: ts, SSRC: 1}, Payload: page})
		ts += 960
	}
	tc.close()
	dec := exec.Command("ffmpeg", "-v", "error", "-f", "aac", "-i", "pipe:0", "-f", "s16le", "-ac", "1", "pipe:1")
	dec.Stdin = &adts
	pcm, err := dec.Output()
	if err != nil {
		t.Fatal(err)
	}
	tone := -1
	for i := 0; i+1 < len(pcm); i += 2 {
		if v := int16(binary.LittleEndian.Uint16(pcm[i:])); v > 3000 || v < -3000 {
			tone = i / 2
			break
		}
	}
	if tone < 0 {
		t.Fatalf("no tone in the %d decoded samples", len(pcm)/2)
	}
	// Decoded sample i of the emitted frames is at first + i/48000 of media time.
	at := first + time.Duration(tone)*time.Second/48000
	if d := at - time.Second; d < -25*time.Millisecond || d > 25*time.Millisecond {
		t.Errorf("the tone starts at %v of media time, want 1s ± 25ms (first frame at %v)", at, first)
	}
}

var adtsTests = []struct {
	name    string
	in      []byte
	want    []byte
	wantErr bool
}{
	{"frame without CRC", []byte{0xFF, 0xF1, 0x4C, 0x80, 0x01, 0x3F, 0xFC, 0xAA, 0xBB}, []byte{0xAA, 0xBB}, false},
	{"frame with CRC", []byte{0xFF, 0xF0, 0x4C, 0x80, 0x01, 0x5F, 0xFC, 0x12, 0x34, 0xCC}, []byte{0xCC}, false},
	{"not ADTS", []byte{0x00, 0xF1, 0x4C, 0x80, 0x01, 0x3F, 0xFC, 0xAA, 0xBB}, nil, true},
	{"length shorter than the header", []byte{0xFF, 0xF1, 0x4C, 0x80, 0x00, 0x1F, 0xFC}, nil, true},
	{"truncated", []byte{0xFF, 0xF1, 0x4C, 0x80, 0x02, 0x1F, 0xFC, 0xAA}, nil, true},
	{"empty", nil, nil, true},
}

func TestReadADTS(t *testing.T) {
	for _, tt := range adtsTests {
		got, err := readADTS(bufio.NewReader(bytes.NewReader(tt.in)))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, want error %v", tt.name, err, tt.wantErr)
		}
		if !bytes.Equal(got, tt.want) {
			t.Errorf("%s: got %x, want %x", tt.name, got, tt.want)
		}
	}
}

func FuzzReadADTS(f *testing.F) {
	for _, tt := range adtsTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		au, err := readADTS(bufio.NewReader(bytes.NewReader(in)))
		if err == nil && len(au)+7 > len(in) {
			t.Errorf("an access unit of %d bytes from %d bytes of input", len(au), len(in))
		}
	})
}
