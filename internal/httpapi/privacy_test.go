package httpapi_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// channelView is what a caller's GET /api/channels/{username} says about watching.
type channelView struct {
	IsPrivate, MayWatch, IsLive bool
	PlaybackURL, PlaybackToken  string
}

func (e *env) channelView(t *testing.T, name, token string) channelView {
	t.Helper()
	m := e.want(e.call("GET", "/api/channels/"+name, token, nil), 200).json(t)
	str := func(k string) string { s, _ := m[k].(string); return s }
	return channelView{IsPrivate: m["isPrivate"] == true, MayWatch: m["mayWatch"] == true, IsLive: m["isLive"] == true,
		PlaybackURL: str("playbackUrl"), PlaybackToken: str("playbackToken")}
}

// listed reports whether a channel list (directory or following) names the user.
func (e *env) listed(t *testing.T, path, token, name string) bool {
	t.Helper()
	var names []string
	for _, c := range e.want(e.call("GET", path, token, nil), 200).json(t)["channels"].([]any) {
		names = append(names, c.(map[string]any)["username"].(string))
	}
	return slices.Contains(names, name)
}

// TestPrivateChannel: a private channel gives playback and chat to its owner and allowlist
// only; everyone else sees that it is private and nothing of its stream, and the directory and
// following lists leave it out for them.
func TestPrivateChannel(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	owner := e.signUp("owner")
	fan := e.signUp("fan1")
	e.goLive(owner)
	e.openSession(owner, "st-live", e.clock.Now())
	if err := e.store.StartStreamSession(context.Background(), "st-live", e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.want(e.call("PUT", "/api/me/following/owner", fan.token, nil), 204)
	// The fan watches while the channel is public.
	before := e.channelView(t, "owner", fan.token)
	if !before.MayWatch || before.PlaybackToken == "" || before.IsPrivate {
		t.Fatalf("public channel as a follower: %+v", before)
	}
	anonBefore := e.channelView(t, "owner", "")
	if !e.listed(t, "/api/channels?live=true", "", "owner") || !e.listed(t, "/api/me/following", fan.token, "owner") {
		t.Fatalf("the live public channel is not listed")
	}

	if got := e.want(e.call("PUT", "/api/channels/owner/privacy", owner.token, map[string]any{"private": true}), 200).json(t); got["private"] != true {
		t.Fatalf("PUT privacy = %v", got)
	}
	if got := e.want(e.call("GET", "/api/channels/owner/privacy", owner.token, nil), 200).json(t); got["private"] != true {
		t.Errorf("GET privacy = %v", got)
	}

	for _, who := range []struct{ name, token string }{{"anonymous", ""}, {"follower", fan.token}} {
		v := e.channelView(t, "owner", who.token)
		if want := (channelView{IsPrivate: true}); v != want {
			t.Errorf("private channel as %s = %+v, want %+v", who.name, v, want)
		}
		if code := e.want(e.call("POST", "/api/chat/token", who.token, map[string]string{"channel": "owner"}), 403).errorCode(t); code != "PrivateChannel" {
			t.Errorf("chat token as %s: %s, want PrivateChannel", who.name, code)
		}
		if code := e.want(e.call("GET", "/api/channels/owner/videos", who.token, nil), 403).errorCode(t); code != "PrivateChannel" {
			t.Errorf("videos as %s: %s, want PrivateChannel", who.name, code)
		}
	}
	if e.listed(t, "/api/channels?live=true", "", "owner") || e.listed(t, "/api/channels?live=true", fan.token, "owner") {
		t.Errorf("the directory lists a private channel")
	}
	if e.listed(t, "/api/me/following", fan.token, "owner") {
		t.Errorf("the following list shows a private channel to a follower not on its allowlist")
	}
	// Tokens minted while the channel was public are not renewed.
	for name, tok := range map[string]string{"follower": before.PlaybackToken, "anonymous": anonBefore.PlaybackToken} {
		if code := e.want(e.call("POST", "/api/channels/owner/views", "", map[string]string{"token": tok}), 403).errorCode(t); code != "PrivateChannel" {
			t.Errorf("renewing the %s's old token: %s, want PrivateChannel", name, code)
		}
	}
	// The owner always watches.
	if v := e.channelView(t, "owner", owner.token); !v.MayWatch || !v.IsLive || v.PlaybackToken == "" || !v.IsPrivate {
		t.Errorf("private channel as its owner = %+v", v)
	}
	e.want(e.call("POST", "/api/chat/token", owner.token, map[string]string{"channel": "owner"}), 200)

	// On the allowlist, the follower watches, chats and sees it in their list.
	e.want(e.call("PUT", "/api/channels/owner/allowlist/FAN1", owner.token, nil), 204)
	v := e.channelView(t, "owner", fan.token)
	if !v.MayWatch || !v.IsLive || v.PlaybackToken == "" {
		t.Fatalf("private channel as an allowed user = %+v", v)
	}
	e.want(e.call("POST", "/api/chat/token", fan.token, map[string]string{"channel": "owner"}), 200)
	e.want(e.call("POST", "/api/channels/owner/views", "", map[string]string{"token": v.PlaybackToken}), 200)
	e.want(e.call("GET", "/api/channels/owner/videos", fan.token, nil), 200)
	if !e.listed(t, "/api/me/following", fan.token, "owner") {
		t.Errorf("the following list leaves out a private channel the follower may watch")
	}
	list := e.want(e.call("GET", "/api/channels/owner/allowlist", owner.token, nil), 200).json(t)["users"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["username"] != "fan1" {
		t.Errorf("allowlist = %v", list)
	}
	// A ban still wins over the allowlist.
	e.want(e.call("PUT", "/api/channels/owner/bans/fan1", owner.token, nil), 204)
	if v := e.channelView(t, "owner", fan.token); v.MayWatch || v.PlaybackToken != "" {
		t.Errorf("a banned user on the allowlist = %+v", v)
	}
	e.want(e.call("DELETE", "/api/channels/owner/bans/fan1", owner.token, nil), 204)

	// Taken off the allowlist, the follower's renewal is refused and their chat closes.
	v = e.channelView(t, "owner", fan.token)
	tok, _ := e.chatToken(fan.token, "owner")
	fanChat, err := e.connect(tok)
	if err != nil {
		t.Fatal(err)
	}
	e.want(e.call("DELETE", "/api/channels/owner/allowlist/fan1", owner.token, nil), 204)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if _, _, err := fanChat.ws.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatalf("the chat of a user taken off the allowlist stayed open")
			}
			break
		}
	}
	if code := e.want(e.call("POST", "/api/chat/token", fan.token, map[string]string{"channel": "owner"}), 403).errorCode(t); code != "PrivateChannel" {
		t.Errorf("chat token after removal: %s", code)
	}
	if code := e.want(e.call("POST", "/api/channels/owner/views", "", map[string]string{"token": v.PlaybackToken}), 403).errorCode(t); code != "PrivateChannel" {
		t.Errorf("renewal after removal: %s, want PrivateChannel", code)
	}
	// Bad input changes nothing.
	e.want(e.call("PUT", "/api/channels/owner/allowlist/owner", owner.token, nil), 400)
	e.want(e.call("PUT", "/api/channels/owner/allowlist/nobody", owner.token, nil), 404)
	e.want(e.call("PUT", "/api/channels/owner/privacy", owner.token, map[string]any{}), 400)
	e.want(e.call("PUT", "/api/channels/owner/privacy", owner.token, `{"private":"yes"}`), 400)
	if got := e.want(e.call("GET", "/api/channels/owner/allowlist", owner.token, nil), 200).json(t)["users"].([]any); len(got) != 0 {
		t.Errorf("allowlist after bad input = %v", got)
	}

	// Public again: everyone watches.
	e.want(e.call("PUT", "/api/channels/owner/privacy", owner.token, map[string]any{"private": false}), 200)
	if v := e.channelView(t, "owner", ""); !v.MayWatch || v.PlaybackToken == "" || v.IsPrivate {
		t.Errorf("public again, anonymous = %+v", v)
	}
}

// TestInvites: an owner's invite link puts whoever opens it signed in on the allowlist, until
// it expires or is revoked; the code is shown once and not stored.
func TestInvites(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	owner := e.signUp("owner")
	guest := e.signUp("guest")
	late := e.signUp("latecomer")
	e.want(e.call("PUT", "/api/channels/owner/privacy", owner.token, map[string]any{"private": true}), 200)

	made := e.want(e.call("POST", "/api/channels/owner/invites", owner.token, map[string]any{}), 201).json(t)
	code, _ := made["code"].(string)
	if code == "" || made["url"] != "http://livehouse.test/owner/invite/"+code {
		t.Fatalf("new invite = %v", made)
	}
	if exp, _ := time.Parse(time.RFC3339, made["expiresAt"].(string)); !exp.Equal(e.clock.Now().Add(7 * 24 * time.Hour)) {
		t.Errorf("expiresAt = %v, want 7 days from now", made["expiresAt"])
	}
	list := e.want(e.call("GET", "/api/channels/owner/invites", owner.token, nil), 200).json(t)["invites"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["code"] != nil || list[0].(map[string]any)["url"] != nil {
		t.Errorf("invite list = %v (the code is shown only once)", list)
	}

	// Anonymous: sign in first. Signed in: joins, and may watch.
	e.want(e.call("POST", "/api/invites/accept", "", map[string]string{"code": code}), 401)
	got := e.want(e.call("POST", "/api/invites/accept", guest.token, map[string]string{"code": code}), 200).json(t)
	if got["username"] != "owner" {
		t.Errorf("accept = %v", got)
	}
	if v := e.channelView(t, "owner", guest.token); !v.MayWatch {
		t.Errorf("after accepting, the guest = %+v", v)
	}
	e.want(e.call("POST", "/api/invites/accept", guest.token, map[string]string{"code": code}), 200) // twice is fine
	e.want(e.call("POST", "/api/invites/accept", owner.token, map[string]string{"code": code}), 200) // the owner's own link
	if got := e.want(e.call("GET", "/api/channels/owner/invites", owner.token, nil), 200).json(t)["invites"].([]any); got[0].(map[string]any)["uses"] != 1.0 {
		t.Errorf("uses = %v, want 1", got[0])
	}
	for name, c := range map[string]string{"unknown": "nope", "empty": "", "long": string(make([]byte, 100))} {
		res := e.call("POST", "/api/invites/accept", late.token, map[string]string{"code": c})
		if res.status != 404 && res.status != 400 {
			t.Errorf("%s code: %d %s", name, res.status, res.body)
		}
	}

	// Expired: refused, and no longer listed.
	short := e.want(e.call("POST", "/api/channels/owner/invites", owner.token, map[string]any{"expiresInHours": 1}), 201).json(t)
	e.clock.Add(time.Hour)
	if code := e.want(e.call("POST", "/api/invites/accept", late.token, map[string]string{"code": short["code"].(string)}), 404).errorCode(t); code != "InviteNotFound" {
		t.Errorf("expired invite: %s", code)
	}
	if got := e.want(e.call("GET", "/api/channels/owner/invites", owner.token, nil), 200).json(t)["invites"].([]any); len(got) != 1 {
		t.Errorf("invites after one expired = %v", got)
	}
	// Revoked: refused at once.
	e.want(e.call("DELETE", "/api/channels/owner/invites/"+made["id"].(string), owner.token, nil), 204)
	e.want(e.call("POST", "/api/invites/accept", late.token, map[string]string{"code": code}), 404)
	e.want(e.call("DELETE", "/api/channels/owner/invites/"+made["id"].(string), owner.token, nil), 404)
	if v := e.channelView(t, "owner", late.token); v.MayWatch {
		t.Errorf("the latecomer got in: %+v", v)
	}

	// Bounds: expiry from 1 hour to 30 days; at most 20 live invites.
	for _, h := range []int{-1, 721} {
		if code := e.want(e.call("POST", "/api/channels/owner/invites", owner.token, map[string]any{"expiresInHours": h}), 400).errorCode(t); code != "InvalidInviteExpiry" {
			t.Errorf("expiresInHours %d: %s", h, code)
		}
	}
	for range 20 {
		e.want(e.call("POST", "/api/channels/owner/invites", owner.token, map[string]any{"expiresInHours": 2}), 201)
	}
	if code := e.want(e.call("POST", "/api/channels/owner/invites", owner.token, map[string]any{}), 409).errorCode(t); code != "TooManyInvites" {
		t.Errorf("21st invite: %s", code)
	}
}

// TestPrivacyBelongsToTheOwner: no other user can read or change a channel's privacy, its
// allowlist or its invites, through any route; their attempts change nothing.
func TestPrivacyBelongsToTheOwner(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	owner := e.signUp("owner")
	other := e.signUp("other")
	e.signUp("friend")
	e.want(e.call("PUT", "/api/channels/owner/privacy", owner.token, map[string]any{"private": true}), 200)
	e.want(e.call("PUT", "/api/channels/owner/allowlist/friend", owner.token, nil), 204)
	inv := e.want(e.call("POST", "/api/channels/owner/invites", owner.token, map[string]any{}), 201).json(t)
	snapshot := func() string {
		return string(e.want(e.call("GET", "/api/channels/owner/privacy", owner.token, nil), 200).body) +
			string(e.want(e.call("GET", "/api/channels/owner/allowlist", owner.token, nil), 200).body) +
			string(e.want(e.call("GET", "/api/channels/owner/invites", owner.token, nil), 200).body)
	}
	before := snapshot()
	for _, c := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"GET", "/api/channels/owner/privacy", nil, 403},
		{"PUT", "/api/channels/owner/privacy", map[string]any{"private": false}, 403},
		{"GET", "/api/channels/owner/allowlist", nil, 403},
		{"PUT", "/api/channels/owner/allowlist/other", nil, 403},
		{"DELETE", "/api/channels/owner/allowlist/friend", nil, 403},
		{"GET", "/api/channels/owner/invites", nil, 403},
		{"POST", "/api/channels/owner/invites", map[string]any{}, 403},
		{"DELETE", "/api/channels/owner/invites/" + inv["id"].(string), nil, 403},
		// Through their own channel's routes, the owner's invite is not theirs to revoke.
		{"DELETE", "/api/channels/other/invites/" + inv["id"].(string), nil, 404},
	} {
		res := e.call(c.method, c.path, other.token, c.body)
		if res.status != c.status {
			t.Errorf("%s %s as another user = %d, want %d: %s", c.method, c.path, res.status, c.status, res.body)
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("another user's calls changed the owner's privacy:\nbefore %s\nafter  %s", before, after)
	}
	if v := e.channelView(t, "owner", other.token); v.MayWatch {
		t.Errorf("the other user may watch: %+v", v)
	}
}

// closedWith reads a chat connection until it closes and returns the reason it was given;
// it fails if the connection stays open for 30 s (a close comes in milliseconds).
func (c *chatClient) closedWith() string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		_, _, err := c.ws.Read(ctx)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			c.t.Fatalf("the chat connection stayed open")
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Reason
		}
		return err.Error()
	}
}

// TestPrivateSwitchClosesChat: when a channel turns private, the chat connections opened
// while it was public close at once, anonymous ones included, but the owner's and the
// allowlist's, which go on; a token issued before the switch no longer joins.
func TestPrivateSwitchClosesChat(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	owner, fan, stranger := e.signUp("owner"), e.signUp("fan1"), e.signUp("stranger")
	e.want(e.call("PUT", "/api/channels/owner/allowlist/fan1", owner.token, nil), 204)
	conns := map[string]*chatClient{}
	for name, tok := range map[string]string{"owner": owner.token, "fan": fan.token, "stranger": stranger.token, "anonymous": ""} {
		chatTok, _ := e.chatToken(tok, "owner")
		c, err := e.connect(chatTok)
		if err != nil {
			t.Fatalf("%s connecting: %v", name, err)
		}
		conns[name] = c
	}
	strangerLater, _ := e.chatToken(stranger.token, "owner")
	anonLater, _ := e.chatToken("", "owner")

	e.want(e.call("PUT", "/api/channels/owner/privacy", owner.token, map[string]any{"private": true}), 200)
	for _, name := range []string{"stranger", "anonymous"} {
		if got := conns[name].closedWith(); got != "channel is private" {
			t.Errorf("%s's chat closed with %q, want %q", name, got, "channel is private")
		}
	}
	for name, tok := range map[string]string{"stranger": strangerLater, "anonymous": anonLater} {
		c, err := e.connect(tok)
		if err != nil {
			continue // refused at the handshake: as good
		}
		if got := c.closedWith(); got != "channel is private" {
			t.Errorf("%s's token from before the switch joined: closed with %q", name, got)
		}
	}
	// The owner and the fan are still in the room: a message reaches both.
	conns["owner"].send(map[string]string{"Action": "SEND_MESSAGE", "RequestId": "r1", "Content": "still here?"})
	for _, name := range []string{"owner", "fan"} {
		for {
			f := conns[name].next()
			if f["Type"] == "MESSAGE" {
				if f["Content"] != "still here?" {
					t.Errorf("%s got %v", name, f)
				}
				break
			}
		}
	}
}

// TestChannelContentIsWatchable: every route that shows a channel's content asks
// channels.Service.Watchable (or MayWatch, which adds bans): while the channel is public
// everyone gets it; once private, its owner and allowlist still do, and a stranger or an
// anonymous viewer is refused (403 PrivateChannel, or 404 for a recording, whose id does not
// say whose it is).
func TestChannelContentIsWatchable(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	owner, fan, stranger := e.signUp("owner"), e.signUp("fan1"), e.signUp("stranger")
	e.startSession(owner, "st-live")
	e.want(e.call("POST", "/api/channels/owner/poll", owner.token, map[string]any{"question": "Next?", "options": []string{"a", "b"}, "duration": 300}), 201)
	rec := e.recording(owner, "st-rec", false)
	e.want(e.call("PUT", "/api/channels/owner/allowlist/fan1", owner.token, nil), 204)

	viewers := []struct{ name, token string }{{"owner", owner.token}, {"allowed", fan.token}, {"stranger", stranger.token}, {"anonymous", ""}}
	routes := []struct {
		name, method, path string
		body               any
		public, private    [4]int // by viewer, as listed above
		refusal            string // the error code of a refusal once private
	}{
		{"chat token", "POST", "/api/chat/token", map[string]string{"channel": "owner"}, [4]int{200, 200, 200, 200}, [4]int{200, 200, 403, 403}, "PrivateChannel"},
		{"chat settings", "GET", "/api/channels/owner/chat-settings", nil, [4]int{200, 200, 200, 200}, [4]int{200, 200, 403, 403}, "PrivateChannel"},
		{"poll", "GET", "/api/channels/owner/poll", nil, [4]int{200, 200, 200, 200}, [4]int{200, 200, 403, 403}, "PrivateChannel"},
		// Votes: the first round votes, the second finds the vote made (409), or is refused.
		{"vote", "POST", "/api/channels/owner/poll/votes", map[string]int{"option": 0}, [4]int{201, 201, 201, 401}, [4]int{409, 409, 403, 401}, "PrivateChannel"},
		{"videos", "GET", "/api/channels/owner/videos", nil, [4]int{200, 200, 200, 200}, [4]int{200, 200, 403, 403}, "PrivateChannel"},
		{"video", "GET", "/api/videos/" + rec, nil, [4]int{200, 200, 200, 200}, [4]int{200, 200, 404, 404}, "RecordingNotFound"},
		{"video chat", "GET", "/api/videos/" + rec + "/chat", nil, [4]int{200, 200, 200, 200}, [4]int{200, 200, 404, 404}, "RecordingNotFound"},
		{"VOD playlist", "GET", "/hls/vod/" + rec + "/index.m3u8", nil, [4]int{200, 200, 200, 200}, [4]int{200, 200, 404, 404}, "RecordingNotFound"},
	}
	check := func(phase string, private bool) {
		for _, rt := range routes {
			for i, v := range viewers {
				want := rt.public[i]
				if private {
					want = rt.private[i]
				}
				res := e.call(rt.method, rt.path, v.token, rt.body)
				if res.status != want {
					t.Errorf("%s, %s as %s: %d %s, want %d", phase, rt.name, v.name, res.status, res.body, want)
					continue
				}
				if private && (want == 403 || want == 404) {
					if code := res.errorCode(t); code != rt.refusal {
						t.Errorf("%s, %s as %s: %s, want %s", phase, rt.name, v.name, code, rt.refusal)
					}
				}
			}
		}
	}
	check("public", false)
	e.want(e.call("PUT", "/api/channels/owner/privacy", owner.token, map[string]any{"private": true}), 200)
	check("private", true)
	// The page itself answers everyone, and says who may watch.
	for i, v := range viewers {
		if got, want := e.channelView(t, "owner", v.token).MayWatch, i < 2; got != want {
			t.Errorf("channel page as %s: mayWatch %v, want %v", v.name, got, want)
		}
	}
}
