package rtc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"github.com/pion/logging"
)

// Pion's logs. Pion logs through its own LoggerFactory, by default straight to stderr at error
// level, past the server's log; and its TWCC sender logs every write that fails, which when a
// peer goes is "io: read/write on closed pipe" on every connection's end (its ticker outlives
// the transport by up to one interval). pionLogs hands each Pion component a logger into the
// connection's slog.Logger, with the Pion scope ("twcc_sender_interceptor", "ice", …), and
// the end of a connection written as what it is: not an error.
//
// Levels: Pion's errors stay errors; its warnings, which it printed nowhere by default, and
// its info are debug; its debug and trace below that.

// pionTrace and pionDebug are the slog levels of Pion's trace and debug logs: below Debug, so
// that a server at debug level is not flooded by ICE's per-packet logs.
const (
	pionDebug = slog.LevelDebug - 2
	pionTrace = slog.LevelDebug - 4
)

// pionLogs is a logging.LoggerFactory writing into log.
type pionLogs struct{ log *slog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope)}
}

// connectionEnded reports whether a Pion message is a read or write failing because the
// connection has closed. Pion hands its logger the error's text only (err.Error()), so the
// sentinels are matched by their text.
func connectionEnded(msg string) bool {
	return strings.Contains(msg, io.ErrClosedPipe.Error()) || strings.Contains(msg, net.ErrClosed.Error())
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) at(level slog.Level, msg string) {
	if level >= slog.LevelWarn && connectionEnded(msg) {
		level = slog.LevelDebug
	}
	l.log.Log(context.Background(), level, msg)
}

// logf formats only what the logger would write: ICE traces every packet.
func (l pionLogger) logf(level slog.Level, format string, args ...any) {
	if level < slog.LevelWarn && !l.log.Enabled(context.Background(), level) {
		return
	}
	l.at(level, fmt.Sprintf(format, args...))
}

func (l pionLogger) Trace(msg string)                  { l.at(pionTrace, msg) }
func (l pionLogger) Tracef(format string, args ...any) { l.logf(pionTrace, format, args...) }
func (l pionLogger) Debug(msg string)                  { l.at(pionDebug, msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.logf(pionDebug, format, args...) }
func (l pionLogger) Info(msg string)                   { l.at(slog.LevelDebug, msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.logf(slog.LevelDebug, format, args...) }
func (l pionLogger) Warn(msg string)                   { l.at(slog.LevelDebug, msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.logf(slog.LevelDebug, format, args...) }
func (l pionLogger) Error(msg string)                  { l.at(slog.LevelError, msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.logf(slog.LevelError, format, args...) }
