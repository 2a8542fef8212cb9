package httpapi

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/livehouse/livehouse/internal/problem"
)

// recorder remembers the status and size a handler wrote.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// logRequests writes one structured line per request; probes and scrapes log at debug.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		level := slog.LevelInfo
		if r.URL.Path == "/healthz" || r.URL.Path == "/metrics" || strings.HasPrefix(r.URL.Path, "/assets/") || strings.HasPrefix(r.URL.Path, "/hls/") {
			level = slog.LevelDebug
		}
		log.Log(r.Context(), level, "http request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"bytes", rec.bytes, "duration_ms", time.Since(start).Milliseconds(), "remote", r.RemoteAddr)
	})
}

// recoverPanics turns a handler panic into a logged 500 instead of a dropped connection.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "handler panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				encode(w, http.StatusInternalServerError, errorBody{errorDetail{Code: "InternalError", Message: "Something went wrong on our side. Please try again."}})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self), geolocation=()")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: data:; "+
			"connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
		next.ServeHTTP(w, r)
	})
}

// crossOrigin answers CORS for the allowed origins ("*" allows any origin, without
// credentials) and refuses cross-site writes that would ride on the session cookie. Requests
// authenticated with a Bearer token carry no ambient credentials and are not CSRF-prone.
func crossOrigin(allowed []string, log *slog.Logger, next http.Handler) http.Handler {
	anyOrigin := slices.Contains(allowed, "*")
	csrf := http.NewCrossOriginProtection()
	for _, o := range allowed {
		if o != "*" {
			if err := csrf.AddTrustedOrigin(strings.TrimSuffix(o, "/")); err != nil {
				log.Warn("ignoring allowed origin", "origin", o, "err", err)
			}
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && strings.HasPrefix(r.URL.Path, "/api/") {
			listed := slices.Contains(allowed, origin)
			if listed || anyOrigin {
				h := w.Header()
				h.Set("Access-Control-Allow-Origin", origin)
				h.Add("Vary", "Origin")
				if listed {
					h.Set("Access-Control-Allow-Credentials", "true")
				}
				h.Set("Access-Control-Expose-Headers", "Location, Retry-After")
				if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
					h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
					h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
					h.Set("Access-Control-Max-Age", "600")
					w.WriteHeader(http.StatusNoContent)
					return
				}
			}
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			if err := csrf.Check(r); err != nil {
				writeError(w, r, log, problem.Forbidden("CrossSiteRequest", "Cross-site requests are not allowed."))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// httpMetrics are the Prometheus series of the HTTP layer.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "livehouse_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "livehouse_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (m *httpMetrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := r.Pattern // set by the mux on this request
		if route == "" {
			route = "unmatched"
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(rec.status)).Inc()
		m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// clientAddr is the caller's IP: the socket peer, or the first X-Forwarded-For hop when the
// operator says a proxy they run sets it.
func clientAddr(r *http.Request, trustProxy bool) string {
	if trustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			if ip := net.ParseIP(strings.TrimSpace(first)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// bodyTimeLimit is how many body timeouts a whole request body may take, however steadily
// it trickles in.
const bodyTimeLimit = 12

// bodyDeadline cuts off a request body that stalls: each read that brings bytes moves the
// connection's read deadline to idle from now (never past bodyTimeLimit×idle from the start),
// so a client sending one byte now and then is closed instead of holding its descriptor
// forever. Net/http clears read deadlines only while reading headers, hence this per request.
// Requests without a body (blocking playlist reloads, the chat WebSocket upgrade) are left
// alone, and the deadline is lifted once the body is read, so a handler that works on after
// reading keeps its context.
func bodyDeadline(idle time.Duration, next http.Handler) http.Handler {
	if idle <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		b := &stallGuard{ReadCloser: r.Body, rc: http.NewResponseController(w), idle: idle, until: time.Now().Add(bodyTimeLimit * idle)}
		if err := b.extend(); err == nil {
			r.Body = b
		}
		next.ServeHTTP(w, r)
	})
}

// stallGuard keeps a request body's read deadline moving while bytes arrive.
type stallGuard struct {
	io.ReadCloser
	rc    *http.ResponseController
	idle  time.Duration
	until time.Time
	done  bool
}

func (b *stallGuard) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case b.done:
	case err == io.EOF:
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	case n > 0 && err == nil:
		b.extend()
	}
	return n, err
}

func (b *stallGuard) extend() error {
	d := time.Now().Add(b.idle)
	if d.After(b.until) {
		d = b.until
	}
	return b.rc.SetReadDeadline(d)
}
