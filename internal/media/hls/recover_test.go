package hls

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/playback"
	"github.com/livehouse/livehouse/internal/streams"
	"github.com/livehouse/livehouse/internal/streams/streamstest"
)

// endOf returns the detail of the channel's Stream End event, and whether there is one.
func endOf(store *streamstest.Store, channelID string) (string, bool) {
	for _, e := range store.Events() {
		if e.Name == streams.EventStreamEnd && store.ChannelOf(e.SessionID) == channelID {
			return e.Detail, true
		}
	}
	return "", false
}

var partNumberRE = regexp.MustCompile(`_part(\d+)\.mp4"`)

// mediaPlaylist fetches a channel's video playlist with a valid token.
func mediaPlaylist(t *testing.T, s *Server, channelID string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/hls/"+channelID+"/video1_stream.m3u8?"+playback.Param+"="+testTokens.Mint(playback.Claims{ChannelID: channelID}), nil)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code == http.StatusOK {
		checkerFor(t).Playlist(req.URL.Path, rec.Body.Bytes())
	}
	return rec.Code, rec.Body.String()
}

// panicky is the packager with a second tap, of the same name, that panics on every unit of
// channel "bad" once the packager has taken it: a unit the packager cannot take, as the
// session sees it. A seam of the test's own, so that production's tap has none.
type panicky struct{ *Packager }

func (p panicky) Start(v *streams.View) streams.Run {
	run := p.Packager.Start(v)
	v.Tap("HLS packager", func(*stream.Unit) streams.Report {
		if v.Channel.ID == "bad" {
			panic("a unit the muxer cannot take")
		}
		return streams.Report{}
	})
	return run
}

// TestPackagerPanicEndsOnlyItsStream: a panic while packaging one stream's media (which comes
// from the network) ends that stream with an internal-error reason, and its packaging with
// it; the process lives on (a panic that escaped would end this test binary) and other
// streams keep being packaged.
func TestPackagerPanicEndsOnlyItsStream(t *testing.T) {
	hs := newServer(Config{SegmentCount: 7, SegmentMinDuration: time.Second, PartMinDuration: 200 * time.Millisecond, Tokens: testTokens}, slog.New(slog.DiscardHandler))
	store := streamstest.New(streams.Channel{})
	svc := streams.NewService(streams.Deps{Store: store, Log: slog.New(slog.DiscardHandler), Outputs: []streams.Output{panicky{hs.pkg}}})
	tracks := stream.Tracks{H264: &stream.H264{SPS: testSPS, PPS: testPPS}}
	good, bad := stream.New(tracks), stream.New(tracks)
	for id, st := range map[string]*stream.Stream{"good": good, "bad": bad} {
		if _, err := svc.Begin(context.Background(), &streams.Channel{ID: id, Type: "BASIC"}, st, func() {}); err != nil {
			t.Fatalf("Begin(%s): %v", id, err)
		}
	}
	t.Cleanup(svc.Shutdown)

	// frames writes video frames [from, to) of a 30 fps stream with a keyframe a second. The
	// packager's queue holds them all, so none is dropped.
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	frames := func(st *stream.Stream, from, to int) {
		for i := from; i < to; i++ {
			pts, au, key := frame(i, 30)
			d := time.Duration(pts) * time.Second / videoClock
			st.Write(&stream.Unit{Kind: stream.Video, PTS: d, NTP: t0.Add(d), Payload: au, Key: key})
		}
	}
	// waitFor polls cond; the bound only ends a test that has failed.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting for %s", what)
			}
			select {
			case <-store.EventAdded():
			case <-time.After(20 * time.Millisecond): // polling interval, not synchronisation
			}
		}
	}
	// lastPart is the number of the newest part the good stream's playlist lists (-1: none).
	lastPart := func() int {
		last := -1
		if code, body := mediaPlaylist(t, hs, "good"); code == http.StatusOK {
			for _, m := range partNumberRE.FindAllStringSubmatch(body, -1) {
				n, _ := strconv.Atoi(m[1])
				last = max(last, n)
			}
		}
		return last
	}

	frames(good, 0, 90)
	waitFor("the good stream's first parts", func() bool { return lastPart() >= 0 })
	// Wait for the parts of all 3 s, so that what comes later is from the frames after the panic.
	waitFor("the good stream's parts of its first 3 s", func() bool { return lastPart() >= 13 })
	before := lastPart()

	frames(bad, 0, 1)
	waitFor("the bad stream's end", func() bool { _, ok := endOf(store, "bad"); return ok })
	if detail, _ := endOf(store, "bad"); !strings.Contains(detail, `"reason":"internal error in the HLS packager"`) {
		t.Errorf("the bad stream ended with %s, want the internal-error reason", detail)
	}
	waitFor("the bad channel to be free", func() bool { return svc.Live("bad") == nil })
	if code, body := mediaPlaylist(t, hs, "bad"); code != http.StatusOK || !strings.Contains(body, "#EXT-X-ENDLIST") {
		t.Errorf("the bad stream's playlist after its end: %d %q, want it ended (EXT-X-ENDLIST)", code, body)
	}

	if svc.Live("good") == nil {
		t.Fatal("the good stream ended with the bad one")
	}
	if detail, ended := endOf(store, "good"); ended {
		t.Fatalf("the good stream ended: %s", detail)
	}
	frames(good, 90, 180)
	waitFor("more parts of the good stream", func() bool { return lastPart() >= before+10 })
}
