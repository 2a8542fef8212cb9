package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSuspendLiveStreamer: an operator suspends a streamer while live. The stream ends with
// its events and an ended playlist, the channel disappears from public view, the key and the
// account's sign-in are refused; lifting the suspension restores them.
func TestSuspendLiveStreamer(t *testing.T) {
	t.Parallel()
	// The command reaches the server through the store, at its next lease renewal.
	e := newKeyAccess(t, map[string]string{"LIVEHOUSE_NODE_LEASE_SECONDS": "1"})
	isLive := func() bool {
		var page map[string]any
		getJSON(t, e.base+"/api/channels/streamer", &page)
		return page["isLive"] == true
	}

	exited := e.goLive()
	waitFor(t, 30*time.Second, "the channel to be live", isLive)
	waitFor(t, 20*time.Second, "a playable playlist", func() bool {
		status, body := get(t, e.base+"/hls/"+e.channelID+"/video1_stream.m3u8")
		return status == 200 && strings.Contains(body, "#EXTINF")
	})

	if out, err := e.operator("suspend", "streamer", "--reason", "terms of service"); err != nil || !strings.Contains(out, "suspended streamer") {
		t.Fatalf("user suspend: %v\n%s", err, out)
	}
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the suspended streamer's encoder was not disconnected")
	}
	events := sessionEvents(t, filepath.Join(e.dir, "livehouse.db"), e.channelID)
	if diff := cmp.Diff([][]string{{"Session Created", "Stream Start", "Stream End", "Session Ended"}}, events); diff != "" {
		t.Errorf("session events (-want +got):\n%s", diff)
	}
	status, final := get(t, e.base+"/hls/"+e.channelID+"/video1_stream.m3u8")
	if status != 200 || !strings.HasSuffix(final, "#EXT-X-ENDLIST\n") {
		t.Errorf("media playlist after the suspension: %d\n%s", status, final)
	}

	// Out of public view.
	var unavailable struct {
		Error struct{ Code, Message string }
	}
	if status := getJSON(t, e.base+"/api/channels/streamer", &unavailable); status != 404 || unavailable.Error.Code != "ChannelUnavailable" {
		t.Errorf("channel page: %d %+v, want 404 ChannelUnavailable", status, unavailable)
	}
	if live := e.liveChannels(); len(live) != 0 {
		t.Errorf("directory lists %v", live)
	}
	// The key and the account are refused.
	if refused, out := e.refusedOverRTMP(); !refused {
		t.Errorf("the suspended account's key was accepted: %s", out)
	}
	if status, _ := e.whipWithKey(); status != 403 {
		t.Errorf("WHIP with the suspended account's key: %d, want 403", status)
	}
	if status, _ := send(t, "GET", e.base+"/api/me", e.token, nil); status != 401 {
		t.Errorf("the suspended account's session: %d, want 401", status)
	}
	status, body := post(t, e.base+"/api/auth/login", "", map[string]string{"username": "streamer", "password": "Passw0rd!"})
	if err, _ := body["error"].(map[string]any); status != 403 || err["message"] != "This account is suspended." {
		t.Errorf("login while suspended: %d %v", status, body)
	}
	if out, _ := e.operator("list"); !strings.Contains(out, "(terms of service)") {
		t.Errorf("user list does not show the suspension:\n%s", out)
	}

	// Lifting the suspension restores sign-in, the channel and ingest.
	if out, err := e.operator("unsuspend", "streamer"); err != nil || !strings.Contains(out, "unsuspended streamer") {
		t.Fatalf("user unsuspend: %v\n%s", err, out)
	}
	if status, _ := post(t, e.base+"/api/auth/login", "", map[string]string{"username": "streamer", "password": "Passw0rd!"}); status != 200 {
		t.Errorf("login after unsuspend: %d", status)
	}
	e.goLive()
	waitFor(t, 30*time.Second, "the channel to be live after unsuspend", isLive)
}
