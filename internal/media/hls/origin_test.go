package hls

import (
	"bytes"
	"github.com/livehouse/livehouse/internal/media/stream"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/playback"
)

// testTokens signs the playback tokens of the package's tests.
var testTokens = func() *playback.Signer {
	s, err := playback.NewSigner(bytes.Repeat([]byte{7}, 32), nil)
	if err != nil {
		panic(err)
	}
	return s
}()

// tokenFor mints a viewer's token for the channel a /hls/ path names.
func tokenFor(t testing.TB, path string) string {
	t.Helper()
	rest, _ := strings.CutPrefix(path, "/hls/")
	channel, _, _ := strings.Cut(rest, "/")
	return testTokens.Mint(playback.Claims{ChannelID: channel})
}

// A blocking reload that the stream never satisfies is answered 503 after three target
// durations instead of hanging.
func TestBlockingReloadTimesOut(t *testing.T) {
	s := newServer(Config{SegmentCount: 7, SegmentMinDuration: 20 * time.Millisecond, PartMinDuration: 10 * time.Millisecond, Tokens: testTokens}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	// A stream that never sends media.
	lv, err := s.pkg.open("ch_1", stream.Tracks{H264: &stream.H264{SPS: testSPS, PPS: testPPS}}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.pkg.close("ch_1", lv)
	srv := httptest.NewServer(s)
	defer srv.Close()

	res, err := http.Get(srv.URL + "/hls/ch_1/video1_stream.m3u8?_HLS_msn=8&_HLS_part=0&token=" + tokenFor(t, "/hls/ch_1/"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", res.StatusCode)
	}
	if res.Header.Get("Retry-After") == "" || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("503 headers: Retry-After %q, Cache-Control %q", res.Header.Get("Retry-After"), res.Header.Get("Cache-Control"))
	}
	if res.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("no CORS header on HLS responses")
	}
	res, err = http.Get(srv.URL + "/hls/ch_none/index.m3u8?token=" + tokenFor(t, "/hls/ch_none/"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown channel: status %d, want 404", res.StatusCode)
	}
}
