// Package bus carries messages between Livehouse nodes — chat fan-out, stream events and
// stream actions — over NATS subjects. A single node runs NATS embedded in its own process, so
// a small install has nothing extra to deploy; a cluster points every node at one external
// NATS server (or cluster) and the same code fans messages out across machines.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Config is the bus's part of the configuration.
type Config struct {
	// URL of an external NATS server, e.g. nats://nats.internal:4222, or a comma-separated
	// list of a cluster's servers. Empty starts an embedded server inside this process,
	// reachable only by this process.
	URL string
	// Name identifies this node's connection in the NATS server's monitoring.
	Name string
	// Prefix namespaces every subject on the wire ("prod" sends "chat.x" as "prod.chat.x"), so
	// that two clusters (or two test runs) can share one NATS server without hearing each
	// other. Callers and handlers see subjects without it. Empty: none.
	Prefix string
}

// Handler receives one message. It runs on the NATS client's delivery goroutine for its
// subscription, so messages to one subscription arrive one at a time and in order, and a
// handler that blocks holds up every later message of that subscription: once too many are
// pending, NATS drops them (a "slow consumer"). A handler should therefore only decode or copy
// what it needs and hand it off, never wait on I/O. data belongs to the handler and may be
// kept.
type Handler func(subject string, data []byte)

// Subscription is a live subscription. It is an interface so that the packages built on the
// bus can fake it in their own tests.
type Subscription interface {
	// Unsubscribe stops delivery: no message is handed to the handler after it returns,
	// except the one the handler may be running at that moment.
	Unsubscribe() error
}

const (
	// embeddedReadyTimeout bounds how long Open waits for the in-process server to start;
	// it starts in milliseconds, so hitting this means something is badly wrong.
	embeddedReadyTimeout = 10 * time.Second
	// defaultConnectTimeout applies when Open's ctx has no deadline.
	defaultConnectTimeout = 5 * time.Second
	// defaultPingTimeout applies when Ping's ctx has no deadline, because a flush without a
	// deadline could wait forever on a half-dead connection.
	defaultPingTimeout = 5 * time.Second
	// drainTimeout bounds Close: messages still pending after it are dropped.
	drainTimeout = 5 * time.Second
	// slowLogInterval limits slow-consumer warnings to one per interval; a struggling
	// subscriber would otherwise flood the log at exactly the moment the node is overloaded.
	slowLogInterval = 10 * time.Second
)

// Bus is a connection to NATS, plus the embedded server when there is no external one. It is
// safe for concurrent use.
type Bus struct {
	nc  *nats.Conn
	srv *server.Server // nil when connected to an external server
	log *slog.Logger

	closed    chan struct{} // closed by the client's ClosedHandler
	closeOnce sync.Once
	closeErr  error
	drainErr  atomic.Pointer[error]

	prefix string // cfg.Prefix and a dot, or empty

	slow    atomic.Uint64 // slow-consumer events since Open
	slowLog logLimiter
	now     func() time.Time // injectable for tests of the rate limit
}

// Open connects to the server named by cfg.URL, or starts an embedded one when it is empty.
// ctx bounds the initial connection only; once open, the bus reconnects on its own for as long
// as it lives.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Bus, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !ValidPrefix(cfg.Prefix) {
		return nil, fmt.Errorf("bus subject prefix %q: %w", cfg.Prefix, errBadPrefix)
	}
	b := &Bus{
		log:     log,
		closed:  make(chan struct{}),
		now:     time.Now,
		slowLog: logLimiter{interval: slowLogInterval},
	}
	if cfg.Prefix != "" {
		b.prefix = cfg.Prefix + "."
	}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.Timeout(connectTimeout(ctx)),
		// Once connected, never give up: a node without its bus is broken, and the server
		// (or the network to it) will be back.
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(reconnectDelay),
		nats.DrainTimeout(drainTimeout),
		nats.ErrorHandler(b.onError),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err != nil {
				log.Warn("bus disconnected", "url", redact(cfg.URL), "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("bus reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(b.closed) }),
	}
	serverURL := cfg.URL
	if serverURL == "" {
		srv, err := startEmbedded(log)
		if err != nil {
			return nil, err
		}
		b.srv = srv
		// The URL is only a placeholder: with InProcessServer the client never dials it,
		// and it reconnects in-process too.
		serverURL = nats.DefaultURL
		opts = append(opts, nats.InProcessServer(srv))
	}

	nc, err := connect(ctx, serverURL, opts)
	if err != nil {
		if b.srv != nil {
			b.srv.Shutdown()
			b.srv.WaitForShutdown()
		}
		if cfg.URL == "" {
			return nil, fmt.Errorf("connect to embedded nats: %w", err)
		}
		return nil, fmt.Errorf("connect to nats at %s: %w", redact(cfg.URL), err)
	}
	b.nc = nc
	return b, nil
}

// redact hides any password in a server URL (list), which ends up in logs and errors.
func redact(urls string) string {
	list := strings.Split(urls, ",")
	for i, s := range list {
		if u, err := url.Parse(strings.TrimSpace(s)); err == nil {
			list[i] = u.Redacted()
		}
	}
	return strings.Join(list, ",")
}

// connect runs nats.Connect, which takes no context, so that a cancelled ctx returns at once;
// a connection that completes after that is closed rather than leaked.
func connect(ctx context.Context, serverURL string, opts []nats.Option) (*nats.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // not even a try: a refused dial would race the cancellation below
	}
	type result struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(serverURL, opts...)
		done <- result{nc, err}
	}()
	select {
	case r := <-done:
		return r.nc, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// connectTimeout is the dial-and-handshake timeout for the initial connection: what is left
// of ctx's deadline, or a default.
func connectTimeout(ctx context.Context) time.Duration {
	d := defaultConnectTimeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < d {
			d = max(left, time.Millisecond) // nats rejects a zero timeout as invalid
		}
	}
	return d
}

// reconnectDelay backs off exponentially from 100ms to 10s, with up to 20% jitter so that the
// nodes of a cluster do not all hit a restarted server in the same instant.
func reconnectDelay(attempts int) time.Duration {
	d := backoff(attempts)
	return d + rand.N(d/5+1)
}

// backoff is reconnectDelay without the jitter, kept apart so that it can be tested exactly.
func backoff(attempts int) time.Duration {
	const (
		base    = 100 * time.Millisecond
		ceiling = 10 * time.Second
	)
	if attempts < 1 {
		attempts = 1
	}
	d := base
	for i := 1; i < attempts && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// startEmbedded starts a NATS server that accepts only in-process connections: it opens no
// port, so a single node exposes nothing it does not need to.
func startEmbedded(log *slog.Logger) (*server.Server, error) {
	opts := &server.Options{
		DontListen: true,
		// The host process owns the signals; nats-server would otherwise install its own
		// SIGINT/SIGTERM handlers and exit the process.
		NoSigs:    true,
		JetStream: false,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("create embedded nats server: %w", err)
	}
	srv.SetLoggerV2(serverLogger{log.With("component", "nats-server")}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(embeddedReadyTimeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("embedded nats server not ready after %s", embeddedReadyTimeout)
	}
	return srv, nil
}

// Embedded reports whether the bus runs its own in-process server, in which case no other
// node can see its messages.
func (b *Bus) Embedded() bool { return b.srv != nil }

// Publish sends data to every subscriber of subject, on this node and others. It returns once
// the message is buffered for sending, not when it is delivered: NATS is at-most-once, and a
// message published while the connection is down is buffered until it reconnects.
func (b *Bus) Publish(ctx context.Context, subject string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publish to %s: %w", subject, err)
	}
	if err := b.nc.Publish(b.prefix+subject, data); err != nil {
		return fmt.Errorf("publish to %s: %w", subject, err)
	}
	return nil
}

// Subscribe calls h for every message on subject, which may use NATS wildcards: "*" matches
// one token ("chat.*.messages") and ">" the rest ("events.>"). See Handler for what h may do.
func (b *Bus) Subscribe(subject string, h Handler) (Subscription, error) {
	if h == nil {
		return nil, fmt.Errorf("subscribe to %s: nil handler", subject)
	}
	sub, err := b.nc.Subscribe(b.prefix+subject, func(m *nats.Msg) { h(b.local(m.Subject), m.Data) })
	if err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", subject, err)
	}
	return subscription{sub}, nil
}

// ErrNoResponders is what Request returns when nobody subscribes to the subject.
var ErrNoResponders = errors.New("no responders")

// Responder answers one request; what it returns is the reply. Unlike a Handler it runs on a
// goroutine of its own, so it may wait on I/O (the requester waits for it anyway).
type Responder func(subject string, data []byte) []byte

// Respond answers every request on subject with h's reply. Subscribe to a subject only while
// this node can answer it (e.g. a channel's subject while its stream runs here): a request
// nobody can answer then fails at once with ErrNoResponders instead of waiting out its
// deadline.
func (b *Bus) Respond(subject string, h Responder) (Subscription, error) {
	if h == nil {
		return nil, fmt.Errorf("respond on %s: nil responder", subject)
	}
	sub, err := b.nc.Subscribe(b.prefix+subject, func(m *nats.Msg) {
		if m.Reply == "" {
			return // a plain publish: nobody waits for an answer
		}
		go func() {
			if err := m.Respond(h(b.local(m.Subject), m.Data)); err != nil {
				b.log.Warn("answering a bus request", "subject", m.Subject, "err", err)
			}
		}()
	})
	if err != nil {
		return nil, fmt.Errorf("respond on %s: %w", subject, err)
	}
	return subscription{sub}, nil
}

// Request sends data to one responder of subject and returns its reply, waiting at most
// until ctx's deadline (5 s without one). It returns ErrNoResponders when nobody answers the
// subject.
func (b *Bus) Request(ctx context.Context, subject string, data []byte) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultPingTimeout)
		defer cancel()
	}
	m, err := b.nc.RequestWithContext(ctx, b.prefix+subject, data)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, fmt.Errorf("request to %s: %w", subject, ErrNoResponders)
	case err != nil:
		return nil, fmt.Errorf("request to %s: %w", subject, err)
	}
	return m.Data, nil
}

// local is a wire subject without this bus's prefix, as callers name it.
func (b *Bus) local(subject string) string { return strings.TrimPrefix(subject, b.prefix) }

var errBadPrefix = errors.New("want up to 64 letters, digits, '-' or '_'")

// ValidPrefix reports whether p can namespace subjects: empty, or one NATS token of up to 64
// letters, digits, '-' and '_' (no dots or wildcards, which would change what subscriptions
// match).
func ValidPrefix(p string) bool {
	if len(p) > 64 {
		return false
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

type subscription struct{ sub *nats.Subscription }

func (s subscription) Unsubscribe() error {
	if err := s.sub.Unsubscribe(); err != nil {
		return fmt.Errorf("unsubscribe from %s: %w", s.sub.Subject, err)
	}
	return nil
}

// Ping makes a round trip to the server, proving the connection is alive and not just
// buffering; it backs the health check. Without a deadline in ctx it gives up after 5s.
func (b *Bus) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ping nats: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultPingTimeout)
		defer cancel()
	}
	if err := b.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("ping nats: %w", err)
	}
	return nil
}

// Close drains the connection — subscriptions stop taking new messages, messages already
// received are handled, and published ones are flushed — then stops the embedded server and
// waits for it. Calling Close again returns the first result.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() { b.closeErr = b.close() })
	return b.closeErr
}

func (b *Bus) close() error {
	var errs []error
	switch err := b.nc.Drain(); {
	case err == nil:
		// The client closes the connection when the drain completes or times out.
		<-b.closed
	case errors.Is(err, nats.ErrConnectionClosed):
		// Already closed, e.g. after the embedded server went away.
	case errors.Is(err, nats.ErrConnectionReconnecting):
		// Drain closed the connection outright: there is no server to drain to.
		<-b.closed
	default:
		b.nc.Close()
		errs = append(errs, fmt.Errorf("drain nats connection: %w", err))
	}
	if p := b.drainErr.Load(); p != nil {
		errs = append(errs, fmt.Errorf("drain nats connection: %w", *p))
	}
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
	return errors.Join(errs...)
}

// onError receives the client's asynchronous errors. The one that matters in operation is a
// slow consumer: a handler fell so far behind that NATS dropped messages for it.
func (b *Bus) onError(nc *nats.Conn, sub *nats.Subscription, err error) {
	switch {
	case errors.Is(err, nats.ErrSlowConsumer):
		total := b.slow.Add(1)
		suppressed, ok := b.slowLog.allow(b.now())
		if !ok {
			return
		}
		attrs := []any{"total", total, "suppressed", suppressed}
		if sub != nil {
			dropped, _ := sub.Dropped()
			attrs = append(attrs, "subject", sub.Subject, "dropped", dropped)
		}
		b.log.Warn("bus subscriber too slow, messages dropped", attrs...)
	case errors.Is(err, nats.ErrDrainTimeout):
		b.drainErr.Store(&err)
	default:
		attrs := []any{"err", err}
		if sub != nil {
			attrs = append(attrs, "subject", sub.Subject)
		}
		b.log.Error("bus error", attrs...)
	}
}

// logLimiter lets one log line through per interval and counts the ones it held back, so the
// line that does get through can say how many were suppressed.
type logLimiter struct {
	interval time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// allow reports whether to log now and, if so, how many lines were suppressed since the last.
func (l *logLimiter) allow(now time.Time) (suppressed int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < l.interval {
		l.suppressed++
		return 0, false
	}
	suppressed, l.suppressed = l.suppressed, 0
	l.last = now
	return suppressed, true
}

// serverLogger routes the embedded server's log to slog. Its notices (start-up banner, client
// connects) are routine for an in-process server, so they go to debug; warnings and errors
// keep their level because they point at real trouble.
type serverLogger struct{ log *slog.Logger }

func (l serverLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l serverLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l serverLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l serverLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l serverLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l serverLogger) Tracef(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
