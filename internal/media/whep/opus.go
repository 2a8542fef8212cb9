package whep

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"os/exec"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/safe"
)

// AAC→Opus: one ffmpeg per stream, shared by all its WebRTC viewers and running only while
// it has some. ADTS in on stdin, Ogg Opus out on stdout, one 20 ms packet per Ogg page so
// nothing waits for a page to fill. Go keeps the timing: the n-th Opus packet is placed n
// frames after the first AAC unit written, less the encoder's pre-skip.
const (
	opusFrame     = 960 // samples in a 20 ms packet at 48 kHz
	opusPreSkip   = 312 // libopus's look-ahead, which the first packet carries
	opusRate      = 48000
	coderQueue    = 256 // AAC units waiting for ffmpeg: several seconds
	coderRestart  = time.Second
	maxOggPacket  = 64 << 10
	opusBitrate   = "96k"
	oggHeaderSize = 27
)

// opusCoder is a running AAC→Opus transcoder.
type opusCoder struct {
	in     chan *stream.Unit
	cancel context.CancelFunc
	done   chan struct{}
}

// startOpusCoder starts the transcoder; emit receives each Opus packet with its
// presentation time. It restarts ffmpeg after a failure until stopped.
func startOpusCoder(ffmpeg string, cfg mpeg4audio.AudioSpecificConfig, log *slog.Logger, emit func(pts time.Duration, pkt []byte)) *opusCoder {
	ctx, cancel := context.WithCancel(context.Background())
	c := &opusCoder{in: make(chan *stream.Unit, coderQueue), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			err := safe.Run(log, "whep aac→opus", func() error { return c.run(ctx, ffmpeg, cfg, log, emit) })
			if ctx.Err() != nil {
				return
			}
			log.Warn("whep aac→opus transcoder stopped; restarting", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(coderRestart):
			}
		}
	}()
	return c
}

// write queues an AAC unit without waiting; a full queue drops it.
func (c *opusCoder) write(u *stream.Unit) {
	select {
	case c.in <- u:
	default:
	}
}

// stop ends ffmpeg and waits for it.
func (c *opusCoder) stop() {
	c.cancel()
	<-c.done
}

// run is one ffmpeg run.
func (c *opusCoder) run(ctx context.Context, ffmpeg string, cfg mpeg4audio.AudioSpecificConfig, log *slog.Logger, emit func(time.Duration, []byte)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin",
		"-fflags", "nobuffer", "-probesize", "32", "-analyzeduration", "0", "-f", "aac", "-i", "pipe:0",
		"-c:a", "libopus", "-b:a", opusBitrate, "-ar", "48000", "-ac", "2", "-frame_duration", "20",
		"-page_duration", "20000", "-flush_packets", "1", "-f", "ogg", "pipe:1")
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	var base atomic.Int64 // the first AAC unit's PTS
	var based atomic.Bool
	writeErr := make(chan error, 1)
	go func() {
		defer in.Close()
		writeErr <- safe.Run(log, "whep aac writer", func() error {
			for {
				select {
				case <-ctx.Done():
					return nil
				case u := <-c.in:
					if !based.Load() {
						base.Store(int64(u.PTS))
						based.Store(true)
					}
					b, err := mpeg4audio.ADTSPackets{{Type: cfg.Type, SampleRate: cfg.SampleRate, ChannelConfig: cfg.ChannelConfig, AU: u.Payload[0]}}.Marshal()
					if err != nil {
						return err
					}
					if _, err := in.Write(b); err != nil {
						return err
					}
				}
			}
		})
	}()
	r := &oggReader{r: bufio.NewReader(out)}
	var readErr error
	for n := -2; ; n++ { // OpusHead and OpusTags come first
		pkt, err := r.next()
		if err != nil {
			readErr = err
			break
		}
		if n < 0 {
			continue
		}
		at := n*opusFrame - opusPreSkip
		emit(time.Duration(base.Load())+time.Duration(at)*time.Second/opusRate, pkt)
	}
	cancel()
	werr := <-writeErr
	_ = cmd.Wait()
	if errors.Is(readErr, io.EOF) {
		readErr = nil
	}
	return errors.Join(readErr, werr, errors.New("ffmpeg exited"))
}

// oggReader reads the packets of one logical Ogg stream (RFC 3533): each page's segment
// table says where packets end; a packet may continue on the next page.
type oggReader struct {
	r       *bufio.Reader
	hdr     [oggHeaderSize]byte
	lacing  [255]byte
	pending []byte   // a packet continued from the previous page
	ready   [][]byte // complete packets of the current page
}

var errOgg = errors.New("not an Ogg stream")

// next returns the next complete packet.
func (o *oggReader) next() ([]byte, error) {
	for len(o.ready) == 0 {
		if err := o.page(); err != nil {
			return nil, err
		}
	}
	p := o.ready[0]
	o.ready = o.ready[1:]
	return p, nil
}

// page reads one page into ready (and pending).
func (o *oggReader) page() error {
	if _, err := io.ReadFull(o.r, o.hdr[:]); err != nil {
		return err
	}
	if string(o.hdr[:4]) != "OggS" || o.hdr[4] != 0 {
		return errOgg
	}
	nseg := int(o.hdr[26])
	lacing := o.lacing[:nseg]
	if _, err := io.ReadFull(o.r, lacing); err != nil {
		return err
	}
	if o.hdr[5]&1 == 0 { // not a continuation: whatever was pending was cut off
		o.pending = nil
	}
	for _, l := range lacing {
		seg := make([]byte, l)
		if _, err := io.ReadFull(o.r, seg); err != nil {
			return err
		}
		if len(o.pending)+int(l) > maxOggPacket {
			return errors.New("ogg packet too large")
		}
		o.pending = append(o.pending, seg...)
		if l < 255 {
			o.ready = append(o.ready, o.pending)
			o.pending = nil
		}
	}
	return nil
}
