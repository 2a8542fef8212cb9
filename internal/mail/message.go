// Package mail sends Livehouse's outgoing mail — account verification and password-reset
// links — either through an SMTP server or, when none is configured, into an outbox folder
// where an operator (or a test) can pick the link up.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Message is one mail to one recipient.
type Message struct {
	To      string // an address, optionally with a display name: "Ada <ada@example.com>"
	Subject string
	Text    string // the plain-text body; every mail has one
	HTML    string // optional; when set the mail offers both as multipart/alternative
	// Link is the one action link the mail carries. It is not added to the body; the outbox
	// logs it so that an operator without SMTP can still complete a sign-up.
	Link string
}

// Sender delivers a Message. SMTP and Outbox implement it.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrHeaderInjection reports a line break in a value bound for a header. It is refused
// rather than cleaned because it only ever comes from an attempt to add headers (a Bcc) to
// a mail that a user can trigger.
var ErrHeaderInjection = errors.New("line break in mail header")

// maxLineLength is the longest body line SMTP allows (RFC 5321 §4.5.3.1.6), without CRLF.
const maxLineLength = 998

// envelope is a message ready to send: the addresses for SMTP and the RFC 5322 bytes.
type envelope struct {
	from, to string // bare addresses
	data     []byte
}

// build renders m as an RFC 5322 message from from. Bodies go out as 8bit and are never
// folded or encoded, so a link stays one intact line that a person (or a test) can copy or
// grep out of the raw message; the price is that a line longer than SMTP allows is an error.
func build(m Message, from string, now time.Time) (envelope, error) {
	for _, h := range []struct{ name, value string }{{"From", from}, {"To", m.To}, {"Subject", m.Subject}} {
		if strings.ContainsAny(h.value, "\r\n") {
			return envelope{}, fmt.Errorf("%s header: %w", h.name, ErrHeaderInjection)
		}
	}
	fromAddr, err := mail.ParseAddress(from)
	if err != nil {
		return envelope{}, fmt.Errorf("parse from address %q: %w", from, err)
	}
	toAddr, err := mail.ParseAddress(m.To)
	if err != nil {
		return envelope{}, fmt.Errorf("parse to address %q: %w", m.To, err)
	}
	if m.Text == "" && m.HTML == "" {
		return envelope{}, errors.New("message has no body")
	}

	var buf bytes.Buffer
	header := func(name, value string) { fmt.Fprintf(&buf, "%s: %s\r\n", name, value) }
	header("From", fromAddr.String())
	header("To", toAddr.String())
	header("Subject", encodeSubject(m.Subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", messageID(fromAddr.Address))
	header("MIME-Version", "1.0")

	text, err := body(m.Text)
	if err != nil {
		return envelope{}, fmt.Errorf("text body: %w", err)
	}
	if m.HTML == "" {
		header("Content-Type", `text/plain; charset=utf-8`)
		header("Content-Transfer-Encoding", "8bit")
		buf.WriteString("\r\n")
		buf.WriteString(text)
		return envelope{from: fromAddr.Address, to: toAddr.Address, data: buf.Bytes()}, nil
	}

	html, err := body(m.HTML)
	if err != nil {
		return envelope{}, fmt.Errorf("html body: %w", err)
	}
	var parts bytes.Buffer
	mw := multipart.NewWriter(&parts)
	header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	buf.WriteString("\r\n")
	// Plain text first: in multipart/alternative the last part is the preferred one.
	for _, p := range []struct{ contentType, body string }{{"text/plain", text}, {"text/html", html}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.contentType + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"8bit"},
		})
		if err != nil {
			return envelope{}, fmt.Errorf("write %s part: %w", p.contentType, err)
		}
		if _, err := w.Write([]byte(p.body)); err != nil {
			return envelope{}, fmt.Errorf("write %s part: %w", p.contentType, err)
		}
	}
	if err := mw.Close(); err != nil {
		return envelope{}, fmt.Errorf("close multipart: %w", err)
	}
	buf.Write(parts.Bytes())
	return envelope{from: fromAddr.Address, to: toAddr.Address, data: buf.Bytes()}, nil
}

// body normalises line endings to CRLF, as SMTP requires, ends the body with one, and checks
// that no line exceeds SMTP's limit, since it is sent unfolded.
func body(s string) (string, error) {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.TrimSuffix(s, "\n")
	for i, line := range strings.Split(s, "\n") {
		if len(line) > maxLineLength {
			return "", fmt.Errorf("line %d is %d bytes, longer than the %d SMTP allows", i+1, len(line), maxLineLength)
		}
	}
	return strings.ReplaceAll(s, "\n", "\r\n") + "\r\n", nil
}

// encodeSubject leaves an ASCII subject as it is and encodes any other as RFC 2047 words,
// folding between the words so that no header line grows past what mail servers accept.
func encodeSubject(s string) string {
	enc := mime.QEncoding.Encode("utf-8", s)
	if enc == s {
		return s
	}
	return strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}

// messageID returns a new globally unique Message-ID in the sender's domain, which is the one
// domain this installation is known to own.
func messageID(from string) string {
	domain := "livehouse.invalid"
	if at := strings.LastIndexByte(from, '@'); at >= 0 && at < len(from)-1 {
		domain = from[at+1:]
	}
	return "<" + strings.ToLower(rand.Text()) + "@" + domain + ">"
}
