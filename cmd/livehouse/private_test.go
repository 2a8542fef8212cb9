package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestPrivateChannelOnTwoNodes: a private channel published to node A. Neither node gives a
// stranger a playback token or its live state, and both refuse its playlists and parts without
// a token (or with a forged one); the owner's token, minted by node B, opens them on node B
// (relayed) and on node A (the origin): the signing key comes from the shared secret_key, not
// from the process.
func TestPrivateChannelOnTwoNodes(t *testing.T) {
	t.Parallel()
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

// TestPrivateSwitchClosesChatOnTwoNodes: the owner makes the channel private through node A;
// the chat connections on node B of an anonymous reader and of a signed-in stranger close
// (the switch reaches B over NATS), while an allowed fan's, also on B, still gets the owner's
// next message, sent through node A.
func TestPrivateSwitchClosesChatOnTwoNodes(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	a, stopA := startServer(t, c.vars(t, "node-a"))
	defer stopA()
	b, stopB := startServer(t, c.vars(t, "node-b"))
	defer stopB()

	suffix := c.schema[len(c.schema)-6:]
	owner, fan, stranger := "xhost_"+suffix, "xfan_"+suffix, "xstr_"+suffix
	tokens := map[string]string{}
	for _, name := range []string{owner, fan, stranger} {
		if status, _ := post(t, a+"/api/auth/register", "", map[string]string{"username": name, "email": name + "@example.com", "password": "Passw0rd!"}); status != 201 {
			t.Fatalf("register %s: %d", name, status)
		}
		_, l := post(t, b+"/api/auth/login", "", map[string]string{"username": name, "password": "Passw0rd!"})
		tokens[name] = l["token"].(string)
	}
	if status, _ := send(t, "PUT", a+"/api/channels/"+owner+"/allowlist/"+fan, tokens[owner], nil); status != 204 {
		t.Fatalf("allowing the fan: %d", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dial := func(node, token string) *websocket.Conn {
		t.Helper()
		status, tok := post(t, node+"/api/chat/token", token, map[string]string{"channel": owner})
		if status != 200 {
			t.Fatalf("chat token: %d %v", status, tok)
		}
		ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(node, "http")+"/api/chat", &websocket.DialOptions{Subprotocols: []string{tok["token"].(string)}})
		if err != nil {
			t.Fatal(err)
		}
		return ws
	}
	anonWS, strangerWS, fanWS := dial(b, ""), dial(b, tokens[stranger]), dial(b, tokens[fan])
	defer anonWS.CloseNow()
	defer strangerWS.CloseNow()
	defer fanWS.CloseNow()
	ownerWS := dial(a, tokens[owner])
	defer ownerWS.CloseNow()

	if status, got := send(t, "PUT", a+"/api/channels/"+owner+"/privacy", tokens[owner], map[string]bool{"private": true}); status != 200 || got["private"] != true {
		t.Fatalf("PUT privacy on node A: %d %v", status, got)
	}
	for name, ws := range map[string]*websocket.Conn{"anonymous": anonWS, "stranger": strangerWS} {
		for {
			_, _, err := ws.Read(ctx)
			if err == nil {
				continue
			}
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Reason != "channel is private" {
				t.Errorf("%s's chat on node B ended with %v, want a close for \"channel is private\"", name, err)
			}
			break
		}
	}
	if err := ownerWS.Write(ctx, websocket.MessageText, []byte(`{"Action":"SEND_MESSAGE","RequestId":"r1","Content":"members only"}`)); err != nil {
		t.Fatal(err)
	}
	for {
		_, data, err := fanWS.Read(ctx)
		if err != nil {
			t.Fatalf("the allowed fan's chat on node B: %v", err)
		}
		var f map[string]any
		if json.Unmarshal(data, &f) == nil && f["Type"] == "MESSAGE" {
			if f["Content"] != "members only" {
				t.Errorf("the fan got %v", f)
			}
			break
		}
	}
}
