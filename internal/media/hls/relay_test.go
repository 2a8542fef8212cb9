package hls

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/playback"
)

// fakeLocator is the store's answer to where a channel is live.
type fakeLocator struct {
	mu     sync.Mutex
	origin Origin
	err    error
	asked  int
}

func (l *fakeLocator) Origin(_ context.Context, channelID string) (Origin, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked++
	if channelID != "ch" || l.err != nil {
		return Origin{}, errors.Join(ErrNotLive, l.err)
	}
	return l.origin, nil
}

func (l *fakeLocator) set(o Origin, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.origin, l.err = o, err
}

// originNode packages channel "ch" in real time (30 fps, a keyframe a second) until the
// returned end is called, and serves it over HTTP.
func originNode(t *testing.T) (srv *httptest.Server, end func()) {
	t.Helper()
	s := newServer(Config{SegmentCount: 7, SegmentMinDuration: time.Second, PartMinDuration: 200 * time.Millisecond, Tokens: testTokens}, slog.New(slog.DiscardHandler))
	lv, err := s.pkg.open("ch", stream.Tracks{H264: &stream.H264{SPS: testSPS, PPS: testPPS}}, false)
	if err != nil {
		t.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t0 := time.Now()
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		for i := 0; ; i++ {
			pts, au, key := frame(i, 30)
			d := time.Duration(pts) * time.Second / videoClock
			if err := lv.write(&stream.Unit{Kind: stream.Video, PTS: d, NTP: t0.Add(d), Payload: au, Key: key}); err != nil {
				t.Error(err)
				return
			}
			select {
			case <-stop:
				return
			case <-tick.C: // the encoder's pace
			}
		}
	}()
	var once sync.Once
	end = func() {
		once.Do(func() {
			close(stop)
			<-done
			s.pkg.close("ch", lv)
		})
	}
	t.Cleanup(end)
	srv = httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, end
}

func relayNode(t *testing.T, loc Locator) *Server {
	t.Helper()
	s := newServer(Config{SegmentCount: 7, SegmentMinDuration: time.Second, PartMinDuration: 200 * time.Millisecond, Tokens: testTokens, Origins: loc, Node: "b"}, slog.New(slog.DiscardHandler))
	t.Cleanup(s.Close)
	return s
}

func getBody(t *testing.T, s http.Handler, path string) (int, string, http.Header) {
	t.Helper()
	rec := do(t, s.(*Server), path, true)
	return rec.Code, rec.Body.String(), rec.Header()
}

// waitPlayable polls until the relay serves the media playlist with a part in it.
func waitPlayable(t *testing.T, s *Server) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body, _ := getBody(t, s, "/hls/ch/video1_stream.m3u8")
		if status == 200 && strings.Contains(body, "#EXT-X-PART:") && strings.Contains(body, "#EXTINF") {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("no playable playlist through the relay: %d %s", status, body)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}

// TestRelayServesAChannelLiveElsewhere: a node that does not package the channel serves its
// multivariant and media playlists, blocking reloads and parts from the node that does, with
// one upstream request per playlist update and per part however many viewers ask.
func TestRelayServesAChannelLiveElsewhere(t *testing.T) {
	origin, end := originNode(t)
	loc := &fakeLocator{origin: Origin{SessionID: "st-1", NodeURL: origin.URL}}
	relay := relayNode(t, loc)

	if status, _, _ := getBody(t, relay, "/hls/ch/index.m3u8"); status != 200 {
		t.Fatalf("multivariant playlist through the relay: %d", status)
	}
	pl := waitPlayable(t, relay)
	if strings.Contains(pl, "token") {
		t.Errorf("the relayed playlist carries a token:\n%s", pl)
	}

	// The part the relay lists is the origin's, byte for byte.
	part := partURIRE.FindAllStringSubmatch(pl, -1)
	name := part[len(part)-1][1]
	_, viaRelay, h := getBody(t, relay, "/hls/ch/"+name)
	res, err := http.Get(origin.URL + "/hls/ch/" + name + "?token=" + testTokens.Mint(playback.Claims{ChannelID: "ch"}))
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Equal([]byte(viaRelay), direct) || len(direct) == 0 {
		t.Errorf("part %s: %d bytes through the relay, %d direct", name, len(viaRelay), len(direct))
	}
	if h.Get("Cache-Control") != cacheImmutable {
		t.Errorf("relayed part: Cache-Control %q", h.Get("Cache-Control"))
	}

	// 50 viewers block on the next part, then fetch it.
	st, _ := parseState([]byte(pl))
	next := "/hls/ch/video1_stream.m3u8?_HLS_msn=" + strconv.Itoa(st.cur) + "&_HLS_part=" + strconv.Itoa(st.curParts)
	before := relay.relays.requests.Load()
	const viewers = 50
	var wg sync.WaitGroup
	bodies := make([]string, viewers)
	for i := range viewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body, _ := getBody(t, relay, next)
			if status != 200 {
				t.Errorf("blocking reload through the relay: %d %s", status, body)
				return
			}
			got, _ := parseState([]byte(body))
			if !got.has(st.cur, st.curParts) {
				t.Errorf("blocking reload for %d.%d answered with a playlist without it", st.cur, st.curParts)
			}
			uris := partURIRE.FindAllStringSubmatch(body, -1)
			if status, b, _ := getBody(t, relay, "/hls/ch/"+uris[len(uris)-1][1]); status != 200 || len(b) == 0 {
				t.Errorf("newest part through the relay: %d", status)
			}
			bodies[i] = body
		}()
	}
	wg.Wait()
	// Upstream: the follower's reloads while the viewers waited (one per part, a few parts at
	// most on a busy machine) and one fetch of the new part — not one per viewer.
	if got := relay.relays.requests.Load() - before; got > 12 {
		t.Errorf("%d viewers made %d upstream requests", viewers, got)
	}

	// Names the origin does not list make nothing.
	for _, path := range []string{"/hls/ch/video9_stream.m3u8", "/hls/ch/720p/video1_stream.m3u8"} {
		if status, _, _ := getBody(t, relay, path); status != 404 {
			t.Errorf("GET %s through the relay: %d, want 404", path, status)
		}
	}
	relay.relays.m["ch"].mu.Lock()
	followers := len(relay.relays.m["ch"].edges)
	relay.relays.m["ch"].mu.Unlock()
	if followers != 1 {
		t.Errorf("relay followers: %d, want 1", followers)
	}

	// The stream ends on the origin: the relayed playlist ends with EXT-X-ENDLIST.
	end()
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body, _ := getBody(t, relay, "/hls/ch/video1_stream.m3u8")
		if status == 200 && strings.HasSuffix(body, "#EXT-X-ENDLIST\n") && !strings.Contains(body, "PRELOAD-HINT") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the relayed playlist did not end: %d\n%s", status, body)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}

// TestRelayUnknownChannel: a channel live nowhere gets 404 and leaves nothing behind.
func TestRelayUnknownChannel(t *testing.T) {
	loc := &fakeLocator{err: ErrNotLive}
	relay := relayNode(t, loc)
	start := time.Now()
	for range 100 {
		if status, _, _ := getBody(t, relay, "/hls/ch/index.m3u8"); status != 404 {
			t.Fatalf("status %d, want 404", status)
		}
	}
	// The store's answer stands for a second: it is asked once a second at most.
	if most := 1 + int(time.Since(start)/notLiveKeep); loc.asked > most {
		t.Errorf("100 requests asked the store %d times; want at most %d", loc.asked, most)
	}
	if n := len(relay.relays.m); n != 0 {
		t.Errorf("%d relays for a channel that is not live", n)
	}
	// Without a token the store is not even asked.
	loc.asked = 0
	req := httptest.NewRequest(http.MethodGet, "/hls/ch/index.m3u8", nil)
	rec := httptest.NewRecorder()
	relay.ServeHTTP(rec, req)
	if rec.Code != 403 || loc.asked != 0 {
		t.Errorf("no token: %d, store asked %d times", rec.Code, loc.asked)
	}
}

// TestRelayLosesItsUpstream: while the origin cannot be reached, viewers get 503 with
// Retry-After, never the last playlist; once the store says the session is over, the playlist
// ends with EXT-X-ENDLIST.
func TestRelayLosesItsUpstream(t *testing.T) {
	origin, _ := originNode(t)
	loc := &fakeLocator{origin: Origin{SessionID: "st-1", NodeURL: origin.URL}}
	relay := relayNode(t, loc)
	waitPlayable(t, relay)

	origin.CloseClientConnections()
	origin.Close() // the origin node is gone; its session is still open on record
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body, h := getBody(t, relay, "/hls/ch/video1_stream.m3u8")
		if status == 503 {
			if h.Get("Retry-After") == "" || h.Get("Cache-Control") != "no-store" {
				t.Errorf("503 headers: %v", h)
			}
			break
		}
		if status != 200 || time.Now().After(deadline) {
			t.Fatalf("with the origin gone: %d %s", status, body)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}

	loc.set(Origin{}, ErrNotLive) // the session was ended (its node's lease ran out)
	deadline = time.Now().Add(30 * time.Second)
	for {
		status, body, _ := getBody(t, relay, "/hls/ch/video1_stream.m3u8")
		if status == 200 && strings.HasSuffix(body, "#EXT-X-ENDLIST\n") {
			break
		}
		if status != 503 || time.Now().After(deadline) {
			t.Fatalf("after the session ended: %d %s", status, body)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}
