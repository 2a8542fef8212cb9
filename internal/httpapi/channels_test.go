package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/playback"
)

func pngBytes(t testing.TB, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
		if i%4 == 3 {
			img.Pix[i] = 255 // opaque, so it is re-encoded as JPEG
		}
	}
	img.Set(0, 0, color.RGBA{1, 2, 3, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestChannelPage(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	owner := e.signUp("Owner")
	viewer := e.signUp("viewer")

	e.want(e.call("GET", "/api/channels/nobody", "", nil), 404)
	e.want(e.call("GET", "/api/channels/owner", "not-a-token", nil), 401)
	anon := e.want(e.call("GET", "/api/channels/OWNER", "", nil), 200)
	for _, secret := range []string{owner.streamKey, owner.email, "streamKey", "email"} {
		if strings.Contains(string(anon.body), secret) {
			t.Errorf("public channel data leaks %q: %s", secret, anon.body)
		}
	}
	page := anon.json(t)
	if page["username"] != "Owner" || page["isLive"] != false || page["isFollowed"] != false || page["viewerCount"] != float64(0) {
		t.Errorf("channel page = %v", page)
	}
	if got := e.playbackClaims(page["playbackUrl"], page["channelId"].(string)); got.UserID != "" {
		t.Errorf("an anonymous viewer's playback token names user %q", got.UserID)
	}

	e.want(e.call("PUT", "/api/me/following/owner", viewer.token, nil), 204)
	e.want(e.call("PUT", "/api/me/following/owner", viewer.token, nil), 204) // idempotent
	if p := e.want(e.call("GET", "/api/channels/owner", viewer.token, nil), 200).json(t); p["isFollowed"] != true || p["isOwner"] != false {
		t.Errorf("as follower: %v", p)
	}
	if p := e.want(e.call("GET", "/api/channels/owner", owner.token, nil), 200).json(t); p["isOwner"] != true {
		t.Errorf("as owner: %v", p)
	}

	// A banned viewer learns it and gets no playback URL; the owner sees the ban list.
	e.want(e.call("PUT", "/api/channels/owner/bans/VIEWER", owner.token, nil), 204)
	p := e.want(e.call("GET", "/api/channels/owner", viewer.token, nil), 200).json(t)
	if p["isBanned"] != true || p["playbackUrl"] != nil {
		t.Errorf("as banned viewer: %v", p)
	}
	bans := e.want(e.call("GET", "/api/channels/owner/bans", owner.token, nil), 200).json(t)
	if list := bans["users"].([]any); len(list) != 1 || list[0].(map[string]any)["username"] != "viewer" {
		t.Errorf("bans = %v", bans)
	}
	if code := e.want(e.call("PUT", "/api/channels/owner/bans/owner", owner.token, nil), 400).errorCode(t); code != "CannotBanSelf" {
		t.Errorf("self-ban code %s", code)
	}
	e.want(e.call("PUT", "/api/channels/owner/bans/ghost", owner.token, nil), 404)
	e.want(e.call("DELETE", "/api/channels/owner/bans/viewer", owner.token, nil), 204)
	p = e.want(e.call("GET", "/api/channels/owner", viewer.token, nil), 200).json(t)
	if p["isBanned"] != false || p["playbackUrl"] == nil {
		t.Fatalf("after unban: %v", p)
	}
	if got := e.playbackClaims(p["playbackUrl"], p["channelId"].(string)); got.UserID == "" {
		t.Errorf("a signed-in viewer's playback token names no user")
	}
}

// playbackClaims checks that a playback URL is the channel's multivariant playlist with a
// valid token for it, and returns the token's claims.
func (e *env) playbackClaims(playbackURL any, channelID string) playback.Claims {
	e.t.Helper()
	u, err := url.Parse(fmt.Sprint(playbackURL))
	if err != nil || u.Path != "/hls/"+channelID+"/index.m3u8" {
		e.t.Fatalf("playbackUrl = %v", playbackURL)
	}
	c, err := e.tokens.Verify(u.Query().Get(playback.Param), channelID)
	if err != nil {
		e.t.Fatalf("playbackUrl %v: %v", playbackURL, err)
	}
	return c
}

func TestFollowingAndDirectory(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	fan := e.signUp("fan1")
	ctx := context.Background()
	names := []string{"chan_a", "chan_b", "chan_c", "chan_d"}
	ids := map[string]string{}
	for _, n := range names {
		e.signUp(n)
		p := e.want(e.call("GET", "/api/channels/"+n, "", nil), 200).json(t)
		ids[n] = p["channelId"].(string)
		e.want(e.call("PUT", "/api/me/following/"+n, fan.token, nil), 204)
		e.clock.Add(time.Minute)
	}
	e.want(e.call("PUT", "/api/me/following/nobody", fan.token, nil), 404)
	if code := e.want(e.call("PUT", "/api/me/following/fan1", fan.token, nil), 400).errorCode(t); code != "CannotFollowSelf" {
		t.Errorf("self-follow code %s", code)
	}
	// chan_b then chan_c go live; chan_d goes live but its session ends.
	for i, n := range []string{"chan_b", "chan_c", "chan_d"} {
		id := "st-" + n
		at := time.Date(2026, 11, 25, 13, i, 0, 0, time.UTC)
		if err := e.store.OpenStreamSession(ctx, id, ids[n], "", at); err != nil {
			t.Fatal(err)
		}
		if err := e.store.StartStreamSession(ctx, id, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.EndStreamSession(ctx, "st-chan_d", time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	list := func(path, token, key string) []string {
		var out []string
		for _, c := range e.want(e.call("GET", path, token, nil), 200).json(t)[key].([]any) {
			out = append(out, c.(map[string]any)["username"].(string))
		}
		return out
	}
	if diff := cmp.Diff([]string{"chan_c", "chan_b", "chan_d", "chan_a"}, list("/api/me/following", fan.token, "channels")); diff != "" {
		t.Errorf("following (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"chan_c", "chan_b"}, list("/api/me/following?limit=2", fan.token, "channels")); diff != "" {
		t.Errorf("following limit 2 (-want +got):\n%s", diff)
	}
	e.want(e.call("GET", "/api/me/following?limit=0", fan.token, nil), 400)
	if diff := cmp.Diff([]string{"chan_c", "chan_b"}, list("/api/channels?live=true", "", "channels")); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
	e.want(e.call("GET", "/api/channels", "", nil), 400)
	e.want(e.call("DELETE", "/api/me/following/chan_c", fan.token, nil), 204)
	if diff := cmp.Diff([]string{"chan_b", "chan_d", "chan_a"}, list("/api/me/following", fan.token, "channels")); diff != "" {
		t.Errorf("after unfollow (-want +got):\n%s", diff)
	}
}

func TestAppearanceAndUploads(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	alice := e.signUp("alice")
	e.want(e.call("PATCH", "/api/me", alice.token, map[string]string{"color": "purple", "avatar": "tiger"}), 200)
	for _, bad := range []map[string]string{{"color": "pink"}, {"avatar": "dragon"}, {"avatar": "custom"}} {
		e.want(e.call("PATCH", "/api/me", alice.token, bad), 400)
	}
	// Refusals: a renamed text file, an oversize file, a wrong type, an unknown kind.
	if code := e.want(e.call("PUT", "/api/me/assets/avatar", alice.token, imageBody([]byte("\x89PNG\r\n\x1a\nnot really a png"))), 400).errorCode(t); code != "NotAnImage" {
		t.Errorf("renamed text: code %s", code)
	}
	big := append(pngBytes(t, 8, 8), bytes.Repeat([]byte{0}, 10<<20)...)
	if code := e.want(e.call("PUT", "/api/me/assets/banner", alice.token, imageBody(big)), 413).errorCode(t); code != "ImageTooLarge" {
		t.Errorf("10 MB banner: code %s", code)
	}
	e.want(e.call("PUT", "/api/me/assets/avatar", alice.token, imageBody(bytes.Repeat([]byte("GIF89a"), 10))), 415)
	e.want(e.call("PUT", "/api/me/assets/poster", alice.token, imageBody(pngBytes(t, 8, 8))), 404)

	up := e.want(e.call("PUT", "/api/me/assets/avatar", alice.token, imageBody(pngBytes(t, 900, 600))), 200).json(t)
	url := up["url"].(string)
	img := e.want(e.call("GET", url, "", nil), 200)
	if img.header.Get("Content-Type") != "image/jpeg" || !strings.Contains(img.header.Get("Cache-Control"), "immutable") {
		t.Errorf("asset headers %v", img.header)
	}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(img.body)); err != nil || cfg.Width != 512 || cfg.Height != 512 {
		t.Errorf("served avatar %v×%v, %v; want 512×512", cfg.Width, cfg.Height, err)
	}
	e.want(e.call("PATCH", "/api/me", alice.token, map[string]string{"avatar": "custom"}), 200)
	page := e.want(e.call("GET", "/api/channels/alice", "", nil), 200).json(t)
	if page["avatar"] != "custom" || page["avatarUrl"] != url || page["color"] != "purple" {
		t.Errorf("channel page after upload: %v", page)
	}
	// A new upload gets a new URL; the old one is gone.
	url2 := e.want(e.call("PUT", "/api/me/assets/avatar", alice.token, imageBody(pngBytes(t, 100, 100))), 200).json(t)["url"]
	if url2 == url {
		t.Errorf("re-upload kept the URL %v", url)
	}
	e.want(e.call("GET", url, "", nil), 404)
	// Deleting the custom avatar reverts to a built-in one.
	e.want(e.call("DELETE", "/api/me/assets/avatar", alice.token, nil), 204)
	page = e.want(e.call("GET", "/api/channels/alice", "", nil), 200).json(t)
	if page["avatar"] == "custom" || page["avatar"] == "" || page["avatarUrl"] != nil {
		t.Errorf("after delete: %v", page)
	}

	// A suspended owner's pictures are not served (404 like the channel page), and are again
	// once the suspension is lifted.
	banner := e.want(e.call("PUT", "/api/me/assets/banner", alice.token, imageBody(pngBytes(t, 300, 100))), 200).json(t)["url"].(string)
	e.want(e.call("GET", banner, "", nil), 200)
	if _, err := e.acc.Suspend(context.Background(), "alice", "test"); err != nil {
		t.Fatal(err)
	}
	if code := e.want(e.call("GET", banner, "", nil), 404).errorCode(t); code != "ChannelUnavailable" {
		t.Errorf("suspended owner's banner: code %q, want ChannelUnavailable", code)
	}
	if _, err := e.acc.Unsuspend(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	e.want(e.call("GET", banner, "", nil), 200)
}

func TestStreamKeyReset(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	owner := e.signUp("owner")
	other := e.signUp("other")
	e.want(e.call("POST", "/api/me/stream-key/reset", other.token, nil), 200)
	key := func(token string) string {
		return e.want(e.call("GET", "/api/me", token, nil), 200).json(t)["channel"].(map[string]any)["streamKey"].(string)
	}
	if got := key(owner.token); got != owner.streamKey {
		t.Errorf("another user's reset changed the owner's key")
	}
	res := e.want(e.call("POST", "/api/me/stream-key/reset", owner.token, nil), 200).json(t)
	if res["streamKey"] == owner.streamKey || res["streamKey"] != key(owner.token) {
		t.Errorf("reset gave %v; me shows %v; old %v", res["streamKey"], key(owner.token), owner.streamKey)
	}
	me := e.want(e.call("GET", "/api/me", owner.token, nil), 200).json(t)["channel"].(map[string]any)
	for k, want := range map[string]string{"rtmpUrl": "rtmp://livehouse.test:1935/live/", "whipUrl": "http://livehouse.test/api/whip"} {
		if me[k] != want {
			t.Errorf("%s = %v, want %v", k, me[k], want)
		}
	}
	if !strings.HasPrefix(fmt.Sprint(me["playbackUrl"]), "http://livehouse.test/hls/"+me["id"].(string)+"/index.m3u8?token=") {
		t.Errorf("playbackUrl = %v", me["playbackUrl"])
	}
	e.playbackClaims(me["playbackUrl"], me["id"].(string))
}

// /following shows a live channel's viewers as the directory and the channel page do.
func TestFollowingViewerCount(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	star := e.signUp("star")
	fan := e.signUp("fanny")
	e.openSession(star, "st-star", e.clock.Now())
	if err := e.store.StartStreamSession(context.Background(), "st-star", e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.goLive(star)
	for range 3 { // three anonymous players, each counted by its viewing beacon
		page := e.want(e.call("GET", "/api/channels/star", "", nil), 200).json(t)
		e.want(e.call("POST", "/api/channels/star/views", "", map[string]any{"token": page["playbackToken"]}), 200)
	}
	e.want(e.call("PUT", "/api/me/following/star", fan.token, nil), 204)

	count := func(path, token string) any {
		var body struct {
			Channels []map[string]any `json:"channels"`
		}
		if err := json.Unmarshal(e.want(e.call("GET", path, token, nil), 200).body, &body); err != nil {
			t.Fatal(err)
		}
		for _, c := range body.Channels {
			if c["username"] == "star" {
				return c["viewerCount"]
			}
		}
		t.Fatalf("%s does not list star: %v", path, body.Channels)
		return nil
	}
	for _, tt := range []struct{ path, token string }{
		{"/api/channels?live=true", ""},
		{"/api/me/following", fan.token},
	} {
		if got := count(tt.path, tt.token); got != float64(3) {
			t.Errorf("%s viewerCount = %v, want 3", tt.path, got)
		}
	}
}
