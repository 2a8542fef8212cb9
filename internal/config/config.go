// Package config is the one place Livehouse's settings are defined, defaulted, loaded and
// validated. Settings come from, in rising precedence: the stage's defaults, an optional YAML
// file, LIVEHOUSE_* environment variables and command-line flags.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/livehouse/livehouse/internal/bus"
	"github.com/livehouse/livehouse/internal/products"
)

// Config is the whole effective configuration. Each component receives only its own part.
// The yaml tag names the key; the environment variable is LIVEHOUSE_ + the key upper-cased
// (nested keys joined by "_"), the flag is the key with "-" for "_".
type Config struct {
	Stage string `yaml:"stage" help:"dev or prod; picks the defaults of every other setting"`

	HTTPAddr   string `yaml:"http_addr" help:"HTTP listen address (web app, API, HLS)"`
	RTMPAddr   string `yaml:"rtmp_addr" help:"RTMP ingest listen address"`
	RTMPSAddr  string `yaml:"rtmps_addr" help:"RTMPS (RTMP over TLS) ingest listen address; off (or empty) = no RTMPS"`
	SRTAddr    string `yaml:"srt_addr" help:"SRT ingest listen address (UDP); off (or empty) = no SRT"`
	WebRTCAddr string `yaml:"webrtc_addr" help:"UDP address for WebRTC (WHIP/WHEP) media"`
	DataDir    string `yaml:"data_dir" help:"directory for the SQLite database, uploads and the mail outbox"`
	DebugAddr  string `yaml:"debug_addr" help:"listen address for Go's profiler (/debug/pprof/); empty = off. Keep it on loopback"`
	// MemoryLimit is a size such as 2GiB or 1500MB (see MemoryLimitBytes).
	MemoryLimit string `yaml:"memory_limit" help:"soft limit on the Go heap (e.g. 2GiB): near it the garbage collector works harder instead of letting the heap double; set it to about 90% of the memory the server may use. Empty = none (or GOMEMLIMIT)"`

	WebRTCPublicIPs   []string `yaml:"webrtc_public_ips" help:"public IPs announced in place of the host's own (a server behind 1:1 NAT)"`
	WebRTCSTUNServers []string `yaml:"webrtc_stun_servers" help:"STUN servers (stun:host:port) the server uses and offers to WebRTC publishers"`
	WebRTCHLSAudio    string   `yaml:"webrtc_hls_audio" help:"what WebRTC publishers' Opus becomes for HLS viewers: aac (transcoded, plays everywhere) or opus (passed through)"`

	DatabaseURL string `yaml:"database_url" secret:"true" help:"empty for SQLite in the data dir, or postgres://… for PostgreSQL"`
	NATSURL     string `yaml:"nats_url" secret:"true" help:"empty for NATS embedded in-process, or nats://… for an external cluster"`
	NATSPrefix  string `yaml:"nats_subject_prefix" help:"namespaces this cluster's NATS subjects (prod → prod.chat…), so that clusters can share one NATS server; the same on every node of a cluster; empty = none"`
	SecretKey   string `yaml:"secret_key" secret:"true" help:"hex key (32 bytes) that seals stream keys at rest; empty = generated into the data dir. Every node of a cluster needs the same one"`

	NodeName         string `yaml:"node_name" help:"this node's name in a cluster, the same across its restarts; empty = the host name"`
	NodeLeaseSeconds int    `yaml:"node_lease_seconds" help:"how long a node's lease lasts unrenewed (it renews every third of it); a stream on a node silent this long is ended by the others"`
	NodeURL          string `yaml:"node_url" help:"base URL other nodes reach this node's HTTP at, to relay its live streams (http://10.0.0.5:8080); empty = http://127.0.0.1 with http_addr's port, for one machine"`

	// Caps on descriptors: a process with 20,000 open files keeps serving whatever one
	// address does. Behind trust_proxy every connection comes from the proxy, so the
	// per-address caps are left to it (the totals still hold).
	MaxConnections               int `yaml:"max_connections" help:"HTTP connections (chat sockets included) open at once; 0 = no cap"`
	MaxConnectionsPerAddress     int `yaml:"max_connections_per_address" help:"HTTP connections open at once from one IP address; 0 = no cap; off with trust_proxy"`
	HTTPBodyTimeoutSeconds       int `yaml:"http_body_timeout_seconds" help:"a request body that sends nothing for this long is cut off (and any body after 12 times it)"`
	RTMPMaxConnections           int `yaml:"rtmp_max_connections" help:"RTMP connections open at once; 0 = no cap"`
	RTMPMaxConnectionsPerAddress int `yaml:"rtmp_max_connections_per_address" help:"RTMP connections open at once from one IP address; 0 = no cap"`
	RTMPPublishTimeoutSeconds    int `yaml:"rtmp_publish_timeout_seconds" help:"an RTMP connection that has not asked to publish with a valid key this long after connecting is closed"`

	// TLS for RTMPS: a certificate and key in PEM files, or (both empty) a self-signed one
	// generated into the data dir and kept across restarts, for development.
	TLSCertFile string `yaml:"tls_cert_file" help:"PEM certificate (chain) for RTMPS; empty (with tls_key_file) = a self-signed one generated into the data dir"`
	TLSKeyFile  string `yaml:"tls_key_file" help:"PEM private key of tls_cert_file"`

	SRTLatencyMS                int    `yaml:"srt_latency_ms" help:"SRT receive latency in milliseconds (the larger of this and the encoder's own is used)"`
	SRTPassphrase               string `yaml:"srt_passphrase" secret:"true" help:"SRT encryption passphrase (10 to 79 characters) every SRT publisher must use; empty = unencrypted SRT"`
	SRTMaxConnections           int    `yaml:"srt_max_connections" help:"SRT connections open at once; 0 = no cap"`
	SRTMaxConnectionsPerAddress int    `yaml:"srt_max_connections_per_address" help:"SRT connections open at once from one IP address; 0 = no cap"`
	// ReconnectGraceSeconds is how long a session whose encoder disconnected waits for it to
	// come back on the same key before it ends.
	ReconnectGraceSeconds int `yaml:"reconnect_grace_seconds" help:"seconds a live session waits for its encoder to reconnect on the same key (same session, same playlist) before it ends; 0 = ends at once"`
	// HLSPartTargetMS is LL-HLS's PART-TARGET; PART-HOLD-BACK is three times it, and players
	// stay about that far behind the newest part.
	HLSPartTargetMS int `yaml:"hls_part_target_ms" help:"LL-HLS part target in milliseconds (100 to 1000); players stay about three parts behind the newest"`
	// Roles is what this node serves; see Role*.
	Roles []string `yaml:"roles" help:"what this node serves: all, or any of api (REST API and web app), chat, media (RTMP/WHIP ingest and HLS origin), edge (HLS relay only)"`

	PlaybackTokenSeconds int `yaml:"playback_token_seconds" help:"lifetime of a player's signed playback token; players renew it through their viewing beacon, and a banned viewer's playback stops within it"`
	ViewersPerAddress    int `yaml:"viewers_per_address" help:"anonymous playback sessions of one channel counted per source address (per /64 for IPv6); signed-in viewers count once each"`

	PublicURL      string   `yaml:"public_url" help:"base URL users reach the web app at; links in mail point here"`
	AllowedOrigins []string `yaml:"allowed_origins" help:"CORS allowlist for the API; * allows any origin"`
	TrustProxy     bool     `yaml:"trust_proxy" help:"take the client address from X-Forwarded-For (only behind a proxy you run)"`

	AutoVerify           bool     `yaml:"auto_verify" help:"accounts are verified at sign-up without an email link"`
	ChannelType          string   `yaml:"channel_type" help:"type of new channels: BASIC (passthrough) or STANDARD (transcoded ladder)"`
	SignUpAllowedDomains []string `yaml:"sign_up_allowed_domains" help:"email domains allowed to sign up; empty allows all"`

	ChatBlockedWords   []string `yaml:"chat_blocked_words" help:"words that make a chat message be refused (406), whole words, any case"`
	ChatReviewURL      string   `yaml:"chat_review_url" help:"HTTP endpoint that reviews each chat message (IVS review-handler JSON), within 200 ms"`
	ChatReviewFallback string   `yaml:"chat_review_fallback" help:"ALLOW or DENY when the review endpoint fails or is late"`
	ChatRoomRate       int      `yaml:"chat_room_rate" help:"messages per second a chat room accepts, per node"`
	ChatSocketsPerAddr int      `yaml:"chat_sockets_per_address" help:"chat WebSockets one client address (an IPv6 /64) may hold open on a node; more get 429"`
	ChatSocketsPerUser int      `yaml:"chat_sockets_per_user" help:"chat WebSockets one signed-in user may hold open on a node; more get 429"`

	LogLevel             string `yaml:"log_level" help:"debug, info, warn or error"`
	LogFormat            string `yaml:"log_format" help:"text or json"`
	LogRetentionDays     int    `yaml:"log_retention_days" help:"days to keep operator-facing files (the mail outbox); 0 keeps them"`
	SessionRetentionDays int    `yaml:"session_retention_days" help:"days to keep stream sessions, their events and metrics; 0 keeps them"`

	Auth          Auth          `yaml:"auth"`
	SMTP          SMTP          `yaml:"smtp"`
	AmazonProduct AmazonProduct `yaml:"amazon_product"`
	Transcode     Transcode     `yaml:"transcode"`

	Recording              bool    `yaml:"recording" help:"record live sessions for playback afterwards (each channel may still turn its own off); false records none"`
	RecordingRetentionDays int     `yaml:"recording_retention_days" help:"days to keep recordings; 0 keeps them"`
	RecordingQuotaMiB      int     `yaml:"recording_quota_mib" help:"MiB of recordings each user may keep; once their recordings hold it, new sessions are not recorded (Recording Start Failure). 0 = no quota"`
	Storage                Storage `yaml:"storage"`
	ThumbnailSeconds       int     `yaml:"thumbnail_seconds" help:"seconds between live thumbnails of a channel (one JPEG from a keyframe, with ffmpeg; about 0.17 CPU-s per stream-minute at 30); 0 makes none"`

	WebPush WebPush `yaml:"web_push"`
}

// WebPush configures go-live notifications by Web Push.
type WebPush struct {
	VAPIDPrivateKey string `yaml:"vapid_private_key" secret:"true" help:"VAPID private key (the P-256 scalar, base64url); empty = generated into <data_dir>/vapid.pem. Give every node of a cluster the same one"`
	Subject         string `yaml:"subject" help:"contact for push services (mailto: or https:); empty = mailto: the smtp.from address"`
	AllowPrivate    bool   `yaml:"allow_private" help:"send pushes to loopback and private addresses and over http (a push service under test); off in production"`
}

// Storage says where recordings are kept: a folder under the data dir, or an S3-compatible
// bucket when bucket is set (any node of a cluster then serves any recording).
type Storage struct {
	Endpoint  string `yaml:"endpoint" help:"S3 endpoint URL (https://s3.eu-west-1.amazonaws.com, http://minio:9000); empty with no bucket = <data_dir>/recordings"`
	Bucket    string `yaml:"bucket" help:"S3 bucket for recordings; empty = the data dir's recordings folder"`
	Region    string `yaml:"region" help:"S3 region; empty = asked of the server"`
	AccessKey string `yaml:"access_key" secret:"true" help:"S3 access key"`
	SecretKey string `yaml:"secret_key" secret:"true" help:"S3 secret key"`
	PathStyle bool   `yaml:"path_style" help:"address the bucket in the path (most self-hosted S3 servers) rather than the host name"`
}

// Auth bounds what one client can make the account routes do: throttles counted before the
// work they guard, and the password-hashing queue.
type Auth struct {
	LoginAttemptsPerAccount int `yaml:"login_attempts_per_account" help:"password attempts per account in 15 minutes (sign-in, change password, delete account); a right password clears them"`
	LoginAttemptsPerAddress int `yaml:"login_attempts_per_address" help:"failed password attempts per client address in 15 minutes"`
	SignUpsPerAddress       int `yaml:"sign_ups_per_address" help:"sign-ups per client address per hour"`
	MailsPerRecipient       int `yaml:"mails_per_recipient" help:"mails with a link (verification, reset, email change) per recipient address per hour"`
	MailRequestsPerAddress  int `yaml:"mail_requests_per_address" help:"password-reset and verification-resend requests per client address per hour"`
	HashWorkers             int `yaml:"hash_workers" help:"password hashes computed at once (argon2id, 19 MiB each); 0 = max(2, CPUs)"`
	HashQueue               int `yaml:"hash_queue" help:"requests that may wait for a password hash; more are answered 503 with Retry-After"`
}

// Transcode configures the ffmpeg ladder of STANDARD channels.
type Transcode struct {
	FFmpeg  string `yaml:"ffmpeg" help:"the ffmpeg program: a path, or a name looked up on PATH"`
	Encoder string `yaml:"encoder" help:"video encoder: x264 (software), vaapi, nvenc or qsv (hardware)"`
	Preset  string `yaml:"preset" help:"x264 preset: ultrafast, superfast, veryfast, faster, fast or medium"`
	Device  string `yaml:"device" help:"VAAPI render node; empty = /dev/dri/renderD128"`
}

// SMTP configures outgoing mail. With no host, mail is written to the data dir's outbox.
type SMTP struct {
	Host     string `yaml:"host" help:"SMTP server host; empty writes mail to <data_dir>/outbox"`
	Port     int    `yaml:"port" help:"SMTP server port"`
	Username string `yaml:"username" help:"SMTP AUTH user"`
	Password string `yaml:"password" secret:"true" help:"SMTP AUTH password"`
	From     string `yaml:"from" help:"From address of outgoing mail"`
	TLS      string `yaml:"tls" help:"starttls, tls (implicit) or none"`
}

// AmazonProduct configures the Amazon product stream action (Product Advertising API 5.0).
type AmazonProduct struct {
	Enabled        bool   `yaml:"enabled" help:"enable the Amazon product stream action and product search"`
	Locale         string `yaml:"locale" help:"PA-API marketplace by name, e.g. United Kingdom; empty = United States"`
	LinkRegionCode string `yaml:"link_region_code" help:"suffix of the affiliate tracking id (channel id + - + code), e.g. 20; empty = none"`
	AccessKey      string `yaml:"access_key" secret:"true" help:"PA-API access key"`
	SecretKey      string `yaml:"secret_key" secret:"true" help:"PA-API secret key"`
	PartnerTag     string `yaml:"partner_tag" help:"PA-API partner (associate) tag"`
}

// Defaults returns the defaults of a stage, mirroring the reference's dev and prod options.
func Defaults(stage string) Config {
	c := Config{
		Stage:                 "dev",
		HTTPAddr:              ":8080",
		RTMPAddr:              ":1935",
		RTMPSAddr:             ":1936",
		SRTAddr:               ":9000",
		SRTLatencyMS:          120,
		ReconnectGraceSeconds: 5,
		HLSPartTargetMS:       200,
		WebRTCAddr:            ":8189",
		WebRTCHLSAudio:        "aac",
		DataDir:               "./data",
		PublicURL:             "http://localhost:8080",
		AllowedOrigins:        []string{"*"},
		AutoVerify:            true,
		ChannelType:           "BASIC",
		LogLevel:              "info",
		LogFormat:             "text",
		LogRetentionDays:      7,
		SessionRetentionDays:  60,
		NodeLeaseSeconds:      15,
		Roles:                 []string{RoleAll},
		PlaybackTokenSeconds:  120,
		ViewersPerAddress:     10,
		ChatRoomRate:          100,
		ChatReviewFallback:    "ALLOW",
		Auth: Auth{
			LoginAttemptsPerAccount: 5, LoginAttemptsPerAddress: 30, SignUpsPerAddress: 20,
			MailsPerRecipient: 5, MailRequestsPerAddress: 10, HashQueue: 16,
		},
		SMTP:               SMTP{Port: 587, From: "Livehouse <no-reply@localhost>", TLS: "starttls"},
		Transcode:          Transcode{FFmpeg: "ffmpeg", Encoder: "x264", Preset: "veryfast"},
		Recording:          true,
		ThumbnailSeconds:   30,
		ChatSocketsPerAddr: 100,
		ChatSocketsPerUser: 10,

		MaxConnections:               16_000,
		MaxConnectionsPerAddress:     1_000,
		HTTPBodyTimeoutSeconds:       10,
		RTMPMaxConnections:           1_000,
		RTMPMaxConnectionsPerAddress: 100,
		RTMPPublishTimeoutSeconds:    10,
		SRTMaxConnections:            1_000,
		SRTMaxConnectionsPerAddress:  100,
	}
	if stage == "prod" {
		c.Stage = "prod"
		c.AllowedOrigins = nil
		c.AutoVerify = false
		c.ChannelType = "STANDARD"
		c.LogFormat = "json"
		c.LogRetentionDays = 0
	}
	return c
}

// linkRegionCode is the shape of amazon_product.link_region_code, the tracking id's suffix.
var linkRegionCode = regexp.MustCompile(`^[A-Za-z0-9]{0,8}$`)

// ErrInvalid marks a configuration that cannot run; the command exits with status 2.
var ErrInvalid = errors.New("invalid configuration")

// Validate reports every bad value at once, each naming its key.
func (c *Config) Validate() error {
	var problems []string
	bad := func(key, format string, args ...any) {
		problems = append(problems, key+": "+fmt.Sprintf(format, args...))
	}
	if c.Stage != "dev" && c.Stage != "prod" {
		bad("stage", "%q is not dev or prod", c.Stage)
	}
	for key, addr := range map[string]string{"http_addr": c.HTTPAddr, "rtmp_addr": c.RTMPAddr, "webrtc_addr": c.WebRTCAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad(key, "%q is not host:port", addr)
		}
	}
	// "off" turns a listener off where an empty value cannot (an empty variable is unset).
	for _, addr := range []*string{&c.RTMPSAddr, &c.SRTAddr} {
		if *addr == "off" {
			*addr = ""
		}
	}
	for key, addr := range map[string]string{"rtmps_addr": c.RTMPSAddr, "srt_addr": c.SRTAddr} {
		if _, _, err := net.SplitHostPort(addr); addr != "" && err != nil {
			bad(key, "%q is not host:port (or empty for off)", addr)
		}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		bad("tls_cert_file", "tls_cert_file and tls_key_file go together: set both, or neither for a generated self-signed certificate")
	}
	if c.SRTLatencyMS < 20 || c.SRTLatencyMS > 10_000 {
		bad("srt_latency_ms", "%d is not from 20 to 10000", c.SRTLatencyMS)
	}
	if n := len(c.SRTPassphrase); n != 0 && (n < 10 || n > 79) {
		bad("srt_passphrase", "must be 10 to 79 characters (SRT's bounds), or empty")
	}
	if c.HLSPartTargetMS < 100 || c.HLSPartTargetMS > 1000 {
		bad("hls_part_target_ms", "%d is not from 100 to 1000", c.HLSPartTargetMS)
	}
	if c.ReconnectGraceSeconds < 0 || c.ReconnectGraceSeconds > 300 {
		bad("reconnect_grace_seconds", "%d is not from 0 to 300", c.ReconnectGraceSeconds)
	}
	if _, _, err := net.SplitHostPort(c.DebugAddr); c.DebugAddr != "" && err != nil {
		bad("debug_addr", "%q is not host:port", c.DebugAddr)
	}
	if _, err := c.MemoryLimitBytes(); err != nil {
		bad("memory_limit", "%v", err)
	}
	if c.WebRTCHLSAudio != "aac" && c.WebRTCHLSAudio != "opus" {
		bad("webrtc_hls_audio", "%q is not aac or opus", c.WebRTCHLSAudio)
	}
	for _, ip := range c.WebRTCPublicIPs {
		if net.ParseIP(ip) == nil {
			bad("webrtc_public_ips", "%q is not an IP address", ip)
		}
	}
	for _, u := range c.WebRTCSTUNServers {
		if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") {
			bad("webrtc_stun_servers", "%q is not a stun: URL", u)
		}
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		bad("database_url", "must be empty (SQLite) or a postgres:// URL")
	}
	if c.NATSURL != "" && !strings.HasPrefix(c.NATSURL, "nats://") && !strings.HasPrefix(c.NATSURL, "tls://") {
		bad("nats_url", "must be empty (embedded) or a nats:// URL")
	}
	if !bus.ValidPrefix(c.NATSPrefix) {
		bad("nats_subject_prefix", "%q is not up to 32 letters, digits, '-' or '_'", c.NATSPrefix)
	}
	if c.SecretKey != "" && len(c.SecretKey) != 64 {
		bad("secret_key", "must be 64 hex digits (32 bytes)")
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("public_url", "%q is not an http(s) URL", c.PublicURL)
	}
	if c.NodeURL != "" {
		if u, err := url.Parse(c.NodeURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			bad("node_url", "%q is not an http(s) base URL", c.NodeURL)
		}
	}
	for _, o := range c.AllowedOrigins {
		if o == "*" {
			continue
		}
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad("allowed_origins", "%q is not an origin like https://example.com", o)
		}
	}
	if c.ChannelType != "BASIC" && c.ChannelType != "STANDARD" {
		bad("channel_type", "%q is not BASIC or STANDARD", c.ChannelType)
	}
	if c.Transcode.FFmpeg == "" {
		bad("transcode.ffmpeg", "must not be empty")
	}
	if !slices.Contains([]string{"x264", "vaapi", "nvenc", "qsv"}, c.Transcode.Encoder) {
		bad("transcode.encoder", "%q is not x264, vaapi, nvenc or qsv", c.Transcode.Encoder)
	}
	if !slices.Contains([]string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium"}, c.Transcode.Preset) {
		bad("transcode.preset", "%q is not ultrafast, superfast, veryfast, faster, fast or medium", c.Transcode.Preset)
	}
	for _, d := range c.SignUpAllowedDomains {
		if d == "" || strings.ContainsAny(d, "@ /") {
			bad("sign_up_allowed_domains", "%q is not a domain", d)
		}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		bad("log_level", "%q is not debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log_format", "%q is not text or json", c.LogFormat)
	}
	if c.LogRetentionDays < 0 {
		bad("log_retention_days", "must not be negative")
	}
	if c.ChatReviewFallback != "ALLOW" && c.ChatReviewFallback != "DENY" {
		bad("chat_review_fallback", "%q is not ALLOW or DENY", c.ChatReviewFallback)
	}
	if c.ChatReviewURL != "" {
		if u, err := url.Parse(c.ChatReviewURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("chat_review_url", "%q is not an http(s) URL", c.ChatReviewURL)
		}
	}
	if c.ChatRoomRate < 1 || c.ChatRoomRate > 10_000 {
		bad("chat_room_rate", "%d is not from 1 to 10000", c.ChatRoomRate)
	}
	if c.ChatSocketsPerAddr < 1 || c.ChatSocketsPerAddr > 1_000_000 {
		bad("chat_sockets_per_address", "%d is not from 1 to 1000000", c.ChatSocketsPerAddr)
	}
	if c.ChatSocketsPerUser < 1 || c.ChatSocketsPerUser > 1_000_000 {
		bad("chat_sockets_per_user", "%d is not from 1 to 1000000", c.ChatSocketsPerUser)
	}
	if c.NodeLeaseSeconds < 1 || c.NodeLeaseSeconds > 3600 {
		bad("node_lease_seconds", "%d is not from 1 to 3600", c.NodeLeaseSeconds)
	}
	for _, n := range []struct {
		key string
		n   int
	}{{"max_connections", c.MaxConnections}, {"max_connections_per_address", c.MaxConnectionsPerAddress},
		{"rtmp_max_connections", c.RTMPMaxConnections}, {"rtmp_max_connections_per_address", c.RTMPMaxConnectionsPerAddress},
		{"srt_max_connections", c.SRTMaxConnections}, {"srt_max_connections_per_address", c.SRTMaxConnectionsPerAddress}} {
		if n.n < 0 {
			bad(n.key, "must not be negative")
		}
	}
	if c.HTTPBodyTimeoutSeconds < 1 || c.HTTPBodyTimeoutSeconds > 3600 {
		bad("http_body_timeout_seconds", "%d is not from 1 to 3600", c.HTTPBodyTimeoutSeconds)
	}
	if c.RTMPPublishTimeoutSeconds < 1 || c.RTMPPublishTimeoutSeconds > 3600 {
		bad("rtmp_publish_timeout_seconds", "%d is not from 1 to 3600", c.RTMPPublishTimeoutSeconds)
	}
	if c.SessionRetentionDays < 0 {
		bad("session_retention_days", "must not be negative")
	}
	if c.ThumbnailSeconds != 0 && (c.ThumbnailSeconds < 5 || c.ThumbnailSeconds > 3600) {
		bad("thumbnail_seconds", "%d is not 0 (none) or from 5 to 3600", c.ThumbnailSeconds)
	}
	if c.RecordingRetentionDays < 0 {
		bad("recording_retention_days", "must not be negative")
	}
	if c.RecordingQuotaMiB < 0 || c.RecordingQuotaMiB > 1<<30 {
		bad("recording_quota_mib", "%d is not from 0 (none) to 1073741824", c.RecordingQuotaMiB)
	}
	if wp := c.WebPush; wp.Subject != "" && !strings.HasPrefix(wp.Subject, "mailto:") && !strings.HasPrefix(wp.Subject, "https://") {
		bad("web_push.subject", "%q is not a mailto: or https: URL", wp.Subject)
	}
	if k := c.WebPush.VAPIDPrivateKey; k != "" {
		if raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k, "=")); err != nil || len(raw) != 32 {
			bad("web_push.vapid_private_key", "must be a 32-byte P-256 scalar, base64url")
		}
	}
	if st := c.Storage; st.Bucket != "" || st.Endpoint != "" {
		if u, err := url.Parse(st.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad("storage.endpoint", "%q is not an http(s)://host[:port] URL", st.Endpoint)
		}
		if st.Bucket == "" {
			bad("storage.bucket", "must be set with storage.endpoint")
		}
	}
	for key, v := range map[string]int{
		"auth.login_attempts_per_account": c.Auth.LoginAttemptsPerAccount, "auth.login_attempts_per_address": c.Auth.LoginAttemptsPerAddress,
		"auth.sign_ups_per_address": c.Auth.SignUpsPerAddress, "auth.mails_per_recipient": c.Auth.MailsPerRecipient,
		"auth.mail_requests_per_address": c.Auth.MailRequestsPerAddress, "auth.hash_queue": c.Auth.HashQueue,
	} {
		if v < 1 || v > 1_000_000 {
			bad(key, "%d is not from 1 to 1000000", v)
		}
	}
	if c.Auth.HashWorkers < 0 || c.Auth.HashWorkers > 1024 {
		bad("auth.hash_workers", "%d is not from 0 (one per CPU) to 1024", c.Auth.HashWorkers)
	}
	if c.PlaybackTokenSeconds < 2 || c.PlaybackTokenSeconds > 3600 {
		bad("playback_token_seconds", "%d is not from 2 to 3600", c.PlaybackTokenSeconds)
	}
	if c.ViewersPerAddress < 1 || c.ViewersPerAddress > 10_000 {
		bad("viewers_per_address", "%d is not from 1 to 10000", c.ViewersPerAddress)
	}
	if len(c.Roles) == 0 {
		bad("roles", "must name at least one of %s", strings.Join(allRoles, ", "))
	}
	for _, r := range c.Roles {
		if !slices.Contains(allRoles, r) {
			bad("roles", "%q is not one of %s", r, strings.Join(allRoles, ", "))
		}
	}
	if c.SMTP.Host != "" {
		if c.SMTP.Port < 1 || c.SMTP.Port > 65535 {
			bad("smtp.port", "%d is not a port", c.SMTP.Port)
		}
		if !slices.Contains([]string{"starttls", "tls", "none"}, c.SMTP.TLS) {
			bad("smtp.tls", "%q is not starttls, tls or none", c.SMTP.TLS)
		}
		if _, err := mail.ParseAddress(c.SMTP.From); err != nil {
			bad("smtp.from", "%q is not a mail address", c.SMTP.From)
		}
	}
	if c.AmazonProduct.Enabled && (c.AmazonProduct.AccessKey == "" || c.AmazonProduct.SecretKey == "" || c.AmazonProduct.PartnerTag == "") {
		bad("amazon_product", "enabled needs access_key, secret_key and partner_tag")
	}
	if _, ok := products.LookupLocale(c.AmazonProduct.Locale); !ok {
		bad("amazon_product.locale", "%q is not a PA-API marketplace; use one of %s", c.AmazonProduct.Locale, strings.Join(products.Locales(), ", "))
	}
	if !linkRegionCode.MatchString(c.AmazonProduct.LinkRegionCode) {
		bad("amazon_product.link_region_code", "%q is not up to 8 letters and digits", c.AmazonProduct.LinkRegionCode)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w:\n  %s", ErrInvalid, strings.Join(problems, "\n  "))
	}
	return nil
}

// Roles a node may take (the roles setting); all is every one of the others.
const (
	RoleAll   = "all"
	RoleAPI   = "api"   // the REST API and the web app
	RoleChat  = "chat"  // chat tokens and chat WebSockets
	RoleMedia = "media" // RTMP and WHIP ingest, and the HLS origin of the streams ingested here
	RoleEdge  = "edge"  // HLS relayed from the ingesting nodes only
)

var allRoles = []string{RoleAll, RoleAPI, RoleChat, RoleMedia, RoleEdge}

// Has reports whether the node takes the role (all takes every one).
func (c *Config) Has(role string) bool {
	return slices.Contains(c.Roles, RoleAll) || slices.Contains(c.Roles, role)
}

// sizeUnits are the suffixes memory_limit takes, longest first so that "MiB" is not read as "B".
var sizeUnits = []struct {
	suffix string
	bytes  float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

// NodeBaseURL is the base URL other nodes reach this node at: node_url, else derived from
// http_addr for a single machine (its host, or 127.0.0.1 when it listens on every address).
func (c *Config) NodeBaseURL() string {
	if c.NodeURL != "" {
		return strings.TrimSuffix(c.NodeURL, "/")
	}
	host, port, err := net.SplitHostPort(c.HTTPAddr)
	if err != nil {
		return "http://127.0.0.1:8080"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// MemoryLimitBytes is memory_limit in bytes, 0 when it is empty: a number with an optional
// unit (B, KB, MB, GB, TB, or KiB, MiB, GiB, TiB), such as 2GiB or 1500MB.
func (c *Config) MemoryLimitBytes() (int64, error) {
	s := strings.TrimSpace(c.MemoryLimit)
	if s == "" {
		return 0, nil
	}
	scale := 1.0
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			s, scale = strings.TrimSpace(n), u.bytes
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, fmt.Errorf("%q is not a size such as 2GiB or 1500MB", c.MemoryLimit)
	}
	b := n * scale
	if b > math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", c.MemoryLimit)
	}
	if b > 0 && b < 64<<20 {
		return 0, fmt.Errorf("%q is below 64MiB, too little to run in", c.MemoryLimit)
	}
	return int64(b), nil
}
