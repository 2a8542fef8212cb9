package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/livehouse/livehouse/internal/recordings"
)

// TestLiveThumbnail: a live channel's thumbnail is served at its stable URL to whoever may
// watch the channel — shared caches may keep a public one 30 s, a private one stays in the
// viewer's browser — and to nobody else: not the banned, not those off a private channel's
// allowlist; an offline channel has none.
func TestLiveThumbnail(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	owner := e.signUp("owner")
	fan := e.signUp("fan1")
	pest := e.signUp("pest")
	url := "/api/channels/owner/thumbnail.jpg"
	ctx := context.Background()

	e.want(e.get(url, ""), 404) // offline
	chID := e.startLive(owner)
	if code := e.want(e.get(url, ""), 404).errorCode(t); code != "NoThumbnail" { // live, none made yet
		t.Errorf("before the first thumbnail: %s, want NoThumbnail", code)
	}
	jpeg := "\xff\xd8\xff\xe0 a jpeg"
	if err := e.media.Put(ctx, recordings.ThumbnailKey(chID), strings.NewReader(jpeg), int64(len(jpeg))); err != nil {
		t.Fatal(err)
	}
	res := e.want(e.get(url, ""), 200)
	if got := string(res.body); got != jpeg {
		t.Errorf("body = %q, want the stored JPEG", got)
	}
	if got, want := res.header.Get("Content-Type"), "image/jpeg"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
	if got, want := res.header.Get("Cache-Control"), "public, max-age=30"; got != want {
		t.Errorf("Cache-Control = %q, want %q", got, want)
	}
	// The directory card and the channel page point at it.
	dir := e.want(e.get("/api/channels?live=true", ""), 200).json(t)
	cards, _ := dir["channels"].([]any)
	if len(cards) != 1 || cards[0].(map[string]any)["thumbnailUrl"] != url {
		t.Errorf("directory = %v, want owner's card with thumbnailUrl %s", dir, url)
	}
	if got := e.want(e.get("/api/channels/owner", ""), 200).json(t)["thumbnailUrl"]; got != url {
		t.Errorf("channel page thumbnailUrl = %v, want %s", got, url)
	}

	// A banned viewer gets none.
	e.want(e.call("PUT", "/api/channels/owner/bans/pest", owner.token, nil), 204)
	if code := e.want(e.get(url, pest.token), 403).errorCode(t); code != "BannedFromChannel" {
		t.Errorf("banned viewer: %s, want BannedFromChannel", code)
	}

	// Private: only the owner and the allowlist, and never in a shared cache.
	e.want(e.call("PUT", "/api/channels/owner/privacy", owner.token, map[string]any{"private": true}), 200)
	for _, who := range []struct{ name, token string }{{"anonymous", ""}, {"not on the allowlist", fan.token}} {
		res := e.want(e.get(url, who.token), 403)
		if code := res.errorCode(t); code != "PrivateChannel" {
			t.Errorf("private channel, %s: %s, want PrivateChannel", who.name, code)
		}
		if got := res.header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("private channel, %s: Cache-Control %q, want no-store", who.name, got)
		}
		if got := e.want(e.get("/api/channels/owner", who.token), 200).json(t)["thumbnailUrl"]; got != nil {
			t.Errorf("private channel page, %s: thumbnailUrl %v, want none", who.name, got)
		}
	}
	e.want(e.call("PUT", "/api/channels/owner/allowlist/fan1", owner.token, nil), 204)
	for _, who := range []struct{ name, token string }{{"owner", owner.token}, {"on the allowlist", fan.token}} {
		res := e.want(e.get(url, who.token), 200)
		if got, want := res.header.Get("Cache-Control"), "private, max-age=30"; got != want {
			t.Errorf("private channel, %s: Cache-Control %q, want %q", who.name, got, want)
		}
	}

	// Offline again: none, even while the object is still stored.
	if err := e.store.EndStreamSession(ctx, "st-owner", e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.want(e.get(url, owner.token), 404)
}
