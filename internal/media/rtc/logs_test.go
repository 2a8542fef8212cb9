package rtc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/media/rtc/rtctest"
)

// capture is a slog handler keeping what is logged at level and above, as "LEVEL scope:
// message", and every Pion scope a logger was made for.
type capture struct {
	level slog.Level
	scope string
	log   *captured
}

type captured struct {
	mu     sync.Mutex
	lines  []string
	scopes map[string]bool
}

func newCapture(level slog.Level) *capture {
	return &capture{level: level, log: &captured{scopes: map[string]bool{}}}
}

func (h *capture) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *capture) Handle(_ context.Context, r slog.Record) error {
	h.log.mu.Lock()
	defer h.log.mu.Unlock()
	h.log.lines = append(h.log.lines, fmt.Sprintf("%s %s: %s", r.Level, h.scope, r.Message))
	return nil
}

func (h *capture) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	for _, a := range as {
		if a.Key == "pion" {
			c.scope = a.Value.String()
			h.log.mu.Lock()
			h.log.scopes[c.scope] = true
			h.log.mu.Unlock()
		}
	}
	return &c
}

func (h *capture) WithGroup(string) slog.Handler { return h }

func (h *capture) lines() []string {
	h.log.mu.Lock()
	defer h.log.mu.Unlock()
	return slices.Clone(h.log.lines)
}

// TestPionLogsLeaveTheEndOut: what Pion's components log of a connection ending (the TWCC
// sender's write after the transport closed, a read on a closed socket) is not a warning or
// an error; a real error stays one, with its Pion scope.
func TestPionLogsLeaveTheEndOut(t *testing.T) {
	h := newCapture(slog.LevelInfo)
	logs := pionLogs{slog.New(h)}
	twcc := logs.NewLogger("twcc_sender_interceptor")
	twcc.Error(io.ErrClosedPipe.Error()) // as the TWCC sender logs a failed write
	logs.NewLogger("ice").Errorf("failed to read: %v", &net.OpError{Op: "read", Net: "udp", Err: net.ErrClosed})
	logs.NewLogger("sender_interceptor").Warnf("failed sending: %+v", fmt.Errorf("srtp: %w", io.ErrClosedPipe))
	twcc.Error("rtcp: packet too short")
	logs.NewLogger("dtls").Errorf("handshake: %v", "bad certificate")
	logs.NewLogger("ice").Info("Setting new connection state: Checking")
	logs.NewLogger("ice").Tracef("ping %d", 1)

	want := []string{
		"ERROR twcc_sender_interceptor: rtcp: packet too short",
		"ERROR dtls: handshake: bad certificate",
	}
	if diff := cmp.Diff(want, h.lines()); diff != "" {
		t.Errorf("logged at info and above (-want +got):\n%s", diff)
	}
}

// TestPionLogsAtDebug: the end is still there at debug level, as is Pion's info; its traces
// are below debug.
func TestPionLogsAtDebug(t *testing.T) {
	h := newCapture(slog.LevelDebug)
	logs := pionLogs{slog.New(h)}
	logs.NewLogger("twcc_sender_interceptor").Error(io.ErrClosedPipe.Error())
	logs.NewLogger("ice").Infof("state: %s", "Checking")
	logs.NewLogger("ice").Trace("ping")
	want := []string{
		"DEBUG twcc_sender_interceptor: io: read/write on closed pipe",
		"DEBUG ice: state: Checking",
	}
	if diff := cmp.Diff(want, h.lines()); diff != "" {
		t.Errorf("logged at debug (-want +got):\n%s", diff)
	}
}

// TestPionLogsWired: a peer connection's interceptors (the TWCC sender and the keyframe
// requests among them) and its ICE agent log into Config.Log, not to stderr.
func TestPionLogsWired(t *testing.T) {
	h := newCapture(pionTrace)
	server, err := NewPeerConnection(Config{Engine: rtctest.LoopbackEngine(t), KeyframeInterval: time.Second, Log: slog.New(h)})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := client(t)
	connect(t, c, server)
	_ = server.Close()
	h.log.mu.Lock()
	defer h.log.mu.Unlock()
	for _, scope := range []string{"twcc_sender_interceptor", "nack_responder", "pli_generator", "ice", "pc"} {
		if !h.log.scopes[scope] {
			t.Errorf("no logger for Pion's %q; made for %v", scope, h.log.scopes)
		}
	}
	if len(h.log.lines) == 0 {
		t.Errorf("nothing of Pion's was logged at trace level")
	}
}
