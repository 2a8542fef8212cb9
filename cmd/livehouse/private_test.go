package main

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestPrivateChannelOnTwoNodes: a private channel published to node A. Neither node gives a
// stranger a playback token or its live state, and both refuse its playlists and parts without
// a token (or with a forged one); the owner's token, minted by node B, opens them on node B
// (relayed) and on node A (the origin): the signing key comes from the shared secret_key, not
// from the process.
func TestPrivateChannelOnTwoNodes(t *testing.T) {
	needTool(t, "ffmpeg")
	c := newCluster(t)
	varsA, varsB := c.vars(t, "node-a"), c.vars(t, "node-b")
	for _, v := range []map[string]string{varsA, varsB} {
		v["LIVEHOUSE_RECORDING"] = "false"
	}
	a, stopA := startServer(t, varsA)
	defer stopA()
	b, stopB := startServer(t, varsB)
	defer stopB()

	owner, key, channelID, _ := signUpStreamer(t, b)
	if status, got := send(t, "PUT", a+"/api/channels/streamer/privacy", owner, map[string]bool{"private": true}); status != 200 || got["private"] != true {
		t.Fatalf("PUT privacy on node A: %d %v", status, got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pub := publish(ctx, "rtmp://"+varsA["LIVEHOUSE_RTMP_ADDR"]+"/live/"+key)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); pub.Wait() }()

	var page map[string]any
	waitFor(t, 60*time.Second, "the channel live for its owner", func() bool {
		_, page = send(t, "GET", b+"/api/channels/streamer", owner, nil)
		return page["isLive"] == true && page["playbackUrl"] != nil
	})
	pu, err := url.Parse(page["playbackUrl"].(string))
	if err != nil {
		t.Fatal(err)
	}
	token := pu.Query().Get("token")
	hlsPath := "/hls/" + channelID + "/"

	for _, node := range []struct{ name, base string }{{"node A", a}, {"node B", b}} {
		_, stranger := send(t, "GET", node.base+"/api/channels/streamer", "", nil)
		if stranger["isPrivate"] != true || stranger["mayWatch"] != false || stranger["isLive"] != false || stranger["playbackUrl"] != nil || stranger["playbackToken"] != nil {
			t.Errorf("%s: the channel as a stranger sees it: %v", node.name, stranger)
		}
		var master, media string
		waitFor(t, 60*time.Second, "the multivariant playlist on "+node.name, func() bool {
			var status int
			status, master, _ = fetch(t, node.base+hlsPath+"index.m3u8", token)
			return status == 200
		})
		for _, l := range strings.Split(master, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				media = l
				break
			}
		}
		var pl string
		waitFor(t, 60*time.Second, "a media playlist with parts on "+node.name, func() bool {
			var status int
			status, pl, _ = fetch(t, node.base+hlsPath+media, token)
			return status == 200 && partRE.MatchString(pl)
		})
		parts := partRE.FindAllStringSubmatch(pl, -1)
		part := parts[len(parts)-1][1]
		for _, name := range []string{"index.m3u8", media, part} {
			if status, _, _ := fetch(t, node.base+hlsPath+name, token); status != 200 {
				t.Errorf("%s: %s with the owner's token: %d, want 200", node.name, name, status)
			}
			for what, tok := range map[string]string{"no token": "", "a forged token": "forged.token", "another channel's token": hlsToken("/hls/ch_other/")} {
				if status, _, h := fetch(t, node.base+hlsPath+name, tok); status != 403 || h.Get("Cache-Control") != "no-store" {
					t.Errorf("%s: %s with %s: %d (Cache-Control %q), want 403 no-store", node.name, name, what, status, h.Get("Cache-Control"))
				}
			}
		}
	}
}
