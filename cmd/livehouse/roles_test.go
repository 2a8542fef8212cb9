package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/config"
)

// TestRoles: a node serves only what its roles say, opens no listener it does not need, and
// answers the rest with 421 naming the role; an unknown role stops the program.
func TestRoles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := func(roles string) map[string]string {
		return map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "error",
			"LIVEHOUSE_RTMP_ADDR": freePort(t), "LIVEHOUSE_ROLES": roles}
	}
	refused := func(t *testing.T, method, url, role string) {
		t.Helper()
		status, body := send(t, method, url, "", map[string]string{"channel": "streamer"})
		e, _ := body["error"].(map[string]any)
		if status != 421 || e["code"] != "RoleNotServed" || !strings.Contains(e["message"].(string), role) {
			t.Errorf("%s %s: %d %v, want 421 RoleNotServed naming %s", method, url, status, body, role)
		}
	}
	noListener := func(t *testing.T, addr string) {
		t.Helper()
		if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
			c.Close()
			t.Errorf("something listens on the RTMP address %s of a node without the media role", addr)
		}
	}

	// An api node: the REST API and the web app, no ingest, no chat, no playback.
	v := vars("api")
	api, stop := startServer(t, v)
	signUpStreamer(t, api)
	noListener(t, v["LIVEHOUSE_RTMP_ADDR"])
	if status, _ := get(t, api+"/api/channels?live=true"); status != 200 {
		t.Errorf("directory on the api node: %d", status)
	}
	if status, _ := get(t, api+"/"); status != 200 {
		t.Errorf("web app on the api node: %d", status)
	}
	refused(t, "POST", api+"/api/chat/token", "chat")
	refused(t, "GET", api+"/api/chat", "chat")
	refused(t, "POST", api+"/api/whip", "media")
	refused(t, "GET", api+"/hls/ch_x/index.m3u8", "playback")
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// A chat node on the same data: chat only.
	v = vars("chat")
	chat, stop := startServer(t, v)
	defer stop()
	noListener(t, v["LIVEHOUSE_RTMP_ADDR"])
	if status, tok := post(t, chat+"/api/chat/token", "", map[string]string{"channel": "streamer"}); status != 200 || tok["token"] == nil {
		t.Errorf("chat token on the chat node: %d %v", status, tok)
	}
	refused(t, "GET", chat+"/api/channels/streamer", "the API")
	refused(t, "POST", chat+"/api/auth/login", "the API")
	refused(t, "GET", chat+"/", "the API")
	if status, _ := get(t, chat+"/healthz"); status != 200 {
		t.Errorf("healthz on the chat node: %d", status)
	}

	// An unknown role stops the program with a message naming the setting.
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"livehouse", "serve"}, envFunc(vars("api,cdn")), strings.NewReader(""), &out, &errOut)
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "roles") {
		t.Errorf("roles api,cdn: %v", err)
	}
}
