package llhls

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
)

// sample is one access unit of a track, queued until its duration is known.
type sample struct {
	dts, pts int64    // in the track's timescale, from the stream's start
	dur      int64    // known once the next sample arrives
	key      bool     // a sync sample (every audio sample is one)
	nalus    [][]byte // H.264: the NAL units, written length-prefixed
	data     []byte   // audio: the access unit
	nominal  int64    // audio: the frame's length, when known
	arrived  time.Time
}

func (s *sample) size() int {
	if s.nalus == nil {
		return len(s.data)
	}
	n := 0
	for _, nalu := range s.nalus {
		n += 4 + len(nalu)
	}
	return n
}

// Track flags of trun (ISO/IEC 14496-12 8.8.8), as mediacommon writes them.
const (
	trunDataOffset = 0x01
	trunDuration   = 0x100
	trunSize       = 0x200
	trunFlags      = 0x400
	trunCTO        = 0x800

	sampleNonSync = 1 << 16
)

// partLayout is the shape of one fragment (moof + mdat) of one track: its trun flags and
// box sizes, from which its exact size is known before a byte is written.
type partLayout struct {
	flags, entry           int
	trunSz, trafSz, moofSz int
	dataSz, preSz          int
}

func layoutPart(samples []*sample, pre [][]byte) partLayout {
	l := partLayout{flags: trunDataOffset | trunDuration | trunSize}
	for _, s := range samples {
		if !s.key {
			l.flags |= trunFlags
		}
		if s.pts != s.dts {
			l.flags |= trunCTO
		}
	}
	l.entry = 8
	if l.flags&trunFlags != 0 {
		l.entry += 4
	}
	if l.flags&trunCTO != 0 {
		l.entry += 4
	}
	l.trunSz = 12 + 4 + 4 + l.entry*len(samples)
	l.trafSz = 8 + 16 + 20 + l.trunSz
	l.moofSz = 8 + 16 + l.trafSz
	for _, s := range samples {
		l.dataSz += s.size()
	}
	for _, b := range pre {
		l.preSz += len(b)
	}
	return l
}

// size is the fragment's, with the boxes in front of it.
func (l *partLayout) size() int { return l.preSz + l.moofSz + 8 + l.dataSz }

// marshalPart writes one fragment (moof + mdat) of one track, with the boxes of pre (emsg)
// in front, into a slice of exactly its size. It writes the same bytes as mediacommon's
// fmp4.Part.Marshal (a test holds the two together) without its reflection-based box
// writer: this runs for every part of every stream.
func marshalPart(seq uint32, trackID int, base uint64, samples []*sample, pre [][]byte) []byte {
	l := layoutPart(samples, pre)
	out := make([]byte, l.size())
	writePart(&span{pieces: [][]byte{out}}, &l, seq, trackID, base, samples, pre)
	return out
}

// writePart writes the fragment laid out by l into w, which has room for exactly l.size().
func writePart(w *span, l *partLayout, seq uint32, trackID int, base uint64, samples []*sample, pre [][]byte) {
	for _, b := range pre {
		w.write(b)
	}
	// The boxes' headers and the sample table go through a small buffer on the stack; the
	// media, straight to w.
	var hdr [512]byte
	b := hdr[:0]
	flush := func() {
		w.write(b)
		b = hdr[:0]
	}
	u32 := func(v uint32) {
		if len(b)+8 > len(hdr) { // room for a box's type after it too
			flush()
		}
		b = binary.BigEndian.AppendUint32(b, v)
	}
	box := func(size int, typ string) { u32(uint32(size)); b = append(b, typ...) }

	box(l.moofSz, "moof")
	box(16, "mfhd")
	u32(0)
	u32(seq)
	box(l.trafSz, "traf")
	box(16, "tfhd")
	u32(0x020000) // default-base-is-moof
	u32(uint32(trackID))
	box(20, "tfdt")
	u32(1 << 24) // version 1
	b = binary.BigEndian.AppendUint64(b, base)
	box(l.trunSz, "trun")
	u32(1<<24 | uint32(l.flags))
	u32(uint32(len(samples)))
	u32(uint32(l.moofSz + 8)) // data offset: from the moof's start to the mdat's payload
	for _, s := range samples {
		u32(uint32(s.dur))
		u32(uint32(s.size()))
		if l.flags&trunFlags != 0 {
			if s.key {
				u32(0)
			} else {
				u32(sampleNonSync)
			}
		}
		if l.flags&trunCTO != 0 {
			u32(uint32(int32(s.pts - s.dts)))
		}
	}
	box(8+l.dataSz, "mdat")
	for _, s := range samples {
		if s.nalus == nil {
			flush()
			w.write(s.data)
			continue
		}
		for _, nalu := range s.nalus {
			u32(uint32(len(nalu)))
			flush()
			w.write(nalu)
		}
	}
	flush()
}

// marshalInit writes the initialization section of one track (ID 1). It is made once per
// codec configuration, so mediacommon's writer does it.
func marshalInit(timescale int64, codec codecs.Codec) ([]byte, error) {
	init := fmp4.Init{Tracks: []*fmp4.InitTrack{{ID: 1, TimeScale: uint32(timescale), Codec: codec}}}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return nil, fmt.Errorf("init section: %w", err)
	}
	return append([]byte(nil), buf.Bytes()...), nil
}
