package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/playback"
	"github.com/livehouse/livehouse/internal/viewers"
)

// TestCheckPlaybackToken: an /hls/ request with a bad token is refused before the HLS
// handler sees it; a good one reaches it without the token.
func TestCheckPlaybackToken(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	signer, err := playback.NewSigner(make([]byte, 32), clock)
	if err != nil {
		t.Fatal(err)
	}
	views := viewers.NewService(viewers.New(viewers.Config{Node: "a"}, clock, nil), signer, nil, 0, clock)
	var seen []string
	h := checkPlaybackToken(views, slog.New(slog.DiscardHandler), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.RequestURI())
	}))
	good := views.Grant("ch1", "").Token
	expired := signer.Mint(playback.Claims{ChannelID: "ch1", Expires: now})
	for _, tc := range []struct {
		name, target string
		status       int
		passed       string // what the HLS handler got, "" when refused
	}{
		{"good token", "/hls/ch1/video1_stream.m3u8?_HLS_msn=5&_HLS_part=1&token=" + good, 200, "/hls/ch1/video1_stream.m3u8?_HLS_msn=5&_HLS_part=1"},
		{"good token, rung", "/hls/ch1/360p/seg3.mp4?token=" + good, 200, "/hls/ch1/360p/seg3.mp4"},
		{"another channel's token", "/hls/ch2/index.m3u8?token=" + good, 403, ""},
		{"expired token", "/hls/ch1/seg3.mp4?token=" + expired, 403, ""},
		{"forged token", "/hls/ch1/seg3.mp4?token=abc.def", 403, ""},
		{"empty token", "/hls/ch1/seg3.mp4?token=", 403, ""},
		{"no token (for now)", "/hls/ch1/index.m3u8", 200, "/hls/ch1/index.m3u8"},
	} {
		seen = nil
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", tc.target, nil))
		body, _ := io.ReadAll(w.Body)
		if w.Code != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, w.Code, tc.status, body)
		}
		got := ""
		if len(seen) == 1 {
			got = seen[0]
		}
		if got != tc.passed || len(seen) > 1 {
			t.Errorf("%s: the HLS handler got %q, want %q", tc.name, seen, tc.passed)
		}
		if tc.status == 403 && (w.Header().Get("Access-Control-Allow-Origin") != "*" || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json")) {
			t.Errorf("%s: refusal headers %v", tc.name, w.Header())
		}
	}
}
