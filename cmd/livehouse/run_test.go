package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// freePort returns a loopback address nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func envFunc(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// syncBuffer is a bytes.Buffer safe to read while run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startServer runs `livehouse serve` in the background and waits for /healthz. A port that
// freePort found free may be taken by another process before the server binds it (tests of
// other packages run side by side): a server that exits for an address in use is started again
// on fresh ports, the caller's vars updated.
func startServer(t *testing.T, vars map[string]string) (base string, stop func() error) {
	t.Helper()
	vars["LIVEHOUSE_HTTP_ADDR"] = freePort(t)
	if _, set := vars["LIVEHOUSE_SECRET_KEY"]; !set {
		vars["LIVEHOUSE_SECRET_KEY"] = testSecret // the tests mint playback tokens with it
	}
	// Tests run side by side: never the fixed ports (:8189, :1936, :9000).
	for _, k := range []string{"LIVEHOUSE_WEBRTC_ADDR", "LIVEHOUSE_RTMPS_ADDR", "LIVEHOUSE_SRT_ADDR"} {
		if vars[k] == "" {
			vars[k] = "127.0.0.1:0"
		}
	}
	if vars["LIVEHOUSE_RECONNECT_GRACE_SECONDS"] == "" {
		// A stopped publisher ends its session at once, as the tests that publish again
		// expect; TestReconnectKeepsTheSession sets a grace period.
		vars["LIVEHOUSE_RECONNECT_GRACE_SECONDS"] = "0"
	}
	for attempt := 1; ; attempt++ {
		base, stop, err := tryStartServer(t, vars)
		if err == nil {
			return base, stop
		}
		if attempt == 5 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
		for k, v := range vars {
			if strings.HasSuffix(k, "_ADDR") && strings.HasPrefix(v, "127.0.0.1:") && v != "127.0.0.1:0" && strings.Contains(err.Error(), v) {
				vars[k] = freePort(t)
			}
		}
	}
}

// tryStartServer is one try of startServer; an error wraps the server's own when it exited.
func tryStartServer(t *testing.T, vars map[string]string) (base string, stop func() error, err error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out, logs syncBuffer
	go func() {
		done <- run(ctx, []string{"livehouse", "serve"}, envFunc(vars), strings.NewReader(""), &out, &logs)
	}()
	base = "http://" + vars["LIVEHOUSE_HTTP_ADDR"]
	// The bound only ends a test that has failed; a loaded machine may take a while to start.
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-done:
			cancel()
			return "", nil, fmt.Errorf("server exited early: %w\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			return "", nil, fmt.Errorf("server not healthy in time:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
	return base, func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			return errors.New("server did not stop within 20s")
		}
	}, nil
}

func post(t *testing.T, url, token string, body any) (int, map[string]any) {
	t.Helper()
	return send(t, "POST", url, token, body)
}

func putReq(t *testing.T, url, token string) (int, map[string]any) {
	t.Helper()
	return send(t, "PUT", url, token, nil)
}

func send(t *testing.T, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, url, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// TestServeKeepsDataAcrossRestarts starts the real program, signs up through the API, stops
// it gracefully, starts it again on the same data dir and finds the account and its stream
// key as they were.
func TestServeKeepsDataAcrossRestarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "warn", "LIVEHOUSE_SECRET_KEY": ""} // generated
	base, stop := startServer(t, vars)
	if status, _ := post(t, base+"/api/auth/register", "", map[string]string{"username": "alice", "email": "alice@example.com", "password": "Passw0rd!"}); status != 201 {
		t.Fatalf("register = %d", status)
	}
	status, login := post(t, base+"/api/auth/login", "", map[string]string{"username": "alice", "password": "Passw0rd!"})
	if status != 200 {
		t.Fatalf("login = %d", status)
	}
	key := login["user"].(map[string]any)["channel"].(map[string]any)["streamKey"]
	if err := stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	for _, f := range []string{"livehouse.db", "secret.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("data dir lacks %s: %v", f, err)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "livehouse.db"))
	if bytes.Contains(raw, []byte(key.(string))) {
		t.Errorf("the database file holds the stream key in the clear")
	}

	base, stop = startServer(t, vars)
	defer stop()
	status, login = post(t, base+"/api/auth/login", "", map[string]string{"username": "ALICE", "password": "Passw0rd!"})
	if status != 200 {
		t.Fatalf("login after restart = %d", status)
	}
	if got := login["user"].(map[string]any)["channel"].(map[string]any)["streamKey"]; got != key {
		t.Errorf("stream key after restart = %v, want %v", got, key)
	}
}

func TestServeWithOutboxMail(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base, stop := startServer(t, map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_AUTO_VERIFY": "false", "LIVEHOUSE_PUBLIC_URL": "http://example.test:8080", "LIVEHOUSE_LOG_LEVEL": "warn"})
	defer stop()
	if status, _ := post(t, base+"/api/auth/register", "", map[string]string{"username": "bobby", "email": "bob@example.com", "password": "Passw0rd!"}); status != 201 {
		t.Fatalf("register = %d", status)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
	if len(files) != 1 {
		t.Fatalf("outbox has %d files, want 1", len(files))
	}
	raw, _ := os.ReadFile(files[0])
	if !strings.Contains(string(raw), "http://example.test:8080/login?code=") {
		t.Errorf("outbox mail lacks the verification link:\n%s", raw)
	}
}

func TestCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_LOG_LEVEL": "error"}
	tests := []struct {
		name     string
		args     []string
		vars     map[string]string
		stdin    string
		wantOut  []string
		wantCode int // exit code; 0 = success
	}{
		{"version", []string{"version"}, nil, "", []string{"livehouse "}, 0},
		{"unknown command", []string{"frobnicate"}, nil, "", nil, 2},
		{"config masks secrets", []string{"config"}, map[string]string{"LIVEHOUSE_SMTP_PASSWORD": "hunter2", "LIVEHOUSE_DATABASE_URL": "postgres://u:pw@db/x"},
			"", []string{"smtp.password", "********", "database_url", "stage                      = dev"}, 0},
		{"config prod defaults", []string{"config", "--stage", "prod"}, nil, "", []string{"auto_verify                = false", "channel_type               = STANDARD"}, 0},
		{"flag beats env", []string{"config", "--channel-type", "STANDARD"}, map[string]string{"LIVEHOUSE_CHANNEL_TYPE": "BASIC"}, "", []string{"channel_type               = STANDARD"}, 0},
		{"bad value exits 2", []string{"config"}, map[string]string{"LIVEHOUSE_CHANNEL_TYPE": "PREMIUM"}, "", nil, 2},
		{"bad flag exits 2", []string{"serve", "--no-such-flag"}, nil, "", nil, 2},
		{"migrate", []string{"migrate"}, nil, "", []string{"sqlite database is up to date"}, 0},
		{"user create", []string{"user", "create", "carol", "carol@example.com"}, nil, "Passw0rd!\n", []string{"created carol"}, 0},
		{"user create weak password", []string{"user", "create", "dave", "dave@example.com"}, nil, "weak\n", nil, 1},
		{"user list", []string{"user", "list"}, nil, "", []string{"carol", "carol@example.com", "true"}, 0},
		{"user verify", []string{"user", "verify", "CAROL"}, nil, "", []string{"verified carol"}, 0},
		{"user suspend", []string{"user", "suspend", "--reason", "spam and scams", "carol"}, nil, "", []string{"suspended carol"}, 0},
		{"user list shows the suspension", []string{"user", "list"}, nil, "", []string{"SUSPENDED", "(spam and scams)"}, 0},
		{"user suspend twice", []string{"user", "suspend", "carol"}, nil, "", nil, 1},
		{"user unsuspend", []string{"user", "unsuspend", "carol"}, nil, "", []string{"unsuspended carol"}, 0},
		{"user unsuspend twice", []string{"user", "unsuspend", "carol"}, nil, "", nil, 1},
		{"user suspend reason after the name", []string{"user", "suspend", "carol", "--reason", "x"}, nil, "", []string{"suspended carol"}, 0},
		{"user unsuspend again", []string{"user", "unsuspend", "carol"}, nil, "", []string{"unsuspended carol"}, 0},
		{"user suspend bad reason", []string{"user", "suspend", "carol", "--reason", "a\nb"}, nil, "", nil, 1},
		{"user suspend unknown", []string{"user", "suspend", "nobody"}, nil, "", nil, 1},
		{"user suspend no name", []string{"user", "suspend", "--reason", "x"}, nil, "", nil, 2},
		{"user suspend two names", []string{"user", "suspend", "carol", "dave"}, nil, "", nil, 2},
		{"user suspend unknown flag", []string{"user", "suspend", "carol", "--why", "x"}, nil, "", nil, 2},
		{"user list after a refused suspension", []string{"user", "list"}, nil, "", []string{"Z  -\n"}, 0}, // carol, the only account, not suspended
		{"user delete", []string{"user", "delete", "carol@example.com"}, nil, "", []string{"deleted carol"}, 0},
		{"user delete unknown", []string{"user", "delete", "carol"}, nil, "", nil, 1},
		{"user bad arity", []string{"user", "create", "x"}, nil, "", nil, 2},
		{"seed", []string{"seed", "demo", "3", "2"}, nil, "", []string{"created demo_1 … demo_3 (2 live)"}, 0},
		{"seed again refuses taken names", []string{"seed", "demo", "1", "0"}, nil, "", nil, 1},
		{"seed bad counts", []string{"seed", "demo", "2", "3"}, nil, "", nil, 2},
		{"channel set-type", []string{"channel", "set-type", "DEMO_1", "STANDARD"}, nil, "", []string{"demo_1 (ch_", "is STANDARD from its next go-live"}, 0},
		{"channel set-type unknown user", []string{"channel", "set-type", "nobody", "BASIC"}, nil, "", nil, 1},
		{"channel set-type bad type", []string{"channel", "set-type", "demo_1", "PREMIUM"}, nil, "", nil, 2},
		{"channel bad arity", []string{"channel", "set-type", "demo_1"}, nil, "", nil, 2},
		{"bad transcode encoder exits 2", []string{"config"}, map[string]string{"LIVEHOUSE_TRANSCODE_ENCODER": "vdpau"}, "", nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{}
			for k, v := range base {
				vars[k] = v
			}
			for k, v := range tt.vars {
				vars[k] = v
			}
			var out, errOut bytes.Buffer
			err := run(context.Background(), append([]string{"livehouse"}, tt.args...), envFunc(vars), strings.NewReader(tt.stdin), &out, &errOut)
			code := 0
			if err != nil {
				code = exitCode(err)
			}
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d (err %v)\n%s", code, tt.wantCode, err, errOut.String())
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, secret := range []string{"hunter2", "u:pw"} {
				if strings.Contains(out.String(), secret) {
					t.Errorf("output shows a secret %q", secret)
				}
			}
		})
	}
}

func TestConfigFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "livehouse.yaml")
	os.WriteFile(file, []byte("stage: prod\nhttp_addr: 127.0.0.1:9999\nsmtp:\n  host: mail.example.com\n  from: a@example.com\n"), 0o600)
	var out bytes.Buffer
	vars := map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_HTTP_ADDR": "127.0.0.1:7777"}
	if err := run(context.Background(), []string{"livehouse", "config", "--config", file}, envFunc(vars), nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"stage                      = prod", "http_addr                  = 127.0.0.1:7777", "smtp.host                  = mail.example.com", "auto_verify                = false"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("config output lacks %q:\n%s", w, out.String())
		}
	}
	os.WriteFile(file, []byte("no_such_key: 1\n"), 0o600)
	err := run(context.Background(), []string{"livehouse", "config", "--config", file}, envFunc(vars), nil, &out, &out)
	if exitCode(err) != 2 || !strings.Contains(fmt.Sprint(err), "no_such_key") {
		t.Errorf("unknown key in file: err %v (exit %d), want exit 2 naming the key", err, exitCode(err))
	}
}

// signUpStreamer registers and signs in the account "streamer" on a server started with
// auto-verify, and returns its session token, stream key, channel id and channel.
func signUpStreamer(t *testing.T, base string) (token, key, channelID string, channel map[string]any) {
	t.Helper()
	post(t, base+"/api/auth/register", "", map[string]string{"username": "streamer", "email": "s@example.com", "password": "Passw0rd!"})
	_, login := post(t, base+"/api/auth/login", "", map[string]string{"username": "streamer", "password": "Passw0rd!"})
	channel = login["user"].(map[string]any)["channel"].(map[string]any)
	return login["token"].(string), channel["streamKey"].(string), channel["id"].(string), channel
}
