package llhls

import (
	"bytes"
	"encoding/binary"

	amp4 "github.com/abema/go-mp4"
)

// EmsgScheme is the scheme of timed metadata carried as ID3 in emsg boxes (AOM's ID3 in
// CMAF), which hls.js reads.
const EmsgScheme = "https://aomedia.org/emsg/ID3"

// EmsgID3 encodes an emsg v1 box on the video clock (VideoClock) whose message is an ID3v2.4
// tag with one user-defined text frame (TXXX) of the given description and UTF-8 value.
func EmsgID3(pts uint64, duration, id uint32, description string, value []byte) []byte {
	var buf bytes.Buffer
	box := &amp4.Emsg{
		FullBox:     amp4.FullBox{Version: 1},
		SchemeIdUri: EmsgScheme, Value: "0",
		Timescale: VideoClock, PresentationTime: pts, EventDuration: duration, Id: id,
		MessageData: id3TXXX(description, value),
	}
	if _, err := amp4.Marshal(&buf, box, amp4.Context{}); err != nil {
		panic(err) // a fixed layout; cannot fail
	}
	out := make([]byte, 8, 8+buf.Len())
	binary.BigEndian.PutUint32(out, uint32(8+buf.Len()))
	copy(out[4:], "emsg")
	return append(out, buf.Bytes()...)
}

// id3TXXX is an ID3v2.4 tag with one user-defined text frame, UTF-8.
func id3TXXX(description string, value []byte) []byte {
	frame := append([]byte{3}, description...)
	frame = append(frame, 0)
	frame = append(frame, value...)
	tag := []byte("ID3\x04\x00\x00")
	tag = append(tag, syncsafe(10+len(frame))...)
	tag = append(tag, "TXXX"...)
	tag = append(tag, syncsafe(len(frame))...)
	tag = append(tag, 0, 0)
	return append(tag, frame...)
}

func syncsafe(n int) []byte {
	return []byte{byte(n>>21) & 0x7f, byte(n>>14) & 0x7f, byte(n>>7) & 0x7f, byte(n) & 0x7f}
}
