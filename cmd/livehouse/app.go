package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/actions"
	"github.com/livehouse/livehouse/internal/bus"
	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/config"
	"github.com/livehouse/livehouse/internal/mail"
	"github.com/livehouse/livehouse/internal/media/hls"
	"github.com/livehouse/livehouse/internal/media/record"
	"github.com/livehouse/livehouse/internal/media/thumbnail"
	"github.com/livehouse/livehouse/internal/media/transcode"
	"github.com/livehouse/livehouse/internal/notifications"
	"github.com/livehouse/livehouse/internal/playback"
	"github.com/livehouse/livehouse/internal/recordings"
	"github.com/livehouse/livehouse/internal/stages"
	"github.com/livehouse/livehouse/internal/storage"
	"github.com/livehouse/livehouse/internal/store/postgres"
	"github.com/livehouse/livehouse/internal/store/sqlite"
	"github.com/livehouse/livehouse/internal/store/sqlstore"
	"github.com/livehouse/livehouse/internal/streams"
	"github.com/livehouse/livehouse/internal/viewers"
	"github.com/livehouse/livehouse/internal/webpush"
)

// app is the wired domain: what both the server and the operator commands need.
type app struct {
	store    *sqlstore.DB
	box      *channels.KeyBox
	accounts *accounts.Service
	channels *channels.Service
	streams  *streams.Service
	health   *streams.Health
	packager *hls.Packager    // the streams output that packages this node's live sessions
	hls      *hls.Server      // serves /hls/: the packager's playlists and media, and relays
	tokens   *playback.Signer // playback tokens, checked by every node's HLS
	views    *viewers.Service // hands out playback tokens and counts viewers by beacon
	node     string           // this node's name in the cluster
	secret   []byte           // the cluster's secret_key (or this node's own, generated)

	transcoder *transcode.Transcoder
	actions    *actions.Service
	recordings *recordings.Service
	recorder   *record.Recorder
	thumbs     *thumbnail.Thumbnailer  // live thumbnails, into the recordings storage
	notices    *notifications.Service  // the bell, notification settings and push subscriptions
	notifier   *notifications.Notifier // sends go-live notices; serve feeds it the bus's events
	closers    []func() error

	// endChat closes a deleted or suspended user's chat sockets on every node; set by serve
	// and by the operator commands when they reach the cluster's bus.
	endChat func(ctx context.Context, userID, reason string)
}

func (a *app) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	return errors.Join(errs...)
}

func openApp(ctx context.Context, cfg config.Config, log *slog.Logger, reg prometheus.Registerer) (*app, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data dir: %w", err)
	}
	secret, err := serverSecret(cfg)
	if err != nil {
		return nil, err
	}
	box, err := channels.NewKeyBox(secret)
	if err != nil {
		return nil, err
	}
	tokens, err := playback.NewSigner(secret, nil)
	if err != nil {
		return nil, err
	}
	a := &app{box: box, tokens: tokens, node: nodeName(cfg), secret: secret}
	if cfg.DatabaseURL != "" {
		a.store, err = postgres.Open(ctx, cfg.DatabaseURL)
	} else {
		a.store, err = sqlite.Open(ctx, filepath.Join(cfg.DataDir, "livehouse.db"))
	}
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.store.Close)

	var sender mail.Sender
	if cfg.SMTP.Host != "" {
		sender = mail.NewSMTP(mail.SMTPConfig{
			Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, Username: cfg.SMTP.Username, Password: cfg.SMTP.Password,
			From: cfg.SMTP.From, TLS: cfg.SMTP.TLS,
		})
	} else {
		sender = mail.NewOutbox(filepath.Join(cfg.DataDir, "outbox"), cfg.SMTP.From, log)
	}
	a.accounts = accounts.NewService(accounts.Config{
		PublicURL: cfg.PublicURL, AutoVerify: cfg.AutoVerify, ChannelType: cfg.ChannelType, AllowedDomains: cfg.SignUpAllowedDomains,
		Limits: accounts.Limits{
			LoginPerAccount: cfg.Auth.LoginAttemptsPerAccount, LoginPerAddress: cfg.Auth.LoginAttemptsPerAddress,
			SignUpsPerAddress: cfg.Auth.SignUpsPerAddress, MailsPerRecipient: cfg.Auth.MailsPerRecipient,
			MailsPerAddress: cfg.Auth.MailRequestsPerAddress, HashWorkers: cfg.Auth.HashWorkers, HashQueue: cfg.Auth.HashQueue,
		},
	}, a.store, box, mailer{sender}, log, nil)
	hcfg := hls.DefaultConfig
	hcfg.PartMinDuration = time.Duration(cfg.HLSPartTargetMS) * time.Millisecond
	hcfg.Tokens, hcfg.Node, hcfg.Origins = tokens, a.node, originLocator{a.store, a.node}
	a.packager = hls.NewPackager(hcfg, log, reg)
	a.hls = hls.NewServer(hcfg, a.packager, log, reg)
	a.closers = append(a.closers, func() error { a.hls.Close(); return nil })
	counter := viewers.New(viewers.Config{Node: a.node, PerAddress: cfg.ViewersPerAddress}, nil, log)
	if reg != nil {
		counter.Register(reg)
	}
	a.views = viewers.NewService(counter, tokens, channels.AccessCheck{Store: a.store}, time.Duration(cfg.PlaybackTokenSeconds)*time.Second, nil)
	a.health = streams.NewHealth(a.store, a.views, log, nil)
	media, err := openStorage(cfg)
	if err != nil {
		return nil, err
	}
	a.recordings = recordings.NewService(recordings.Deps{Store: a.store, Media: media, Finisher: record.Store{Media: media, FFmpeg: cfg.Transcode.FFmpeg},
		Events: recordingEvents{a.store}, Log: log, Enabled: cfg.Recording, Quota: int64(cfg.RecordingQuotaMiB) << 20})
	rcfg := record.DefaultConfig
	rcfg.FFmpeg = cfg.Transcode.FFmpeg // posters
	a.recorder = record.New(rcfg, a.recordings, media, recordPackager{a.packager}, eventSink{a}, log)
	if reg != nil {
		a.recorder.Register(reg)
	}
	a.transcoder = transcode.New(transcode.Config{
		FFmpeg: cfg.Transcode.FFmpeg, Encoder: cfg.Transcode.Encoder, Preset: cfg.Transcode.Preset, Device: cfg.Transcode.Device,
	}, a.packager, log, reg)
	tcfg := thumbnail.DefaultConfig
	tcfg.FFmpeg = cfg.Transcode.FFmpeg
	tcfg.Every = time.Duration(cfg.ThumbnailSeconds) * time.Second
	if cfg.ThumbnailSeconds == 0 {
		tcfg.FFmpeg = "" // the operator turned live thumbnails off
	}
	a.thumbs = thumbnail.New(tcfg, media, log)
	if reg != nil {
		a.thumbs.Register(reg)
	}
	// The packager first: the recorder takes the session's packaging in its Start (outputs
	// start in this order). The transcoder's rungs join the source's packaging once the
	// packager reports it packaged (streams.View.Packaged).
	a.streams = streams.NewService(streams.Deps{Store: a.store, Box: box, Log: log, Health: a.health,
		Outputs:        []streams.Output{a.packager, a.transcoder, a.recorder, a.thumbs},
		ReconnectGrace: time.Duration(cfg.ReconnectGraceSeconds) * time.Second})
	a.streams.SetLease(time.Duration(cfg.NodeLeaseSeconds) * time.Second)
	if reg != nil {
		a.streams.Register(reg)
	}
	a.channels = channels.NewService(a.store, box, log, nil, a.streams)
	a.actions = actions.NewService(a.store, cueSink{a.packager}, a.streams, log, nil, actions.Options{AmazonProduct: cfg.AmazonProduct.Enabled})
	a.streams.AddOutput(a.actions.Output())
	if err := openNotifications(a, cfg, sender, log); err != nil {
		return nil, err
	}
	a.accounts.BeforeDelete(func(ctx context.Context, userID string) {
		if ch, err := a.store.ChannelByUser(ctx, userID); err == nil {
			a.streams.Stop(ch.ID, "account deleted")
		}
		if err := a.recordings.DeleteUser(ctx, userID); err != nil {
			log.Error("deleting a deleted account's recordings", "user", userID, "err", err)
		}
		if a.endChat != nil {
			a.endChat(ctx, userID, "account deleted")
		}
	})
	a.accounts.OnSuspend(func(ctx context.Context, userID string) {
		if ch, err := a.store.ChannelByUser(ctx, userID); err == nil {
			a.streams.Stop(ch.ID, streams.ReasonSuspended)
		}
		if a.endChat != nil {
			a.endChat(ctx, userID, "account suspended")
		}
	})
	return a, nil
}

// openNotifications wires go-live notices: mail through the mail sender, Web Push signed with
// the VAPID key of web_push.vapid_private_key or, without one, <data_dir>/vapid.pem (created
// on first start).
func openNotifications(a *app, cfg config.Config, sender mail.Sender, log *slog.Logger) error {
	var key *ecdsa.PrivateKey
	var err error
	if cfg.WebPush.VAPIDPrivateKey != "" {
		key, err = webpush.ParseKey(cfg.WebPush.VAPIDPrivateKey)
	} else {
		key, err = webpush.LoadOrCreateKey(filepath.Join(cfg.DataDir, "vapid.pem"))
	}
	if err != nil {
		return fmt.Errorf("%w: web_push.vapid_private_key: %v", config.ErrInvalid, err)
	}
	subject := cfg.WebPush.Subject
	if subject == "" {
		subject = "mailto:no-reply@localhost"
		if from, err := netmail.ParseAddress(cfg.SMTP.From); err == nil {
			subject = "mailto:" + from.Address
		}
	}
	push, err := webpush.New(webpush.Config{Key: key, Subject: subject, TTL: time.Hour, AllowPrivate: cfg.WebPush.AllowPrivate})
	if err != nil {
		return err
	}
	a.notices = notifications.NewService(notifications.Config{PublicKey: push.PublicKeyString(), AllowInsecure: cfg.WebPush.AllowPrivate}, a.store, a.channels, nil)
	a.notifier = notifications.NewNotifier(notifications.NotifierDeps{Store: a.store, Mail: noticeMailer{sender}, Push: pusher{push},
		Node: a.node, PublicURL: cfg.PublicURL, Log: log})
	return nil
}

// noticeMailer adapts the mail package to what notifications need.
type noticeMailer struct{ s mail.Sender }

func (m noticeMailer) Send(ctx context.Context, msg notifications.Mail) error {
	return m.s.Send(ctx, mail.Message{To: msg.To, Subject: msg.Subject, Text: msg.Text, Link: msg.Link})
}

// pusher adapts the Web Push client to what notifications need.
type pusher struct{ c *webpush.Client }

func (p pusher) Push(ctx context.Context, sub notifications.Subscription, payload []byte) error {
	err := p.c.Push(ctx, webpush.Subscription{Endpoint: sub.Endpoint, P256DH: sub.P256DH, Auth: sub.Auth}, payload)
	if errors.Is(err, webpush.ErrGone) {
		return fmt.Errorf("%w: %w", notifications.ErrGone, err)
	}
	return err
}

// openStorage opens where recordings are kept: the S3 bucket of storage.*, else the data
// dir's recordings folder.
func openStorage(cfg config.Config) (storage.Store, error) {
	if st := cfg.Storage; st.Bucket != "" {
		return storage.NewS3(storage.S3Config{Endpoint: st.Endpoint, Bucket: st.Bucket, Region: st.Region,
			AccessKey: st.AccessKey, SecretKey: st.SecretKey, PathStyle: st.PathStyle})
	}
	return storage.NewFolder(filepath.Join(cfg.DataDir, "recordings"))
}

// recordingEvents writes the Recording End of a recording finished after its session, on
// the session's events.
type recordingEvents struct{ store *sqlstore.DB }

func (e recordingEvents) RecordingEnded(ctx context.Context, r *recordings.Recording, reason string) {
	detail, _ := json.Marshal(map[string]any{"recording_duration_ms": r.Duration.Milliseconds(), "recording_s3_key_prefix": r.Prefix, "recording_status_reason": reason})
	_ = e.store.AddStreamEvent(ctx, &streams.Event{SessionID: r.ID, At: time.Now().UTC(), Name: streams.EventRecordingEnd, Type: "IVS Recording State Change", Detail: string(detail)})
}

// eventSink writes the recorder's events on their session through the streams service
// (built after the recorder, which is one of its outputs).
type eventSink struct{ a *app }

func (e eventSink) RecordingEvent(ctx context.Context, sessionID, channelID, name, detail string) {
	e.a.streams.RecordingEvent(ctx, sessionID, channelID, name, detail)
}

// nodeName is this node's name: node_name, else the host name.
func nodeName(cfg config.Config) string {
	if cfg.NodeName != "" {
		return cfg.NodeName
	}
	host, _ := os.Hostname()
	return host
}

// originLocator finds, for the HLS relay, the node that runs a channel's live session: from
// the session on record and the URL on that node's lease. A session of this node's own that
// the HLS output does not have (it is starting, or ending) is not relayed to itself.
type originLocator struct {
	store *sqlstore.DB
	node  string
}

func (l originLocator) Origin(ctx context.Context, channelID string) (hls.Origin, error) {
	o, ok, err := l.store.LiveOrigin(ctx, channelID, time.Now())
	if err != nil {
		return hls.Origin{}, err
	}
	if !ok || o.Node == l.node || o.URL == "" {
		return hls.Origin{}, hls.ErrNotLive
	}
	return hls.Origin{SessionID: o.SessionID, NodeURL: o.URL}, nil
}

// cueSink writes stream actions into the HLS packaging as timed metadata (the recording
// stores the packaging's segments, so they replay in it too).
type cueSink struct{ h *hls.Packager }

func (c cueSink) PutCue(channelID string, cue actions.Cue) error {
	err := c.h.PutMetadata(channelID, hls.Metadata{ID: cue.ID, Payload: cue.Payload, Duration: cue.Duration})
	if errors.Is(err, hls.ErrNotLive) {
		return actions.ErrNotLive
	}
	return err
}

// mailer adapts the mail package to what accounts need.
type mailer struct{ s mail.Sender }

func (m mailer) Send(ctx context.Context, msg accounts.Mail) error {
	return m.s.Send(ctx, mail.Message(msg))
}

// serverSecret is the 32-byte key that seals stream keys: from the configuration, else from
// <data_dir>/secret.key, created on first start.
func serverSecret(cfg config.Config) ([]byte, error) {
	if cfg.SecretKey != "" {
		b, err := hex.DecodeString(cfg.SecretKey)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("%w: secret_key must be 64 hex digits", config.ErrInvalid)
		}
		return b, nil
	}
	path := filepath.Join(cfg.DataDir, "secret.key")
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		b := make([]byte, 32)
		rand.Read(b)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("creating %s: %w", path, err)
		}
		_, err = f.WriteString(hex.EncodeToString(b) + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("writing %s: %w", path, err)
		}
		return b, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("%s must hold 64 hex digits", path)
	}
	return b, nil
}

func openBus(ctx context.Context, cfg config.Config, log *slog.Logger) (*bus.Bus, error) {
	host, _ := os.Hostname()
	return bus.Open(ctx, bus.Config{URL: cfg.NATSURL, Name: "livehouse@" + host, Prefix: cfg.NATSPrefix}, log)
}

// recordPackager has the recorder store the live packaging's segments (the source's and the
// rungs'), rather than muxing the stream a second time.
type recordPackager struct{ p *hls.Packager }

func (r recordPackager) Packaging(channelID string) (record.Packaging, bool) {
	pk, ok := r.p.Packaging(channelID)
	if !ok {
		return nil, false
	}
	return pk, true
}

// homes finds, for the HTTP layer's forwarding, the node that hosts a stage or runs a
// channel's live session (and so its WHEP playback), from the store: records of nodes whose
// lease has expired are no one's.
type homes struct{ store *sqlstore.DB }

func (h homes) StageNode(ctx context.Context, by stages.Lookup) (string, bool, error) {
	return h.store.StageNode(ctx, by, time.Now())
}

func (h homes) LiveNode(ctx context.Context, channelID string) (string, bool, error) {
	o, ok, err := h.store.LiveOrigin(ctx, channelID, time.Now())
	return o.Node, ok, err
}
