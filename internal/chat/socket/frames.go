package socket

import (
	"bytes"
	"errors"
	"io"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// validCloseCode reports whether a close frame may carry code (RFC 6455 section 7.4).
func validCloseCode(code ws.StatusCode) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// closeFrame is a server close frame: with code and reason, or empty when code is 0 (the
// answer to a close that had no code).
func closeFrame(code ws.StatusCode, reason string) []byte {
	if code == 0 {
		return ws.MustCompileFrame(ws.NewCloseFrame(nil))
	}
	return ws.MustCompileFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(code, reason)))
}

// textFrame is a server text frame (servers do not mask) carrying payload.
func textFrame(payload []byte) []byte { return ws.MustCompileFrame(ws.NewTextFrame(payload)) }

// consume takes bytes from the client and acts on every complete frame in them, keeping an
// incomplete one for later; false ends the connection.
func (c *conn) consume(data []byte) bool {
	if len(c.partial) > 0 {
		data = append(c.partial, data...)
		c.partial = nil
	}
	for len(data) > 0 {
		r := bytes.NewReader(data)
		h, err := ws.ReadHeader(r)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			c.partial = append([]byte(nil), data...)
			return true
		}
		if err != nil {
			return c.fail(ws.StatusProtocolError, "malformed frame header")
		}
		if h.Length > maxMessage {
			return c.fail(ws.StatusMessageTooBig, "message too big")
		}
		start := len(data) - r.Len()
		end := start + int(h.Length)
		if len(data) < end {
			c.partial = append([]byte(nil), data...)
			return true
		}
		payload := data[start:end]
		data = data[end:]
		if !h.Masked || h.Rsv != 0 {
			return c.fail(ws.StatusProtocolError, "client frames must be masked, without extensions")
		}
		ws.Cipher(payload, h.Mask, 0)
		if !c.frame(h, payload) {
			return false
		}
	}
	return true
}

// frame acts on one unmasked frame.
func (c *conn) frame(h ws.Header, payload []byte) bool {
	if h.OpCode.IsControl() && (!h.Fin || h.Length > 125) {
		return c.fail(ws.StatusProtocolError, "malformed control frame")
	}
	switch h.OpCode {
	case ws.OpText, ws.OpBinary:
		if c.inMsg {
			return c.fail(ws.StatusProtocolError, "a new message inside a fragmented one")
		}
		if h.Fin {
			c.enqueue(append([]byte(nil), payload...))
			return true
		}
		c.message, c.inMsg = append([]byte(nil), payload...), true
	case ws.OpContinuation:
		if !c.inMsg {
			return c.fail(ws.StatusProtocolError, "a continuation without a message")
		}
		if len(c.message)+len(payload) > maxMessage {
			return c.fail(ws.StatusMessageTooBig, "message too big")
		}
		c.message = append(c.message, payload...)
		if h.Fin {
			c.enqueue(c.message)
			c.message, c.inMsg = nil, false
		}
	case ws.OpPing:
		c.write(ws.MustCompileFrame(ws.NewPongFrame(payload)))
	case ws.OpPong:
	case ws.OpClose:
		// The answer echoes the client's code; a close without one is answered without one.
		// 1005, 1006 and 1015 only report, locally, that there was no code or no close frame:
		// they must never be sent, so a client that sends one (or any code outside the
		// defined and the registrable ranges) has broken the protocol.
		code, reason := ws.ParseCloseFrameData(payload)
		if len(payload) == 1 || len(payload) > 1 && (!validCloseCode(code) || !utf8.ValidString(reason)) {
			return c.fail(ws.StatusProtocolError, "invalid close frame")
		}
		c.closeWith(code, "") // answers the client's close, unless ours went first
		return false
	default:
		return c.fail(ws.StatusProtocolError, "unknown opcode")
	}
	return true
}

// fail tells the client what it did wrong and ends the connection.
func (c *conn) fail(code ws.StatusCode, reason string) bool {
	c.closeWith(code, reason)
	return false
}
