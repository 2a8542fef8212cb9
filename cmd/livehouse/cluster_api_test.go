package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestWholeAPIFromAnyNode: ffmpeg publishes to node A; the streamer's stream action sent
// through node B appears in-band in node A's parts; viewing beacons sent to either node count
// on both; a viewer banned through B loses playback on A within one token lifetime.
func TestWholeAPIFromAnyNode(t *testing.T) {
	t.Parallel()
	needTool(t, "ffmpeg")
	c := newCluster(t)
	varsA, varsB := c.vars(t, "node-a"), c.vars(t, "node-b")
	for _, v := range []map[string]string{varsA, varsB} {
		v["LIVEHOUSE_PLAYBACK_TOKEN_SECONDS"] = "5" // so that a ban takes effect within the test
	}
	a, stopA := startServer(t, varsA)
	defer stopA()
	b, stopB := startServer(t, varsB)
	defer stopB()
	owner, key, channelID, _ := signUpStreamer(t, b)
	fan := "fan_" + c.schema[len(c.schema)-6:]
	post(t, a+"/api/auth/register", "", map[string]string{"username": fan, "email": fan + "@example.com", "password": "Passw0rd!"})
	_, login := post(t, a+"/api/auth/login", "", map[string]string{"username": fan, "password": "Passw0rd!"})
	fanSession := login["token"].(string)

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	pub := publish(ctx, "rtmp://"+varsA["LIVEHOUSE_RTMP_ADDR"]+"/live/"+key)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Process.Kill() }()
	hlsBase := a + "/hls/" + channelID + "/"
	var playlist string
	waitFor(t, 40*time.Second, "two segments on node A", func() bool {
		status, body := get(t, hlsBase+"video1_stream.m3u8")
		playlist = body
		return status == 200 && strings.Count(body, "#EXTINF") >= 2
	})

	// A stream action through node B lands in node A's output.
	listed := partsAfter(playlist, "")
	last := listed[len(listed)-1]
	notice := map[string]any{"name": "notice", "data": map[string]any{"title": "Hello", "message": "from node B", "duration": 5}}
	status, started := post(t, b+"/api/me/stream-actions", owner, notice)
	if status != 201 {
		t.Fatalf("stream action through node B: %d %v", status, started)
	}
	id := started["id"].(string)
	found := false
	waitFor(t, 30*time.Second, "the action in node A's parts", func() bool {
		_, playlist = get(t, hlsBase+"video1_stream.m3u8")
		for _, name := range partsAfter(playlist, last) {
			for _, cue := range fetchMedia(t, hlsBase, name).cues {
				found = found || (cue.env.ID == id && strings.Contains(string(cue.env.Event), "from node B"))
			}
			last = name
		}
		return found
	})
	var active struct{ Active *struct{ ID string } }
	if status := getAuthJSON(t, b+"/api/me/stream-actions", owner, &active); status != 200 || active.Active == nil || active.Active.ID != id {
		t.Errorf("the active action through node B: %d %+v", status, active.Active)
	}
	if status, _ := send(t, "DELETE", b+"/api/me/stream-actions", owner, nil); status != 204 {
		t.Errorf("stopping the action through node B: %d", status)
	}

	// Viewers: an anonymous one beaconing to A, one to B, and the signed-in fan to B: both
	// nodes count all three.
	token := func(base, session string) string {
		t.Helper()
		var page map[string]any
		getAuthJSON(t, base+"/api/channels/streamer", session, &page)
		tok, _ := page["playbackToken"].(string)
		if tok == "" {
			t.Fatalf("no playback token from %s: %v", base, page)
		}
		return tok
	}
	beacon := func(base, tok string) (int, string) {
		t.Helper()
		status, ticket := post(t, base+"/api/channels/streamer/views", "", map[string]string{"token": tok})
		renewed, _ := ticket["token"].(string)
		return status, renewed
	}
	anonA, anonB, fanTok := token(a, ""), token(b, ""), token(a, fanSession)
	for _, v := range []struct{ base, tok string }{{a, anonA}, {b, anonB}, {b, fanTok}} {
		if status, _ := beacon(v.base, v.tok); status != 200 {
			t.Fatalf("beacon to %s: %d", v.base, status)
		}
	}
	count := func(base string) float64 {
		var page map[string]any
		getJSON(t, base+"/api/channels/streamer", &page)
		n, _ := page["viewerCount"].(float64)
		return n
	}
	waitFor(t, 30*time.Second, "both nodes to count the three viewers", func() bool {
		return count(a) == 3 && count(b) == 3
	})
	var dir struct{ Channels []struct{ ViewerCount int } }
	if getJSON(t, a+"/api/channels?live=true", &dir); len(dir.Channels) != 1 || dir.Channels[0].ViewerCount != 3 {
		t.Errorf("directory on node A: %+v", dir)
	}

	// The fan's token plays on node A; banned through node B, the fan gets no token, the
	// beacon refuses to renew it, and it stops working on A within its lifetime.
	media := func(tok string) int {
		status, _ := get(t, hlsBase+"video1_stream.m3u8?token="+url.QueryEscape(tok))
		return status
	}
	// The fan's player renews its token as it goes (the one from the page may have lapsed
	// while the counts settled).
	status, fanTok = beacon(b, fanTok)
	if status != 200 || media(fanTok) != 200 {
		t.Fatalf("the fan's renewed token on node A: beacon %d, playlist %d", status, media(fanTok))
	}
	if status, _ := putReq(t, b+"/api/channels/streamer/bans/"+fan, owner); status != 204 {
		t.Fatalf("ban through node B: %d", status)
	}
	var page map[string]any
	getAuthJSON(t, a+"/api/channels/streamer", fanSession, &page)
	if page["isBanned"] != true || page["playbackToken"] != nil || page["playbackUrl"] != nil {
		t.Errorf("the banned fan's channel page on node A: %v", page)
	}
	if status, _ := beacon(a, fanTok); status != 403 {
		t.Errorf("renewing the banned fan's token on node A: %d, want 403", status)
	}
	// The ban drops the fan from the counts of every node at once.
	waitFor(t, 30*time.Second, "both nodes to stop counting the banned fan", func() bool {
		return count(a) == 2 && count(b) == 2
	})
	// Meanwhile an anonymous viewer keeps renewing and keeps playing.
	_, anonA = beacon(a, anonA)
	waitFor(t, 30*time.Second, "the banned fan's token to stop working on node A", func() bool {
		if s := media(fanTok); s != 200 && s != 403 {
			t.Fatalf("the fan's playlist: %d", s)
		}
		var renewed string
		_, renewed = beacon(a, anonA)
		if renewed != "" {
			anonA = renewed
		}
		return media(fanTok) == 403
	})
	if status := media(anonA); status != 200 {
		t.Errorf("an anonymous viewer with a renewed token on node A: %d", status)
	}

	// A viewer who leaves stops counting at once, on both nodes within a publication.
	if status, _ := send(t, "DELETE", b+"/api/channels/streamer/views", "", map[string]string{"token": anonB}); status != 204 {
		t.Errorf("leaving through node B: %d", status)
	}
	waitFor(t, 30*time.Second, "both nodes to count the one remaining viewer", func() bool {
		return count(a) == 1 && count(b) == 1
	})

	// Stream health through node B: the session A runs, live, with A's measurements.
	var sessions struct {
		Sessions []struct {
			ID     string `json:"id"`
			IsLive bool   `json:"isLive"`
		} `json:"sessions"`
	}
	if status := getAuthJSON(t, b+"/api/me/sessions", owner, &sessions); status != 200 || len(sessions.Sessions) != 1 || !sessions.Sessions[0].IsLive {
		t.Fatalf("sessions through node B: %d %+v", status, sessions)
	}
	waitFor(t, 30*time.Second, "stream health measured on A (bitrate, concurrent views), read through B", func() bool {
		var detail struct {
			Metrics struct {
				ConcurrentViews []*float64
				Averages        struct{ VideoBitrate float64 }
			}
		}
		getAuthJSON(t, b+"/api/me/sessions/"+sessions.Sessions[0].ID, owner, &detail)
		viewed := false
		for _, v := range detail.Metrics.ConcurrentViews {
			viewed = viewed || (v != nil && *v >= 1)
		}
		return viewed && detail.Metrics.Averages.VideoBitrate > 0
	})

	// A stream key reset through node B ends the stream on node A.
	exited := make(chan struct{})
	go func() { _ = pub.Wait(); close(exited) }()
	if status, _ := post(t, b+"/api/me/stream-key/reset", owner, nil); status != 200 {
		t.Fatalf("key reset through node B: %d", status)
	}
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the key reset through node B did not disconnect the encoder on node A")
	}
	waitFor(t, 20*time.Second, "the channel offline on both nodes", func() bool {
		var pa, pb map[string]any
		getJSON(t, a+"/api/channels/streamer", &pa)
		getJSON(t, b+"/api/channels/streamer", &pb)
		return pa["isLive"] == false && pb["isLive"] == false
	})
}

// getAuthJSON is getJSON with an optional session token.
func getAuthJSON(t *testing.T, u, session string, v any) int {
	t.Helper()
	if session == "" {
		return getJSON(t, u, v)
	}
	status, m := send(t, "GET", u, session, nil)
	raw, _ := json.Marshal(m)
	_ = json.Unmarshal(raw, v)
	return status
}

// TestNodesStartTogether starts two nodes at the same moment on a fresh database, several
// times: both come up (migrations run under an advisory lock).
func TestNodesStartTogether(t *testing.T) {
	t.Parallel()
	for round := range 3 {
		c := newCluster(t)
		type node struct {
			base string
			stop context.CancelFunc
			done chan error
		}
		var nodes []node
		start := make(chan struct{})
		for i := range 2 {
			vars := c.vars(t, "node-"+string(rune('a'+i)))
			vars["LIVEHOUSE_HTTP_ADDR"] = freePort(t)
			vars["LIVEHOUSE_WEBRTC_ADDR"] = "127.0.0.1:0"
			vars["LIVEHOUSE_RTMPS_ADDR"] = "127.0.0.1:0"
			vars["LIVEHOUSE_SRT_ADDR"] = "127.0.0.1:0"
			vars["LIVEHOUSE_RECONNECT_GRACE_SECONDS"] = "0"
			ctx, cancel := context.WithCancel(context.Background())
			n := node{base: "http://" + vars["LIVEHOUSE_HTTP_ADDR"], stop: cancel, done: make(chan error, 1)}
			var out, logs syncBuffer
			go func() {
				<-start
				n.done <- run(ctx, []string{"livehouse", "serve"}, envFunc(vars), strings.NewReader(""), &out, &logs)
			}()
			nodes = append(nodes, n)
		}
		close(start)
		for i, n := range nodes {
			waitFor(t, 60*time.Second, "both nodes healthy", func() bool {
				select {
				case err := <-n.done:
					t.Fatalf("round %d: node %d exited: %v", round, i, err)
				default:
				}
				status, _ := getStatus(n.base + "/healthz")
				return status == 200
			})
		}
		for _, n := range nodes {
			n.stop()
			if err := <-n.done; err != nil {
				t.Errorf("round %d: stopping a node: %v", round, err)
			}
		}
	}
}

// getStatus is a GET that reports a connection failure as status 0.
func getStatus(u string) (int, error) {
	res, err := http.Get(u)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}
