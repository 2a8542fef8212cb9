package mail

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testLink is long and full of characters that quoted-printable or folding would mangle, so
// a test that finds it whole on one line proves the body was left alone.
const testLink = "http://localhost:8080/verify?token=AbC-123_xyz.4567890abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ&email=ada%40example.com&next=%2Fchannels%2Fnew%3Ftab%3Dsettings"

var testTime = time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)

// parsed is the part of a message the tests compare.
type parsed struct {
	From, To, Subject, Date string
	MIMEVersion             string
	ContentType             string // the media type only
	Parts                   []part
}

type part struct {
	ContentType, Encoding, Body string
}

// parse reads a raw message back with the standard library, as a mail client would, and
// fails the test on anything a client would choke on.
func parse(t *testing.T, raw []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, raw)
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode subject %q: %v", msg.Header.Get("Subject"), err)
	}
	if _, err := msg.Header.Date(); err != nil {
		t.Errorf("Date header: %v", err)
	}
	if id := msg.Header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, ">") || !strings.Contains(id, "@") {
		t.Errorf("Message-ID = %q, want <unique@domain>", id)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("parse Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	p := parsed{
		From:        msg.Header.Get("From"),
		To:          msg.Header.Get("To"),
		Subject:     subject,
		Date:        msg.Header.Get("Date"),
		MIMEVersion: msg.Header.Get("Mime-Version"),
		ContentType: mediaType,
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		body, err := io.ReadAll(msg.Body)
		if err != nil {
			t.Fatalf("read body: %v", err)
		}
		p.Parts = []part{{msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), string(body)}}
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		mp, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		body, err := io.ReadAll(mp)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		p.Parts = append(p.Parts, part{mp.Header.Get("Content-Type"), mp.Header.Get("Content-Transfer-Encoding"), string(body)})
	}
	return p
}

// hasLine reports whether raw has a line that is exactly line.
func hasLine(raw []byte, line string) bool {
	for l := range strings.SplitSeq(string(raw), "\r\n") {
		if l == line {
			return true
		}
	}
	return false
}

func TestBuild(t *testing.T) {
	const from = "Livehouse <noreply@live.example>"
	date := testTime.Format(time.RFC1123Z)
	tests := []struct {
		name string
		m    Message
		want parsed
	}{
		{
			name: "text only",
			m:    Message{To: "ada@example.com", Subject: "Verify your email", Text: "Open this link:\n" + testLink + "\n"},
			want: parsed{
				From: `"Livehouse" <noreply@live.example>`, To: "<ada@example.com>", Subject: "Verify your email",
				Date: date, MIMEVersion: "1.0", ContentType: "text/plain",
				Parts: []part{{"text/plain; charset=utf-8", "8bit", "Open this link:\r\n" + testLink + "\r\n"}},
			},
		},
		{
			name: "text and html",
			m: Message{
				To: "Ada Lovelace <ada@example.com>", Subject: "Reset your password",
				Text: "Reset:\r\n" + testLink, HTML: `<p><a href="` + testLink + `">Reset</a></p>`,
			},
			want: parsed{
				From: `"Livehouse" <noreply@live.example>`, To: `"Ada Lovelace" <ada@example.com>`, Subject: "Reset your password",
				Date: date, MIMEVersion: "1.0", ContentType: "multipart/alternative",
				Parts: []part{
					{"text/plain; charset=utf-8", "8bit", "Reset:\r\n" + testLink + "\r\n"},
					{"text/html; charset=utf-8", "8bit", `<p><a href="` + testLink + `">Reset</a></p>` + "\r\n"},
				},
			},
		},
		{
			name: "non-ASCII",
			m: Message{
				To: "Zoë <zoe@example.com>", Subject: "Vérifiez votre adresse — " + strings.Repeat("très longue ", 10),
				Text: "Bonjour Zoë,\n" + testLink,
			},
			want: parsed{
				From: `"Livehouse" <noreply@live.example>`, To: "=?utf-8?q?Zo=C3=AB?= <zoe@example.com>",
				Subject: "Vérifiez votre adresse — " + strings.Repeat("très longue ", 10),
				Date:    date, MIMEVersion: "1.0", ContentType: "text/plain",
				Parts: []part{{"text/plain; charset=utf-8", "8bit", "Bonjour Zoë,\r\n" + testLink + "\r\n"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := build(tt.m, from, testTime)
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			if diff := cmp.Diff(tt.want, parse(t, env.data)); diff != "" {
				t.Errorf("parsed message (-want +got):\n%s", diff)
			}
			if !hasLine(env.data, testLink) && !hasLine(env.data, `<p><a href="`+testLink+`">Reset</a></p>`) {
				t.Errorf("the link is not intact on one line:\n%s", env.data)
			}
			for i, line := range strings.Split(string(env.data), "\r\n") {
				if len(line) > maxLineLength {
					t.Errorf("line %d is %d bytes long", i+1, len(line))
				}
				if strings.ContainsAny(line, "\r\n") {
					t.Errorf("line %d has a bare CR or LF: %q", i+1, line)
				}
			}
			if got, want := env.from, "noreply@live.example"; got != want {
				t.Errorf("envelope from = %q, want %q", got, want)
			}
		})
	}
}

func TestBuildRejects(t *testing.T) {
	ok := Message{To: "ada@example.com", Subject: "Hi", Text: "hello"}
	tests := []struct {
		name      string
		from      string
		edit      func(m *Message)
		injection bool // the error must be ErrHeaderInjection
	}{
		{"to with CRLF", "noreply@live.example", func(m *Message) { m.To = "ada@example.com\r\nBcc: eve@example.com" }, true},
		{"to with LF", "noreply@live.example", func(m *Message) { m.To = "ada@example.com\nBcc: eve@example.com" }, true},
		{"subject with CR", "noreply@live.example", func(m *Message) { m.Subject = "Hi\rBcc: eve@example.com" }, true},
		{"subject with LF", "noreply@live.example", func(m *Message) { m.Subject = "Hi\nBcc: eve@example.com" }, true},
		{"from with CRLF", "noreply@live.example\r\nBcc: eve@example.com", func(*Message) {}, true},
		{"bad to", "noreply@live.example", func(m *Message) { m.To = "not an address" }, false},
		{"empty to", "noreply@live.example", func(m *Message) { m.To = "" }, false},
		{"bad from", "", func(*Message) {}, false},
		{"no body", "noreply@live.example", func(m *Message) { m.Text = "" }, false},
		{"line too long", "noreply@live.example", func(m *Message) { m.Text = strings.Repeat("x", maxLineLength+1) }, false},
		{"html line too long", "noreply@live.example", func(m *Message) { m.HTML = strings.Repeat("x", maxLineLength+1) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok
			tt.edit(&m)
			_, err := build(m, tt.from, testTime)
			if err == nil {
				t.Fatalf("build(%+v, %q): got nil error, want one", m, tt.from)
			}
			if got := errors.Is(err, ErrHeaderInjection); got != tt.injection {
				t.Errorf("build error %q: errors.Is(ErrHeaderInjection) = %v, want %v", err, got, tt.injection)
			}
		})
	}
	// The longest line SMTP allows must still go through unfolded.
	m := ok
	m.Text = strings.Repeat("x", maxLineLength)
	env, err := build(m, "noreply@live.example", testTime)
	if err != nil {
		t.Fatalf("build with a %d-byte line: %v", maxLineLength, err)
	}
	if !hasLine(env.data, m.Text) {
		t.Errorf("a %d-byte line was not kept whole", maxLineLength)
	}
}
