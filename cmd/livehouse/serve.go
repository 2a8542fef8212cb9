package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/livehouse/livehouse/internal/chat"
	"github.com/livehouse/livehouse/internal/chat/socket"
	"github.com/livehouse/livehouse/internal/config"
	"github.com/livehouse/livehouse/internal/connlimit"
	"github.com/livehouse/livehouse/internal/httpapi"
	"github.com/livehouse/livehouse/internal/imageproxy"
	"github.com/livehouse/livehouse/internal/media/record"
	"github.com/livehouse/livehouse/internal/media/rtmp"
	"github.com/livehouse/livehouse/internal/media/sfu"
	"github.com/livehouse/livehouse/internal/media/srt"
	"github.com/livehouse/livehouse/internal/media/whep"
	"github.com/livehouse/livehouse/internal/media/whip"
	"github.com/livehouse/livehouse/internal/nodes"
	"github.com/livehouse/livehouse/internal/notifications"
	"github.com/livehouse/livehouse/internal/polls"
	"github.com/livehouse/livehouse/internal/products"
	"github.com/livehouse/livehouse/internal/recordings"
	"github.com/livehouse/livehouse/internal/safe"
	"github.com/livehouse/livehouse/internal/stages"
	"github.com/livehouse/livehouse/internal/streams"
	"github.com/livehouse/livehouse/internal/tlscert"
	"github.com/livehouse/livehouse/internal/viewers"
	"github.com/livehouse/livehouse/web"
)

// serve runs the server until ctx is cancelled, then shuts down gracefully.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	if limit, _ := cfg.MemoryLimitBytes(); limit > 0 { // validated with the configuration
		// Without a limit the heap may grow to twice what is live before the garbage collector
		// runs; with one, it collects harder as the heap nears the limit.
		previous := debug.SetMemoryLimit(limit)
		defer debug.SetMemoryLimit(previous)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a, err := openApp(ctx, cfg, log, reg)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := openBus(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer b.Close()
	a.streams.SetBus(b)
	a.actions.SetCluster(b) // actions through any node reach the stream where it runs
	hub := chat.NewHub(a.store, b.Publish, log, nil)
	hub.Register(reg)
	hub.SetRoomRate(cfg.ChatRoomRate)
	var webhook chat.Reviewer
	if cfg.ChatReviewURL != "" {
		webhook = &chat.Webhook{URL: cfg.ChatReviewURL}
	}
	if filter := chat.NewWordFilter(cfg.ChatBlockedWords); filter != nil {
		hub.SetReview(cfg.ChatReviewFallback == "ALLOW", filter, webhook)
	} else {
		hub.SetReview(cfg.ChatReviewFallback == "ALLOW", webhook)
	}
	hub.SetAccess(chat.StoreAccess(a.store))
	hub.SetControls(a.store) // followers-only chat and slow mode
	pollService := polls.New(polls.Deps{Store: a.store, Events: hub, Log: log})
	// Each role opens only what it serves: chat the WebSocket loop, media the ingest
	// listeners; routes of roles the node does not take answer 421 (see httpapi).
	var sockets httpapi.ChatSockets
	if cfg.Has(config.RoleChat) {
		s, err := socket.New(hub, log, socket.Config{PerAddress: cfg.ChatSocketsPerAddr, PerUser: cfg.ChatSocketsPerUser})
		if err != nil {
			return err
		}
		defer s.Close()
		sockets = s
	}
	// The bus delivers on its own goroutines: a panic handling one message ends that one only.
	chatSub, err := b.Subscribe(chat.SubjectPrefix+">", safe.Callback(log, "chat delivery", hub.Deliver))
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	defer chatSub.Unsubscribe()
	chatUserSub, err := b.Subscribe(chat.UserSubjectPrefix+">", safe.Callback(log, "chat user delivery", hub.Deliver))
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	defer chatUserSub.Unsubscribe()
	// Chat replay: the node recording a channel keeps its chat with the recording.
	replaySub, err := b.Subscribe(chat.SubjectPrefix+">", safe.Callback(log, "chat replay", func(subject string, data []byte) {
		keepChat(a.recorder, subject, data)
	}))
	if err != nil {
		return fmt.Errorf("chat replay: %w", err)
	}
	defer replaySub.Unsubscribe()
	// A ban closes the user's sockets to the room on every node and voids their tokens; a
	// deleted or suspended account's, to every room.
	a.channels.OnBan(func(ctx context.Context, channelID, userID string) {
		hub.Ban(ctx, channelID, userID)
		a.views.Banned(ctx, b, channelID, userID) // their playback stops counting on every node
	})
	// Taken off a private channel's allowlist: their chat in it closes on every node, and their
	// playback stops counting (their token is not renewed).
	a.channels.OnDisallow(func(ctx context.Context, channelID, userID string) {
		hub.DisconnectUser(ctx, channelID, userID, "no longer allowed")
		a.views.Banned(ctx, b, channelID, userID)
	})
	// Made private: everyone's chat in it but the owner's and the allowlist's closes on every
	// node, anonymous readers' too, and tokens issued before are void for the others.
	a.channels.OnPrivate(func(ctx context.Context, channelID string, keep []string) {
		if err := hub.Restrict(ctx, channelID, keep); err != nil {
			log.Error("closing the chat of a channel made private", "channel", channelID, "err", err)
		}
	})
	a.endChat = func(ctx context.Context, userID, reason string) {
		if err := chat.EndUser(ctx, b.Publish, userID, reason, time.Now()); err != nil {
			log.Error("ending a user's chat", "user", userID, "err", err)
		}
	}
	stopHub := background(log, "chat tokens", hub.Run) // purges expired tokens
	defer stopHub()
	stopPolls := background(log, "polls", pollService.Run) // announces tallies, closes polls on time
	defer stopPolls()
	// Key resets, suspensions and deletions made on any node (or by an operator command) end
	// the stream on the node that runs it.
	stopSub, err := b.Subscribe(streams.StopSubjectPrefix+">", safe.Callback(log, "stream stop delivery", a.streams.DeliverStop))
	if err != nil {
		return fmt.Errorf("streams: %w", err)
	}
	defer stopSub.Unsubscribe()

	// Viewer counts: each node counts the beacons it gets and the others' published counts.
	viewSub, err := b.Subscribe(viewers.SubjectPrefix+">", safe.Callback(log, "viewer counts delivery", a.views.Deliver))
	if err != nil {
		return fmt.Errorf("viewers: %w", err)
	}
	defer viewSub.Unsubscribe()
	dropSub, err := b.Subscribe(viewers.DropSubject, safe.Callback(log, "viewer drop delivery", a.views.DeliverDrop))
	if err != nil {
		return fmt.Errorf("viewers: %w", err)
	}
	defer dropSub.Unsubscribe()
	// Go-live notices: every node hears each session's Stream Start; the one whose claim in
	// the store wins sends them.
	noticeSub, err := b.Subscribe(notifications.EventSubjectPrefix+">", safe.Callback(log, "go-live notices delivery", a.notifier.Deliver))
	if err != nil {
		return fmt.Errorf("notifications: %w", err)
	}
	defer noticeSub.Unsubscribe()
	stopNotifier := background(log, "go-live notices", a.notifier.Run)
	defer stopNotifier()

	stopViews := background(log, "viewer counts", func(ctx context.Context) error { return a.views.Run(ctx, b) })
	defer stopViews()

	if _, err := a.streams.Recover(ctx, a.node); err != nil {
		return fmt.Errorf("recovering sessions: %w", err)
	}
	// Recover took the node's lease; other nodes relay this node's streams from the URL on it.
	if err := a.store.SetNodeURL(ctx, a.node, cfg.NodeBaseURL()); err != nil {
		return fmt.Errorf("recording the node's URL: %w", err)
	}
	// Recordings whose session ended without them (a crash, a node gone) are finished from
	// what was stored, at start and then every half minute.
	stopRecordings := background(log, "recordings", func(ctx context.Context) error {
		return finishRecordings(ctx, a, log)
	})
	defer stopRecordings()
	stopLease := background(log, "node lease", a.streams.RunLease)
	defer func() { // after streams.Shutdown below: the lease goes once no session is left
		if err := stopLease(); err != nil {
			log.Warn("dropping the node lease", "err", err)
		}
	}()
	// After streams.Shutdown below, the recordings of the sessions it ended are finished
	// before the lease goes (other nodes leave a leased node's recordings to it).
	stopRecorder := background(log, "recorder", a.recorder.Run)
	defer stopRecorder()
	forwarder, err := nodes.New(b, a.node, a.secret, log)
	if err != nil {
		return err
	}
	rtmpAddr, webrtcAddr := "-", "-"
	var webrtcIngest httpapi.WHIP
	var webrtcPlayback httpapi.WHEP
	var stageRooms *stages.Service
	// The ingest URL streamers see: this node's listener, or the configured port when the
	// node takes no ingest (an api node tells streamers where the media nodes listen).
	ingestURL := rtmpURL(cfg.PublicURL, cfg.RTMPAddr)
	rtmpsIngestURL := ingestURLFor("rtmps", cfg.PublicURL, cfg.RTMPSAddr)
	srtIngestURL := ingestURLFor("srt", cfg.PublicURL, cfg.SRTAddr)
	if cfg.Has(config.RoleMedia) {
		w, err := whip.Listen(whip.Config{UDPAddr: cfg.WebRTCAddr, PublicIPs: cfg.WebRTCPublicIPs, STUNServers: cfg.WebRTCSTUNServers, HLSAudio: cfg.WebRTCHLSAudio}, a.streams, log)
		if err != nil {
			return err
		}
		stopWHIP := background(log, "whip", w.Run)
		defer stopWHIP()
		webrtcIngest, webrtcAddr = w, w.Addr().String()
		// WHEP playback shares WHIP's UDP port; it is an output of every live session, added
		// before any ingest listener runs. Its viewers end before the port closes (deferred
		// stops run in reverse).
		p := whep.New(whep.Config{Engine: w.SettingEngine(), STUNServers: cfg.WebRTCSTUNServers, FFmpeg: cfg.Transcode.FFmpeg}, a.views, log)
		a.streams.AddOutput(p)
		stopWHEP := background(log, "whep", p.Run)
		defer stopWHEP()
		webrtcPlayback = p

		// Stages: their SFU shares the same UDP port too. A stage and its media live on the
		// node that hosts it; the store says which, so that other nodes forward its requests
		// there, and its events reach every node through the chat room.
		var stageService *stages.Service
		media := sfu.New(sfu.Config{Engine: w.SettingEngine(), STUNServers: cfg.WebRTCSTUNServers, Gone: func(stageID, participantID string) {
			stageService.MediaGone(stageID, participantID)
		}, Unsubscribed: func(stageID, subscriptionID, owner string) {
			stageService.SubscriptionEnded(stageID, subscriptionID, owner)
		}}, log)
		stageService = stages.New(stages.Deps{Channels: a.channels, Tokens: a.views, Audience: a.views, Media: media, Events: hub, Log: log, BaseURL: cfg.PublicURL,
			Store: a.store, Node: a.node})
		// The stages this node left open when it last stopped uncleanly ended with that
		// process's peer connections: they are ended on record before any is started.
		if err := stageService.Recover(ctx); err != nil {
			return fmt.Errorf("stages: %w", err)
		}
		stopSFU := background(log, "sfu", media.Run)
		defer stopSFU()
		stopStages := background(log, "stages", stageService.Run) // before the SFU stops
		defer stopStages()
		stageRooms = stageService

		ingest, err := rtmp.Listen(rtmp.Config{
			Addr: cfg.RTMPAddr, MaxConnections: cfg.RTMPMaxConnections, MaxConnectionsPerAddress: cfg.RTMPMaxConnectionsPerAddress,
			PublishTimeout: time.Duration(cfg.RTMPPublishTimeoutSeconds) * time.Second,
		}, a.streams, log)
		if err != nil {
			return err
		}
		registerListener(reg, "rtmp", ingest.Listener())
		stopRTMP := background(log, "rtmp", ingest.Run)
		defer stopRTMP()
		rtmpAddr, ingestURL = ingest.Addr().String(), rtmpURL(cfg.PublicURL, ingest.Addr().String())

		if cfg.RTMPSAddr != "" {
			tlsCfg, selfSigned, err := tlscert.Config(cfg.TLSCertFile, cfg.TLSKeyFile, cfg.DataDir, []string{publicHost(cfg.PublicURL)})
			if err != nil {
				return fmt.Errorf("rtmps: %w", err)
			}
			if selfSigned {
				log.Info("rtmps uses a self-signed certificate from the data dir; set tls_cert_file and tls_key_file for encoders that verify it")
			}
			secure, err := rtmp.Listen(rtmp.Config{
				Addr: cfg.RTMPSAddr, MaxConnections: cfg.RTMPMaxConnections, MaxConnectionsPerAddress: cfg.RTMPMaxConnectionsPerAddress,
				PublishTimeout: time.Duration(cfg.RTMPPublishTimeoutSeconds) * time.Second, TLS: tlsCfg,
			}, a.streams, log)
			if err != nil {
				return err
			}
			registerListener(reg, "rtmps", secure.Listener())
			stopRTMPS := background(log, "rtmps", secure.Run)
			defer stopRTMPS()
			rtmpsIngestURL = ingestURLFor("rtmps", cfg.PublicURL, secure.Addr().String())
		}
		if cfg.SRTAddr != "" {
			s, err := srt.Listen(srt.Config{
				Addr: cfg.SRTAddr, Latency: time.Duration(cfg.SRTLatencyMS) * time.Millisecond, Passphrase: cfg.SRTPassphrase,
				MaxConnections: cfg.SRTMaxConnections, MaxConnectionsPerAddress: cfg.SRTMaxConnectionsPerAddress,
				PublishTimeout: time.Duration(cfg.RTMPPublishTimeoutSeconds) * time.Second,
			}, a.streams, log)
			if err != nil {
				return err
			}
			registerListener(reg, "srt", s.Caps())
			stopSRT := background(log, "srt", s.Run)
			defer stopSRT()
			srtIngestURL = ingestURLFor("srt", cfg.PublicURL, s.Addr().String())
		}
	}

	search, err := productSearch(cfg.AmazonProduct)
	if err != nil {
		return err
	}

	handler := httpapi.NewServer(httpapi.Deps{
		Config: httpapi.Config{
			Stage: cfg.Stage, PublicURL: cfg.PublicURL, RTMPURL: ingestURL, RTMPSURL: rtmpsIngestURL, SRTURL: srtIngestURL, AllowedOrigins: cfg.AllowedOrigins, TrustProxy: cfg.TrustProxy,
			AutoVerify: cfg.AutoVerify, ChannelType: cfg.ChannelType, AllowedDomains: cfg.SignUpAllowedDomains, Version: version,
			BodyTimeout: time.Duration(cfg.HTTPBodyTimeoutSeconds) * time.Second,
		},
		Log: log, Accounts: a.accounts, Channels: a.channels,
		Checks:     []httpapi.Check{{Name: "database", Ping: a.store.Ping}, {Name: "bus", Ping: b.Ping}},
		Registry:   reg,
		Web:        web.Dist(),
		HLS:        a.hls,
		Viewers:    a.views,
		Views:      a.views,
		Chat:       hub,
		Sockets:    sockets,
		WHIP:       webrtcIngest,
		Actions:    a.actions,
		Products:   search,
		Health:     a.health,
		Roles:      cfg.Roles,
		Images:     imageproxy.New(imageproxy.Config{}),
		Recordings: a.recordings,
		WHEP:       webrtcPlayback,

		Notifications: a.notices,
		Polls:         pollService,
		Stages:        stageRooms,
		Forwarder:     forwarder,
		Homes:         homes{a.store},
	})
	// Requests other nodes forward here (this node hosts the stage, or runs the live session
	// a WHEP viewer asks for) run through the same handler, credentials checked again.
	stopForwarded, err := forwarder.Serve(handler)
	if err != nil {
		return err
	}
	defer stopForwarded()

	rawLn, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	ln := connlimit.Wrap(rawLn, connlimit.Config{Total: cfg.MaxConnections, PerAddress: perAddress(cfg, cfg.MaxConnectionsPerAddress), Refuse: connlimit.HTTP503})
	registerListener(reg, "http", ln)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second, // request bodies: httpapi's BodyTimeout
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("livehouse started", "version", version, "stage", cfg.Stage, "roles", strings.Join(cfg.Roles, ","), "http", ln.Addr().String(), "rtmp", rtmpAddr, "webrtc", webrtcAddr,
		"database", a.store.Dialect(), "bus_embedded", b.Embedded(), "data_dir", cfg.DataDir, "amazon_product", search != nil)
	fmt.Fprintf(stdout, "Livehouse is serving http://%s (public URL %s)\n", ln.Addr(), cfg.PublicURL)
	if err := a.transcoder.Available(); err != nil && cfg.Has(config.RoleMedia) {
		log.Warn("transcoding", "err", err)
	}

	if cfg.DebugAddr != "" {
		stopDebug, err := serveDebug(cfg.DebugAddr, log)
		if err != nil {
			return err
		}
		defer stopDebug()
	}

	stopMail := background(log, "mail", a.accounts.Run) // reset and resend mail, off the request path
	defer stopMail()

	stopJobs := background(log, "janitor", func(ctx context.Context) error {
		janitor(ctx, a, cfg, log)
		return nil
	})

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		stopJobs()
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	a.streams.Shutdown() // live sessions end cleanly, with their events, before the listeners close
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	stopJobs()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// perAddress is a per-address connection cap, or none behind a trusted proxy: there every
// connection comes from the proxy, and capping its address would cap the whole site.
func perAddress(cfg config.Config, n int) int {
	if cfg.TrustProxy {
		return 0
	}
	return n
}

// registerListener exports a capped listener's open and refused connections.
func registerListener(reg prometheus.Registerer, name string, ln *connlimit.Listener) {
	labels := prometheus.Labels{"listener": name}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "livehouse_connections_open", Help: "Connections open on a listener.", ConstLabels: labels},
			func() float64 { return float64(ln.Open()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "livehouse_connections_refused_total", Help: "Connections refused by a listener's total or per-address cap.", ConstLabels: labels},
			func() float64 { return float64(ln.Refused()) }),
	)
}

// productSearch is the Amazon product search client, or nil when the feature is off. The
// keys go to the client only; nothing here logs them.
func productSearch(c config.AmazonProduct) (httpapi.ProductSearcher, error) {
	if !c.Enabled {
		return nil, nil
	}
	client, err := products.NewClient(products.Config{
		Locale: c.Locale, LinkRegionCode: c.LinkRegionCode, AccessKey: c.AccessKey, SecretKey: c.SecretKey, PartnerTag: c.PartnerTag,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: amazon_product: %v", config.ErrInvalid, err)
	}
	return client, nil
}

// rtmpURL is the ingest URL streamers paste into OBS: the public host with the port the
// RTMP server actually listens on.
func rtmpURL(publicURL string, addr string) string { return ingestURLFor("rtmp", publicURL, addr) }

// ingestURLFor is an ingest URL of scheme rtmp, rtmps (…/live/, the key follows) or srt
// (…?streamid=publish:, the key follows) on the public host and the listener's port; empty
// for a listener that is off.
func ingestURLFor(scheme, publicURL, addr string) string {
	if addr == "" {
		return ""
	}
	_, port, _ := net.SplitHostPort(addr)
	hostPort := net.JoinHostPort(publicHost(publicURL), port)
	if scheme == "srt" {
		return "srt://" + hostPort + "?streamid=publish:"
	}
	return scheme + "://" + hostPort + "/live/"
}

// publicHost is the host name of the public URL, or localhost.
func publicHost(publicURL string) string {
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "localhost"
}

// janitor runs the periodic housekeeping: purging accounts left unverified, expired sessions
// and codes, stream sessions past their retention, and old outbox mail.
func janitor(ctx context.Context, a *app, cfg config.Config, log *slog.Logger) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		if _, err := a.accounts.PurgeUnverified(ctx); err != nil && ctx.Err() == nil {
			log.Error("purging unverified accounts", "err", err)
		}
		if cfg.SessionRetentionDays > 0 {
			if n, err := a.health.Purge(ctx, time.Duration(cfg.SessionRetentionDays)*24*time.Hour); err != nil && ctx.Err() == nil {
				log.Error("purging old stream sessions", "err", err)
			} else if n > 0 {
				log.Info("purged old stream sessions", "count", n, "retention_days", cfg.SessionRetentionDays)
			}
		}
		if cfg.RecordingRetentionDays > 0 {
			if n, err := a.recordings.Purge(ctx, time.Duration(cfg.RecordingRetentionDays)*24*time.Hour); err != nil && ctx.Err() == nil {
				log.Error("purging old recordings", "err", err)
			} else if n > 0 {
				log.Info("purged old recordings", "count", n, "retention_days", cfg.RecordingRetentionDays)
			}
		}
		if cfg.LogRetentionDays > 0 {
			pruneOutbox(filepath.Join(cfg.DataDir, "outbox"), time.Duration(cfg.LogRetentionDays)*24*time.Hour, log)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// finishRecordings finishes abandoned recordings now and every 30 s until ctx ends.
func finishRecordings(ctx context.Context, a *app, log *slog.Logger) error {
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		if n, err := a.recordings.FinishAbandoned(ctx, a.node, a.recorder.Finishing); err != nil && ctx.Err() == nil {
			log.Error("finishing abandoned recordings", "err", err)
		} else if n > 0 {
			log.Info("finished recordings whose session ended without them", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func pruneOutbox(dir string, keep time.Duration, log *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-keep)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !e.IsDir() && info.ModTime().Before(cutoff) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				log.Warn("pruning outbox", "file", e.Name(), "err", err)
			}
		}
	}
}

// serveDebug serves Go's profiler on its own listener, for operators measuring memory and CPU.
func serveDebug(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("profiler listening", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}

// background runs run until the returned stop is called; stop waits for it and returns its
// error. A panic in run is logged with its stack and run is started again (safe.Supervise).
func background(log *slog.Logger, name string, run func(context.Context) error) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- safe.Supervise(ctx, log, name, run) }()
	return func() error {
		cancel()
		return <-done
	}
}

// keepChat hands a room's chat to the recorder, which keeps it with the channel's recording
// when it records the channel (a room's id is its channel's).
func keepChat(rec *record.Recorder, subject string, data []byte) {
	c, ok := chat.DecodeRoomChange(subject, data)
	if !ok {
		return
	}
	if m := c.Message; m != nil {
		sender, _ := json.Marshal(m.Sender.Attributes)
		rec.PutChat(c.RoomID, recordings.ChatLine{MessageID: m.ID, SenderID: m.Sender.UserID, Sender: string(sender), Content: m.Content})
	}
	if c.DeleteMessageID != "" || c.DeleteSenderID != "" {
		rec.RemoveChat(c.RoomID, c.DeleteMessageID, c.DeleteSenderID)
	}
}
