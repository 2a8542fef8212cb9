package mail

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Outbox "sends" mail by writing it to a folder, one .eml file per message. It lets a
// Livehouse without an SMTP server still sign users up (the log names the file; the operator
// reads the link from it) and lets end-to-end tests read the mail a browser flow triggered.
// It is safe for concurrent use.
type Outbox struct {
	dir  string
	from string
	log  *slog.Logger
	now  func() time.Time // injectable so tests can predict file names

	mu   sync.Mutex
	last time.Time // the last file's timestamp; names never repeat it
}

// NewOutbox returns an Outbox writing to dir, which it creates on the first Send.
func NewOutbox(dir, from string, log *slog.Logger) *Outbox {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Outbox{dir: dir, from: from, log: log, now: time.Now}
}

// Send writes m to the outbox as <UTC time>-<recipient>.eml. The file appears whole or not
// at all — it is written under a temporary name and renamed — so a reader polling the folder
// never sees half a message. The folder and files are private to the owner, since the links
// in them grant access to accounts.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write mail to outbox: %w", err)
	}
	at := o.stamp()
	env, err := build(m, o.from, at)
	if err != nil {
		return fmt.Errorf("build mail: %w", err)
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return fmt.Errorf("create outbox: %w", err)
	}
	name := filepath.Join(o.dir, at.Format("20060102T150405.000000000Z")+"-"+sanitise(env.to)+".eml")
	if err := writeFileAtomic(name, env.data); err != nil {
		return fmt.Errorf("write mail to outbox: %w", err)
	}
	// Not the link: it is a live secret (a password reset signs anybody who reads it in), and
	// logs travel further than a private file. The operator opens the file.
	o.log.Info("mail written to outbox", "to", m.To, "subject", m.Subject, "file", name)
	return nil
}

// stamp returns the time for the next message: now in UTC, but always after the previous
// message's, so that two messages sent in the same nanosecond (or under a clock that
// stepped back) still get distinct file names that sort in sending order.
func (o *Outbox) stamp() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := o.now().UTC()
	if !t.After(o.last) {
		t = o.last.Add(time.Nanosecond)
	}
	o.last = t
	return t
}

// writeFileAtomic writes data to a temporary file in name's folder, syncs it and renames it
// to name. os.CreateTemp makes the file 0600.
func writeFileAtomic(name string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(name), ".tmp-*.eml")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// sanitise turns an address into a file-name fragment that is safe on any file system and
// cannot climb out of the outbox ("../"): anything but letters, digits and @ . _ + - becomes _.
func sanitise(addr string) string {
	if a, err := mail.ParseAddress(addr); err == nil {
		addr = a.Address
	}
	var b strings.Builder
	for _, r := range addr {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("@._+-", r):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := strings.Trim(b.String(), ".")
	if len(s) > 100 {
		s = s[:100]
	}
	if s == "" {
		s = "unknown"
	}
	return s
}
