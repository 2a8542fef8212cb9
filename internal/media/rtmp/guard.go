package rtmp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
)

// Bounds on what a connection may send before its stream key is accepted. The commands of
// that phase (connect, releaseStream, FCPublish, createStream, publish) are a few hundred
// bytes each; gortmplib on its own takes chunk sizes and messages up to 10 MB, and allocates
// a chunk's whole body as soon as its header arrives.
const (
	maxPreAuthBytes   = 64 << 10 // after the handshake
	maxPreAuthMessage = 16 << 10
	handshakeBytes    = 1 + 1536 + 1536 // C0, C1, C2 of the plain handshake
)

var errPreAuth = errors.New("rtmp: refused before publish")

// guard sits under gortmplib until the publish is accepted and follows the chunk stream it
// reads (the same framing gortmplib applies: basic header, message header by format,
// extended timestamps, bodies cut at the peer's chunk size), failing the read before any
// chunk header that declares a message over maxPreAuthMessage reaches the parser, and once
// more than maxPreAuthBytes have come. Encrypted RTMP (RTMPE, whose chunks it could not
// follow) is refused; OBS and ffmpeg publish plain RTMP.
type guard struct {
	net.Conn
	off atomic.Bool // set once the publish is accepted: from then on reads pass through

	n       int // bytes seen after the handshake
	skip    int // handshake bytes still to pass
	started bool
	p       chunkParser
}

func newGuard(c net.Conn) *guard {
	return &guard{Conn: c, skip: handshakeBytes, p: chunkParser{chunkSize: 128, streams: map[byte]*chunkStream{}}}
}

func (g *guard) Read(b []byte) (int, error) {
	n, err := g.Conn.Read(b)
	if n == 0 || g.off.Load() {
		return n, err
	}
	if cerr := g.check(b[:n]); cerr != nil {
		return 0, cerr
	}
	return n, err
}

func (g *guard) check(b []byte) error {
	if !g.started {
		g.started = true
		if b[0] != 3 {
			return fmt.Errorf("%w: RTMP version %d (only plain RTMP, version 3, is offered)", errPreAuth, b[0])
		}
	}
	if g.skip > 0 {
		k := min(g.skip, len(b))
		g.skip -= k
		b = b[k:]
	}
	if len(b) == 0 {
		return nil
	}
	if g.n += len(b); g.n > maxPreAuthBytes {
		return fmt.Errorf("%w: more than %d bytes before publishing", errPreAuth, maxPreAuthBytes)
	}
	for _, c := range b {
		if err := g.p.feed(c); err != nil {
			return fmt.Errorf("%w: %v", errPreAuth, err)
		}
	}
	return nil
}

// chunkParser follows RTMP chunk framing a byte at a time.
type chunkParser struct {
	chunkSize uint32
	streams   map[byte]*chunkStream

	hdr     []byte       // the header being read
	need    int          // header bytes wanted (once the basic header says the format)
	extDone bool         // the header's timestamp field was checked for an extended one
	cur     *chunkStream // the chunk stream whose body is being read
	body    uint32       // body bytes left in the current chunk
}

type chunkStream struct {
	length, received uint32 // the message being assembled
	typ              byte
	extended         bool
	seenHeader       bool
	setChunk         []byte // the body of a Set Chunk Size message, as it comes
}

func (p *chunkParser) feed(c byte) error {
	if p.body > 0 {
		p.body--
		cs := p.cur
		cs.received++
		if cs.typ == 1 && len(cs.setChunk) < 4 {
			cs.setChunk = append(cs.setChunk, c)
		}
		if p.body == 0 {
			return p.endChunk()
		}
		return nil
	}
	p.hdr = append(p.hdr, c)
	if len(p.hdr) == 1 {
		p.extDone = false
		if c&0x3f < 2 {
			return errors.New("extended chunk stream ids are not taken")
		}
		p.need = 1 + [4]int{11, 7, 3, 0}[c>>6]
		cs := p.streams[c&0x3f]
		if cs == nil {
			if len(p.streams) >= 16 {
				return errors.New("too many chunk streams")
			}
			cs = &chunkStream{}
			p.streams[c&0x3f] = cs
		}
		if c>>6 == 3 && cs.extended {
			p.need += 4
		}
	}
	if len(p.hdr) < p.need {
		return nil
	}
	if !p.extDone && p.hdr[0]>>6 < 3 { // formats 0–2: is an extended timestamp announced?
		p.extDone = true
		if uint32(p.hdr[1])<<16|uint32(p.hdr[2])<<8|uint32(p.hdr[3]) == 0xffffff {
			p.need += 4
			return nil
		}
	}
	return p.startChunk()
}

// startChunk applies a complete chunk header.
func (p *chunkParser) startChunk() error {
	h := p.hdr
	p.hdr = p.hdr[:0]
	format := h[0] >> 6
	cs := p.streams[h[0]&0x3f]
	p.cur = cs
	if format == 3 && !cs.seenHeader {
		return errors.New("chunk continues no message")
	}
	switch format {
	case 0, 1:
		if cs.received != 0 {
			return errors.New("new message before the last one ended")
		}
		cs.length = uint32(h[4])<<16 | uint32(h[5])<<8 | uint32(h[6])
		cs.typ = h[7]
		cs.extended = uint32(h[1])<<16|uint32(h[2])<<8|uint32(h[3]) == 0xffffff
		cs.seenHeader = true
	case 2:
		if cs.received != 0 || !cs.seenHeader {
			return errors.New("format 2 chunk out of place")
		}
		cs.extended = uint32(h[1])<<16|uint32(h[2])<<8|uint32(h[3]) == 0xffffff
	}
	if cs.length > maxPreAuthMessage {
		return fmt.Errorf("a %d-byte message before publishing (at most %d)", cs.length, maxPreAuthMessage)
	}
	if cs.received == 0 {
		cs.setChunk = cs.setChunk[:0]
	}
	p.body = min(cs.length-cs.received, p.chunkSize)
	if p.body == 0 {
		return p.endChunk()
	}
	return nil
}

// endChunk finishes a chunk: at the end of a message, a Set Chunk Size takes effect.
func (p *chunkParser) endChunk() error {
	cs := p.cur
	if cs.received < cs.length {
		return nil
	}
	cs.received = 0
	switch cs.typ {
	case 1: // Set Chunk Size
		if len(cs.setChunk) != 4 || cs.length != 4 {
			return errors.New("malformed Set Chunk Size")
		}
		v := binary.BigEndian.Uint32(cs.setChunk)
		if v < 1 || v > 10<<20 {
			return fmt.Errorf("chunk size %d", v)
		}
		p.chunkSize = v
	case 2: // Abort: refused rather than followed, as no publisher needs it this early
		return errors.New("abort message before publishing")
	}
	return nil
}
