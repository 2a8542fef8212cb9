package config

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("http_addr: 127.0.0.1:1111\nrtmp_addr: 127.0.0.1:2222\nsign_up_allowed_domains: [example.com]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, rest, err := Load("t", []string{"--config", file, "--rtmp-addr", "127.0.0.1:3333", "extra"}, env(map[string]string{
		"LIVEHOUSE_HTTP_ADDR":       "127.0.0.1:4444",
		"LIVEHOUSE_ALLOWED_ORIGINS": "https://a.example, https://b.example",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults("dev")
	want.HTTPAddr = "127.0.0.1:4444" // env beats file
	want.RTMPAddr = "127.0.0.1:3333" // flag beats file
	want.SignUpAllowedDomains = []string{"example.com"}
	want.AllowedOrigins = []string{"https://a.example", "https://b.example"}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"extra"}, rest); diff != "" {
		t.Errorf("rest args (-want +got):\n%s", diff)
	}
}

func TestStagePicksDefaults(t *testing.T) {
	for _, tt := range []struct {
		vars       map[string]string
		args       []string
		autoVerify bool
		chType     string
	}{
		{nil, nil, true, "BASIC"},
		{map[string]string{"LIVEHOUSE_STAGE": "prod"}, nil, false, "STANDARD"},
		{map[string]string{"LIVEHOUSE_STAGE": "prod", "LIVEHOUSE_AUTO_VERIFY": "true"}, nil, true, "STANDARD"},
		{map[string]string{"LIVEHOUSE_STAGE": "dev"}, []string{"--stage", "prod"}, false, "STANDARD"},
	} {
		cfg, _, err := Load("t", tt.args, env(tt.vars), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.AutoVerify != tt.autoVerify || cfg.ChannelType != tt.chType {
			t.Errorf("%v %v: auto_verify %v channel_type %s; want %v %s", tt.vars, tt.args, cfg.AutoVerify, cfg.ChannelType, tt.autoVerify, tt.chType)
		}
	}
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"LIVEHOUSE_STAGE": "staging"}, "stage"},
		{map[string]string{"LIVEHOUSE_HTTP_ADDR": "8080"}, "http_addr"},
		{map[string]string{"LIVEHOUSE_DATABASE_URL": "mysql://x"}, "database_url"},
		{map[string]string{"LIVEHOUSE_NATS_URL": "http://x"}, "nats_url"},
		{map[string]string{"LIVEHOUSE_PUBLIC_URL": "localhost"}, "public_url"},
		{map[string]string{"LIVEHOUSE_NODE_URL": "10.0.0.5:8080"}, "node_url"},
		{map[string]string{"LIVEHOUSE_ALLOWED_ORIGINS": "example.com"}, "allowed_origins"},
		{map[string]string{"LIVEHOUSE_CHANNEL_TYPE": "basic"}, "channel_type"},
		{map[string]string{"LIVEHOUSE_AUTO_VERIFY": "maybe"}, "LIVEHOUSE_AUTO_VERIFY"},
		{map[string]string{"LIVEHOUSE_LOG_RETENTION_DAYS": "-1"}, "log_retention_days"},
		{map[string]string{"LIVEHOUSE_SMTP_HOST": "mail", "LIVEHOUSE_SMTP_TLS": "ssl"}, "smtp.tls"},
		{map[string]string{"LIVEHOUSE_AMAZON_PRODUCT_ENABLED": "true"}, "amazon_product"},
		{map[string]string{"LIVEHOUSE_AMAZON_PRODUCT_LOCALE": "Atlantis"}, "amazon_product.locale"},
		{map[string]string{"LIVEHOUSE_AMAZON_PRODUCT_LINK_REGION_CODE": "-20"}, "amazon_product.link_region_code"},
		{map[string]string{"LIVEHOUSE_SECRET_KEY": "abc"}, "secret_key"},
		{map[string]string{"LIVEHOUSE_WEBRTC_PUBLIC_IPS": "203.0.113.7,example.com"}, "webrtc_public_ips"},
		{map[string]string{"LIVEHOUSE_WEBRTC_STUN_SERVERS": "stun.example.com:3478"}, "webrtc_stun_servers"},
		{map[string]string{"LIVEHOUSE_WEBRTC_HLS_AUDIO": "mp3"}, "webrtc_hls_audio"},
		{map[string]string{"LIVEHOUSE_MEMORY_LIMIT": "lots"}, "memory_limit"},
		{map[string]string{"LIVEHOUSE_MEMORY_LIMIT": "2 GB of RAM"}, "memory_limit"},
		{map[string]string{"LIVEHOUSE_MEMORY_LIMIT": "-1GiB"}, "memory_limit"},
		{map[string]string{"LIVEHOUSE_MEMORY_LIMIT": "10MB"}, "memory_limit"},
		{map[string]string{"LIVEHOUSE_AUTH_LOGIN_ATTEMPTS_PER_ACCOUNT": "0"}, "auth.login_attempts_per_account"},
		{map[string]string{"LIVEHOUSE_AUTH_SIGN_UPS_PER_ADDRESS": "-5"}, "auth.sign_ups_per_address"},
		{map[string]string{"LIVEHOUSE_AUTH_HASH_QUEUE": "0"}, "auth.hash_queue"},
		{map[string]string{"LIVEHOUSE_AUTH_HASH_WORKERS": "-1"}, "auth.hash_workers"},
		{map[string]string{"LIVEHOUSE_CHAT_SOCKETS_PER_ADDRESS": "0"}, "chat_sockets_per_address"},
		{map[string]string{"LIVEHOUSE_CHAT_SOCKETS_PER_USER": "-3"}, "chat_sockets_per_user"},
		{map[string]string{"LIVEHOUSE_MAX_CONNECTIONS_PER_ADDRESS": "-1"}, "max_connections_per_address"},
		{map[string]string{"LIVEHOUSE_RTMP_MAX_CONNECTIONS": "-5"}, "rtmp_max_connections"},
		{map[string]string{"LIVEHOUSE_HTTP_BODY_TIMEOUT_SECONDS": "0"}, "http_body_timeout_seconds"},
		{map[string]string{"LIVEHOUSE_RTMP_PUBLISH_TIMEOUT_SECONDS": "0"}, "rtmp_publish_timeout_seconds"},
		{map[string]string{"LIVEHOUSE_RTMPS_ADDR": "1936"}, "rtmps_addr"},
		{map[string]string{"LIVEHOUSE_SRT_ADDR": "nine"}, "srt_addr"},
		{map[string]string{"LIVEHOUSE_TLS_CERT_FILE": "/x.pem"}, "tls_cert_file"},
		{map[string]string{"LIVEHOUSE_SRT_LATENCY_MS": "5"}, "srt_latency_ms"},
		{map[string]string{"LIVEHOUSE_SRT_PASSPHRASE": "short"}, "srt_passphrase"},
		{map[string]string{"LIVEHOUSE_SRT_MAX_CONNECTIONS": "-1"}, "srt_max_connections"},
		{map[string]string{"LIVEHOUSE_RECONNECT_GRACE_SECONDS": "301"}, "reconnect_grace_seconds"},
		{map[string]string{"LIVEHOUSE_HLS_PART_TARGET_MS": "99"}, "hls_part_target_ms"},
		{map[string]string{"LIVEHOUSE_HLS_PART_TARGET_MS": "1001"}, "hls_part_target_ms"},
		{map[string]string{"LIVEHOUSE_ROLES": "api,cdn"}, `roles: "cdn"`},
		{map[string]string{"LIVEHOUSE_ROLES": "API"}, `roles: "API"`},
		{map[string]string{"LIVEHOUSE_PLAYBACK_TOKEN_SECONDS": "1"}, "playback_token_seconds"},
		{map[string]string{"LIVEHOUSE_VIEWERS_PER_ADDRESS": "0"}, "viewers_per_address"},
		{map[string]string{"LIVEHOUSE_RECORDING_RETENTION_DAYS": "-1"}, "recording_retention_days"},
		{map[string]string{"LIVEHOUSE_STORAGE_BUCKET": "b"}, "storage.endpoint"},
		{map[string]string{"LIVEHOUSE_STORAGE_ENDPOINT": "http://127.0.0.1:9000"}, "storage.bucket"},
		{map[string]string{"LIVEHOUSE_STORAGE_ENDPOINT": "s3.amazonaws.com", "LIVEHOUSE_STORAGE_BUCKET": "b"}, "storage.endpoint"},
		{map[string]string{"LIVEHOUSE_RECORDING": "sometimes"}, "LIVEHOUSE_RECORDING"},
		{map[string]string{"LIVEHOUSE_RECORDING_QUOTA_MIB": "-1"}, "recording_quota_mib"},
		{map[string]string{"LIVEHOUSE_THUMBNAIL_SECONDS": "2"}, "thumbnail_seconds"},
		{map[string]string{"LIVEHOUSE_NATS_SUBJECT_PREFIX": "prod.eu"}, "nats_subject_prefix"},
		{map[string]string{"LIVEHOUSE_THUMBNAIL_SECONDS": "-1"}, "thumbnail_seconds"},
	}
	for _, tt := range tests {
		_, _, err := Load("t", nil, env(tt.vars), io.Discard)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want ErrInvalid naming %s", tt.vars, err, tt.want)
		}
	}
}

func TestRoles(t *testing.T) {
	for _, tt := range []struct {
		roles string
		has   []string // of api, chat, media, edge
	}{
		{"", []string{RoleAPI, RoleChat, RoleMedia, RoleEdge}},
		{"all", []string{RoleAPI, RoleChat, RoleMedia, RoleEdge}},
		{"api", []string{RoleAPI}},
		{"chat", []string{RoleChat}},
		{"api,chat", []string{RoleAPI, RoleChat}},
		{"media,edge", []string{RoleMedia, RoleEdge}},
	} {
		vars := map[string]string{}
		if tt.roles != "" {
			vars["LIVEHOUSE_ROLES"] = tt.roles
		}
		c, _, err := Load("t", nil, env(vars), io.Discard)
		if err != nil {
			t.Fatalf("roles %q: %v", tt.roles, err)
		}
		var got []string
		for _, r := range []string{RoleAPI, RoleChat, RoleMedia, RoleEdge} {
			if c.Has(r) {
				got = append(got, r)
			}
		}
		if !slices.Equal(got, tt.has) {
			t.Errorf("roles %q: has %v, want %v", tt.roles, got, tt.has)
		}
	}
}

// TestAmazonProductFromEnvironment: the PA-API settings, keys included, can come from the
// environment alone, so that no secret needs to sit in a file.
func TestAmazonProductFromEnvironment(t *testing.T) {
	cfg, _, err := Load("t", nil, env(map[string]string{
		"LIVEHOUSE_AMAZON_PRODUCT_ENABLED":          "true",
		"LIVEHOUSE_AMAZON_PRODUCT_LOCALE":           "United Kingdom",
		"LIVEHOUSE_AMAZON_PRODUCT_LINK_REGION_CODE": "21",
		"LIVEHOUSE_AMAZON_PRODUCT_ACCESS_KEY":       "AKEXAMPLE",
		"LIVEHOUSE_AMAZON_PRODUCT_SECRET_KEY":       "secret/example",
		"LIVEHOUSE_AMAZON_PRODUCT_PARTNER_TAG":      "store-21",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := AmazonProduct{Enabled: true, Locale: "United Kingdom", LinkRegionCode: "21", AccessKey: "AKEXAMPLE", SecretKey: "secret/example", PartnerTag: "store-21"}
	if diff := cmp.Diff(want, cfg.AmazonProduct); diff != "" {
		t.Errorf("amazon_product (-want +got):\n%s", diff)
	}
	var b strings.Builder
	cfg.Print(&b)
	if strings.Contains(b.String(), "AKEXAMPLE") || strings.Contains(b.String(), "secret/example") {
		t.Errorf("Print shows PA-API keys:\n%s", b.String())
	}
}

func TestMemoryLimitBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"", 0},
		{"0", 0},
		{"2GiB", 2 << 30},
		{"1.5 GiB", 3 << 29},
		{"1500MB", 1_500_000_000},
		{"512MiB", 512 << 20},
		{"268435456", 256 << 20},
		{"1TB", 1e12},
	}
	for _, tt := range tests {
		c := Config{MemoryLimit: tt.in}
		got, err := c.MemoryLimitBytes()
		if err != nil || got != tt.want {
			t.Errorf("MemoryLimitBytes(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestNodeBaseURL(t *testing.T) {
	tests := []struct{ nodeURL, httpAddr, want string }{
		{"", ":8080", "http://127.0.0.1:8080"},
		{"", "0.0.0.0:9000", "http://127.0.0.1:9000"},
		{"", "10.0.0.5:8080", "http://10.0.0.5:8080"},
		{"", "[::1]:8080", "http://[::1]:8080"},
		{"https://node-a.internal:8443/", ":8080", "https://node-a.internal:8443"},
	}
	for _, tt := range tests {
		c := Config{NodeURL: tt.nodeURL, HTTPAddr: tt.httpAddr}
		if got := c.NodeBaseURL(); got != tt.want {
			t.Errorf("NodeBaseURL(node_url %q, http_addr %q) = %q, want %q", tt.nodeURL, tt.httpAddr, got, tt.want)
		}
	}
}

func TestPrintMasksSecrets(t *testing.T) {
	cfg := Defaults("dev")
	cfg.SMTP.Password = "hunter2"
	cfg.AmazonProduct.SecretKey = "aws-secret"
	var b strings.Builder
	cfg.Print(&b)
	if strings.Contains(b.String(), "hunter2") || strings.Contains(b.String(), "aws-secret") {
		t.Errorf("Print shows secrets:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "smtp.password") {
		t.Errorf("Print lacks smtp.password:\n%s", b.String())
	}
}

// FuzzLoadFile feeds arbitrary YAML through the loader: it must answer with a config or an
// ErrInvalid, never panic, and whatever it accepts must validate.
func FuzzLoadFile(f *testing.F) {
	for _, seed := range []string{
		"", "stage: prod\n", "http_addr: 127.0.0.1:1\nsmtp:\n  host: h\n  from: a@b.c\n", "allowed_origins: ['*']\n",
		"sign_up_allowed_domains: [a.com, b.org]\n", "log_retention_days: 3\n", "{", "stage: [1, 2]\n", "no_such: 1\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, yaml string) {
		file := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, _, err := Load("t", []string{"--config", file}, env(nil), io.Discard)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error is not ErrInvalid: %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted config does not validate: %v", err)
		}
	})
}

func TestIngestListenersOff(t *testing.T) {
	env := map[string]string{"LIVEHOUSE_RTMPS_ADDR": "off", "LIVEHOUSE_SRT_ADDR": "off"}
	cfg, _, err := Load("livehouse", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RTMPSAddr != "" || cfg.SRTAddr != "" {
		t.Errorf("rtmps_addr %q, srt_addr %q; want both off (empty)", cfg.RTMPSAddr, cfg.SRTAddr)
	}
	def := Defaults("dev")
	if def.RTMPSAddr != ":1936" || def.SRTAddr != ":9000" || def.SRTLatencyMS != 120 || def.ReconnectGraceSeconds != 5 {
		t.Errorf("defaults: rtmps %q, srt %q, latency %d, grace %d", def.RTMPSAddr, def.SRTAddr, def.SRTLatencyMS, def.ReconnectGraceSeconds)
	}
}
