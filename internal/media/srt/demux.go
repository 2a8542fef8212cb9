package srt

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/streams"
)

// maxBytesBeforeMedia bounds what a connection may send before its stream begins (the
// program tables and the first keyframe with its parameter sets): mediacommon's reader keeps
// everything it reads until it has found the tracks, to read it again.
const maxBytesBeforeMedia = 8 << 20

// Reasons a stream is refused, for the encoder's log and the session's events.
var (
	errH265    = fmt.Errorf("%w: H.265 (HEVC) video is not taken; send H.264 video with AAC audio", streams.ErrUnsupported)
	errNoH264  = fmt.Errorf("%w: the stream has no H.264 video; send H.264 video with AAC audio", streams.ErrUnsupported)
	errTooMuch = fmt.Errorf("more than %d bytes before the first H.264 keyframe with its parameter sets", maxBytesBeforeMedia)
)

// beginFunc opens the live session once the stream's tracks are known (at the first
// keyframe that carries SPS and PPS) and returns the stream to write units to.
type beginFunc func(stream.Tracks) (*stream.Stream, error)

// demux reads MPEG-TS from r (H.264 video, AAC audio in ADTS) and writes it as units to the
// stream begin returns, until r fails. Units before the first keyframe are dropped; times
// count from that keyframe.
func demux(r io.Reader, begin beginFunc) error {
	lr := &armedReader{r: r, left: maxBytesBeforeMedia}
	tr := &mpegts.Reader{R: lr}
	if err := tr.Initialize(); err != nil {
		if errors.Is(err, errTooMuch) {
			return err
		}
		return fmt.Errorf("reading the MPEG-TS program: %w", err)
	}
	d := &demuxer{begin: begin, armed: lr}
	var video, audio *mpegts.Track
	hevc := false
	for _, t := range tr.Tracks() {
		switch c := t.Codec.(type) {
		case *tscodecs.H264:
			if video == nil {
				video = t
			}
		case *tscodecs.H265:
			hevc = true
		case *tscodecs.MPEG4Audio:
			if audio == nil {
				cfg := c.Config
				audio, d.aac = t, &cfg
			}
		}
	}
	switch {
	case video == nil && hevc:
		return errH265
	case video == nil:
		return errNoH264
	}
	tr.OnDecodeError(func(error) {}) // a damaged packet loses its unit, not the stream
	tr.OnDataH264(video, d.video)
	if audio != nil {
		tr.OnDataMPEG4Audio(audio, d.audio)
	}
	for {
		if err := tr.Read(); err != nil {
			return err
		}
	}
}

// demuxer turns the reader's callbacks into units.
type demuxer struct {
	begin beginFunc
	armed *armedReader
	st    *stream.Stream // nil until the first keyframe
	aac   *mpeg4audio.AudioSpecificConfig

	td       mpegts.TimeDecoder // unwraps the 33-bit PTS; first fed the first keyframe's
	sps, pps []byte
}

func (d *demuxer) pts(raw int64, rate int64) time.Duration {
	t := d.td.Decode(raw)
	return time.Duration(t) * time.Second / time.Duration(rate)
}

func (d *demuxer) video(pts, _ int64, au [][]byte) error {
	hasSPS := false
	for _, nalu := range au {
		if len(nalu) == 0 {
			continue
		}
		switch h264.NALUType(nalu[0] & 0x1f) {
		case h264.NALUTypeSPS:
			d.sps, hasSPS = nalu, true
		case h264.NALUTypePPS:
			d.pps = nalu
		}
	}
	key := h264.IsRandomAccess(au)
	if d.st == nil {
		if !key || d.sps == nil || d.pps == nil {
			return nil // waiting for a keyframe that can start the stream
		}
		tracks := stream.Tracks{H264: &stream.H264{SPS: d.sps, PPS: d.pps}, AAC: d.aac}
		st, err := d.begin(tracks)
		if err != nil {
			return err
		}
		d.st = st
		d.armed.disarm()
		d.td.Decode(pts) // times count from here: this keyframe is at 0
	}
	if key && !hasSPS {
		// Players need the parameter sets in band at every keyframe.
		au = append([][]byte{d.sps, d.pps}, au...)
	}
	d.st.Write(&stream.Unit{Kind: stream.Video, PTS: d.pts(pts, 90000), NTP: time.Now(), Payload: au, Key: key})
	return nil
}

func (d *demuxer) audio(pts int64, aus [][]byte) error {
	if d.st == nil {
		return nil
	}
	t := d.pts(pts, 90000)
	if t < 0 {
		return nil // before the first keyframe
	}
	frame := time.Duration(mpeg4audio.SamplesPerAccessUnit) * time.Second / time.Duration(max(d.aac.SampleRate, 1))
	for i, au := range aus {
		d.st.Write(&stream.Unit{Kind: stream.Audio, PTS: t + time.Duration(i)*frame, NTP: time.Now(), Payload: [][]byte{au}})
	}
	return nil
}

// armedReader fails once more than left bytes have been read while it is armed.
type armedReader struct {
	r    io.Reader
	left int
	off  bool
}

func (a *armedReader) Read(b []byte) (int, error) {
	n, err := a.r.Read(b)
	if !a.off {
		if a.left -= n; a.left < 0 {
			return 0, errTooMuch
		}
	}
	return n, err
}

func (a *armedReader) disarm() { a.off = true }
