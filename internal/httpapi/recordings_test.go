package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/recordings"
)

// recording makes a complete recording of one of u's sessions, with a playlist and a segment
// in storage, and returns its id.
func (e *env) recording(u user, id string, hidden bool) string {
	e.t.Helper()
	ctx := context.Background()
	ch, err := e.store.ChannelByUser(ctx, u.id)
	if err != nil {
		e.t.Fatal(err)
	}
	at := e.clock.Now().Add(-time.Hour)
	r := &recordings.Recording{ID: id, ChannelID: ch.ID, UserID: u.id, Prefix: recordings.Prefix(ch.ID, id), Status: recordings.StatusRecording, StartedAt: at}
	if err := e.store.CreateRecording(ctx, r); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.FinishRecording(ctx, id, at.Add(time.Minute), recordings.Progress{Duration: time.Minute, Segments: 1}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.UpdateRecording(ctx, id, "", hidden); err != nil {
		e.t.Fatal(err)
	}
	for key, body := range map[string]string{"index.m3u8": "#EXTM3U\n", "video1/000000000_0_1_1_0.m4s": "media"} {
		if err := e.media.Put(ctx, r.Prefix+key, strings.NewReader(body), int64(len(body))); err != nil {
			e.t.Fatal(err)
		}
	}
	return id
}

func (e *env) get(path, token string) response {
	e.t.Helper()
	return e.call("GET", path, token, nil)
}

// TestVODAccess: a recording's files play for anyone while public; a hidden one only for
// its owner, never cached by shared caches; a deleted one for nobody, its media gone.
func TestVODAccess(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	owner := e.signUp("owner")
	other := e.signUp("other")
	id := e.recording(owner, "st-rec", false)
	index := "/hls/vod/" + id + "/index.m3u8"
	seg := "/hls/vod/" + id + "/video1/000000000_0_1_1_0.m4s"

	res := e.want(e.get(index, ""), 200)
	if got := res.header.Get("Content-Type"); got != "application/vnd.apple.mpegurl" {
		t.Errorf("playlist Content-Type = %q", got)
	}
	if got := res.header.Get("Cache-Control"); got != "public, max-age=60" {
		t.Errorf("playlist Cache-Control = %q", got)
	}
	res = e.want(e.get(seg, ""), 200)
	if got := res.header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" || string(res.body) != "media" {
		t.Errorf("segment: Cache-Control %q, body %q", got, res.body)
	}
	for _, bad := range []string{"/hls/vod/" + id + "/meta.json", "/hls/vod/" + id + "/nothing.m3u8", "/hls/vod/st-none/index.m3u8"} {
		if res := e.get(bad, ""); res.status != 404 {
			t.Errorf("GET %s = %d", bad, res.status)
		}
	}

	// Hidden: 404 to everyone but the owner.
	e.want(e.call("PATCH", "/api/videos/"+id, owner.token, map[string]any{"hidden": true}), 200)
	for _, who := range []struct {
		name, token string
		status      int
	}{{"anonymous", "", 404}, {"other", other.token, 404}, {"owner", owner.token, 200}} {
		for _, path := range []string{index, seg, "/api/videos/" + id} {
			if got := e.get(path, who.token).status; got != who.status {
				t.Errorf("hidden: GET %s as %s = %d, want %d", path, who.name, got, who.status)
			}
		}
		list := e.want(e.get("/api/channels/owner/videos", who.token), 200)
		if listed := strings.Contains(string(list.body), id); listed != (who.status == 200) {
			t.Errorf("hidden: listed for %s = %v", who.name, listed)
		}
	}
	if got := e.get(seg, owner.token).header.Get("Cache-Control"); !strings.HasPrefix(got, "private") {
		t.Errorf("hidden segment for its owner: Cache-Control %q, want private", got)
	}
	// Nobody else renames or deletes it: it is not there for them.
	e.want(e.call("PATCH", "/api/videos/"+id, other.token, map[string]any{"title": "mine now"}), 404)
	e.want(e.call("DELETE", "/api/videos/"+id, other.token, nil), 404)
	e.want(e.call("PATCH", "/api/videos/"+id, owner.token, map[string]any{"title": "bad\ntitle"}), 400)
	e.want(e.call("PATCH", "/api/videos/"+id, owner.token, map[string]any{"title": strings.Repeat("é", recordings.MaxTitle+1)}), 400)
	got := e.want(e.call("PATCH", "/api/videos/"+id, owner.token, map[string]any{"title": "  First stream  ", "hidden": false}), 200).json(t)
	if got["title"] != "First stream" || got["hidden"] != false {
		t.Errorf("after rename: %v", got)
	}

	// Deleted: its media is gone from storage.
	e.want(e.call("DELETE", "/api/videos/"+id, owner.token, nil), http.StatusNoContent)
	e.want(e.get(index, owner.token), 404)
	if objs, err := e.media.List(context.Background(), "", "", 10); err != nil || len(objs) != 0 {
		t.Errorf("left in storage after delete: %v, %v", objs, err)
	}
}

// TestVODOfALiveSession: the recording of a session still live (or still being finished) is
// no VOD yet: its playlist and segments, stored as they are written, answer 404 to everyone,
// its owner included, and it is not listed; once complete it plays.
func TestVODOfALiveSession(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	owner := e.signUp("owner")
	ctx := context.Background()
	ch, err := e.store.ChannelByUser(ctx, owner.id)
	if err != nil {
		t.Fatal(err)
	}
	id := "st-live"
	r := &recordings.Recording{ID: id, ChannelID: ch.ID, UserID: owner.id, Prefix: recordings.Prefix(ch.ID, id), Status: recordings.StatusRecording, StartedAt: e.clock.Now()}
	if err := e.store.CreateRecording(ctx, r); err != nil {
		t.Fatal(err)
	}
	// What a recorder has stored so far (a playlist is only written at the end; one is here
	// all the same, so that only the status answers).
	for key, body := range map[string]string{"index.m3u8": "#EXTM3U\n", "video1.m3u8": "#EXTM3U\n", "video1/000000000_0_1_1_0.m4s": "media"} {
		if err := e.media.Put(ctx, r.Prefix+key, strings.NewReader(body), int64(len(body))); err != nil {
			t.Fatal(err)
		}
	}
	paths := []string{"/hls/vod/" + id + "/index.m3u8", "/hls/vod/" + id + "/video1.m3u8", "/hls/vod/" + id + "/video1/000000000_0_1_1_0.m4s", "/api/videos/" + id}
	for _, who := range []struct{ name, token string }{{"anonymous", ""}, {"owner", owner.token}} {
		for _, path := range paths {
			if got := e.get(path, who.token).status; got != 404 {
				t.Errorf("live: GET %s as %s = %d, want 404", path, who.name, got)
			}
		}
		if list := e.want(e.get("/api/channels/owner/videos", who.token), 200); strings.Contains(string(list.body), id) {
			t.Errorf("live: listed for %s: %s", who.name, list.body)
		}
	}
	if err := e.store.FinishRecording(ctx, id, e.clock.Now().Add(time.Minute), recordings.Progress{Duration: time.Minute, Segments: 1}); err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		e.want(e.get(path, ""), 200)
	}
}

// TestVideoChat: a recording's chat replay reads by offset range, in order, for whoever may
// play the recording; bad ranges are 400 and change nothing.
func TestVideoChat(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	owner := e.signUp("owner")
	other := e.signUp("other")
	id := e.recording(owner, "st-chat", false)
	ctx := context.Background()
	for i, l := range []recordings.ChatLine{
		{MessageID: "m1", Offset: 500 * time.Millisecond, SenderID: other.id, Sender: `{"username":"other"}`, Content: "hello"},
		{MessageID: "m2", Offset: 20 * time.Second, SenderID: owner.id, Sender: `{"username":"owner"}`, Content: "at 20 s"},
		{MessageID: "m3", Offset: 50 * time.Second, SenderID: other.id, Sender: `{"username":"other"}`, Content: "bye"},
	} {
		if err := e.store.AddChatLine(ctx, id, l); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
	}
	type line struct {
		ID       string
		OffsetMS int64 `json:"offsetMs"`
		Sender   struct {
			UserID     string `json:"userId"`
			Attributes map[string]string
		}
		Content string
	}
	read := func(query, token string) []line {
		t.Helper()
		var out struct{ Messages []line }
		if err := json.Unmarshal(e.want(e.get("/api/videos/"+id+"/chat"+query, token), 200).body, &out); err != nil {
			t.Fatal(err)
		}
		return out.Messages
	}
	all := read("", "")
	if len(all) != 3 || all[0].ID != "m1" || all[0].OffsetMS != 500 || all[0].Sender.UserID != other.id || all[0].Sender.Attributes["username"] != "other" || all[0].Content != "hello" {
		t.Errorf("all lines: %+v", all)
	}
	if got := read("?from=20000&to=50000", other.token); len(got) != 1 || got[0].ID != "m2" {
		t.Errorf("from 20 s to 50 s: %+v, want m2 alone", got)
	}
	for _, bad := range []string{"?from=-1", "?from=x", "?from=5000&to=5000", "?to=99999999999999999999"} {
		e.want(e.get("/api/videos/"+id+"/chat"+bad, ""), 400)
	}
	// Hidden: the chat is as private as the video.
	e.want(e.call("PATCH", "/api/videos/"+id, owner.token, map[string]any{"hidden": true}), 200)
	e.want(e.get("/api/videos/"+id+"/chat", other.token), 404)
	e.want(e.get("/api/videos/"+id+"/chat", owner.token), 200)
	e.want(e.get("/api/videos/st-none/chat", owner.token), 404)
}
