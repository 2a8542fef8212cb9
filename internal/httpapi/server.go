// Package httpapi is Livehouse's HTTP adapter: the REST API under /api/, health and metrics
// endpoints, and the embedded web app. Handlers translate HTTP to calls on the domain
// services; routes.go lists every route in one place.
package httpapi

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/actions"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/chat"
	"github.com/livehouse/livehouse/internal/notifications"
	"github.com/livehouse/livehouse/internal/polls"
	"github.com/livehouse/livehouse/internal/recordings"
	"github.com/livehouse/livehouse/internal/stages"
	"github.com/livehouse/livehouse/internal/streams"
	"github.com/livehouse/livehouse/internal/viewers"
)

// Config is the part of the configuration the HTTP layer uses.
type Config struct {
	Stage          string
	PublicURL      string
	RTMPURL        string // ingest URL shown to streamers, e.g. rtmp://host:1935/live/
	RTMPSURL       string // e.g. rtmps://host:1936/live/; empty when RTMPS is off
	SRTURL         string // e.g. srt://host:9000?streamid=publish: (the key follows); empty when off
	AllowedOrigins []string
	TrustProxy     bool
	AutoVerify     bool
	ChannelType    string
	AllowedDomains []string
	Version        string
	// BodyTimeout is the longest a request body may go without sending a byte (and a body
	// may take bodyTimeLimit times it in all); 0 = no limit.
	BodyTimeout time.Duration
}

// Check is one dependency /healthz reports on.
type Check struct {
	Name string
	Ping func(ctx context.Context) error
}

// Deps are everything the HTTP layer calls.
type Deps struct {
	Config   Config
	Log      *slog.Logger
	Accounts *accounts.Service
	Channels *channels.Service
	Checks   []Check
	Registry *prometheus.Registry // nil: a private registry (tests)
	Web      fs.FS                // the built web app; nil serves a placeholder
	HLS      http.Handler         // serves /hls/{channelId}/…; nil serves nothing
	Viewers  ViewerCounter        // live viewer counts; nil counts none
	Views    *viewers.Service     // playback tokens and viewing beacons; nil hands out no tokens
	Chat     *chat.Hub
	Sockets  ChatSockets // takes chat WebSockets once their token is redeemed
	Actions  *actions.Service
	Products ProductSearcher // Amazon product search; nil when the feature is off
	Health   *streams.Health // stream sessions, events and metrics
	WHIP     WHIP            // WebRTC ingest; nil answers 404
	WHEP     WHEP            // WebRTC playback; nil answers 404
	// Roles are what this node serves (Role*); nil serves everything. Routes of other roles
	// answer 421 RoleNotServed.
	Roles  []string
	Images ImageFetcher // other sites' product images, fetched for the web app; nil answers 404
	// Recordings are the past broadcasts and their media; nil: no recordings routes.
	Recordings *recordings.Service
	// Notifications are the go-live bell, settings and Web Push subscriptions; nil answers 404.
	Notifications *notifications.Service
	Polls         *polls.Service // live polls
	// Stages are the multi-host stages and their SFU; nil answers 404 StagesDisabled.
	Stages *stages.Service
	// Forwarder and Homes make a cluster answer for real time as one server: a stage route or
	// a WHEP route whose stage or live session is on another node is forwarded there. Either
	// nil: every request is answered here.
	Forwarder Forwarder
	Homes     Homes
}

// ChatSockets upgrades a chat request to a WebSocket for a grant, echoing protocol (the token)
// as the subprotocol. An error (a socket cap, say) comes before anything is written, for the
// caller to answer.
type ChatSockets interface {
	Accept(w http.ResponseWriter, r *http.Request, g *chat.Grant, protocol, ip string) error
}

// NewServer returns the whole HTTP surface.
func NewServer(d Deps) http.Handler {
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	mux := http.NewServeMux()
	addRoutes(mux, d)
	m := newHTTPMetrics(d.Registry)
	var h http.Handler = mux
	h = crossOrigin(d.Config.AllowedOrigins, d.Log, h)
	h = securityHeaders(h)
	h = m.instrument(h)
	h = recoverPanics(d.Log, h)
	h = logRequests(d.Log, h)
	h = bodyDeadline(d.Config.BodyTimeout, h)
	return h
}

func secureCookies(publicURL string) bool { return strings.HasPrefix(publicURL, "https://") }
