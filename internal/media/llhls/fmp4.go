package llhls

import (
	"encoding/binary"
	"fmt"

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

// marshalPart writes one fragment (moof + mdat) of one track, with the boxes of pre (emsg)
// in front, into a slice of exactly its size. It writes the same bytes as mediacommon's
// fmp4.Part.Marshal (a test holds the two together) without its reflection-based box
// writer: this runs for every part of every stream.
func marshalPart(seq uint32, trackID int, base uint64, samples []*sample, pre [][]byte) []byte {
	flags := trunDataOffset | trunDuration | trunSize
	for _, s := range samples {
		if !s.key {
			flags |= trunFlags
		}
		if s.pts != s.dts {
			flags |= trunCTO
		}
	}
	entry := 8
	if flags&trunFlags != 0 {
		entry += 4
	}
	if flags&trunCTO != 0 {
		entry += 4
	}
	trunSz := 12 + 4 + 4 + entry*len(samples)
	trafSz := 8 + 16 + 20 + trunSz
	moofSz := 8 + 16 + trafSz
	dataSz := 0
	for _, s := range samples {
		dataSz += s.size()
	}
	preSz := 0
	for _, b := range pre {
		preSz += len(b)
	}
	out := make([]byte, 0, preSz+moofSz+8+dataSz)
	for _, b := range pre {
		out = append(out, b...)
	}
	u32 := func(v uint32) { out = binary.BigEndian.AppendUint32(out, v) }
	box := func(size int, typ string) { u32(uint32(size)); out = append(out, typ...) }

	box(moofSz, "moof")
	box(16, "mfhd")
	u32(0)
	u32(seq)
	box(trafSz, "traf")
	box(16, "tfhd")
	u32(0x020000) // default-base-is-moof
	u32(uint32(trackID))
	box(20, "tfdt")
	u32(1 << 24) // version 1
	out = binary.BigEndian.AppendUint64(out, base)
	box(trunSz, "trun")
	u32(1<<24 | uint32(flags))
	u32(uint32(len(samples)))
	u32(uint32(moofSz + 8)) // data offset: from the moof's start to the mdat's payload
	for _, s := range samples {
		u32(uint32(s.dur))
		u32(uint32(s.size()))
		if flags&trunFlags != 0 {
			if s.key {
				u32(0)
			} else {
				u32(sampleNonSync)
			}
		}
		if flags&trunCTO != 0 {
			u32(uint32(int32(s.pts - s.dts)))
		}
	}
	box(8+dataSz, "mdat")
	for _, s := range samples {
		if s.nalus == nil {
			out = append(out, s.data...)
			continue
		}
		for _, nalu := range s.nalus {
			u32(uint32(len(nalu)))
			out = append(out, nalu...)
		}
	}
	return out
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
