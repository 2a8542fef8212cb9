package hls

import (
	"bufio"
	"context"
	"fmt"
	"github.com/livehouse/livehouse/internal/media/llhls/validate"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/playback"
)

// liveChannel opens channel "ch" and packages 6 s of video (keyframes every second) into it:
// a live stream with complete segments, parts and a preload hint.
func liveChannel(tb testing.TB) (*Server, *live) {
	tb.Helper()
	s, lv := openVideo(tb, Config{SegmentCount: 7, SegmentMinDuration: time.Second, PartMinDuration: 200 * time.Millisecond}, false)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 180 {
		pts, au, key := frame(i, 30)
		d := time.Duration(pts) * time.Second / videoClock
		if err := lv.write(&stream.Unit{Kind: stream.Video, PTS: d, NTP: t0.Add(d), Payload: au, Key: key}); err != nil {
			tb.Fatal(err)
		}
	}
	return s, lv
}

// do serves one request for path (which may carry a query) with a token for channel "ch"
// added to the query, unless token is false.
func do(tb testing.TB, s *Server, path string, token bool) *httptest.ResponseRecorder {
	tb.Helper()
	u, err := url.Parse(path)
	if err != nil {
		panic(err)
	}
	if token {
		q := u.Query()
		q.Set(playback.Param, testTokens.Mint(playback.Claims{ChannelID: "ch"}))
		u.RawQuery = q.Encode()
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.URL = u
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req.WithContext(ctx))
	if rec.Code == http.StatusOK {
		checkerFor(tb).Playlist(u.Path, rec.Body.Bytes())
	}
	return rec
}

var partURIRE = regexp.MustCompile(`URI="([^"]+_part\d+\.mp4)"`)

// pathCases are requests and their statuses on liveChannel, shared with FuzzServeHTTP's seeds.
var pathCases = []struct {
	name, path string
	want       int
}{
	{"multivariant", "/hls/ch/index.m3u8", 200},
	{"media playlist", "/hls/ch/video1_stream.m3u8", 200},
	{"escape that decodes to an invalid URL", "/hls/ch/x%25zz.m3u8", 404},
	{"NUL in the name", "/hls/ch/a%00b.m3u8", 404},
	{"unknown playlist of the right shape", "/hls/ch/video9_stream.m3u8", 404},
	{"another stream's playlist name", "/hls/ch/audio2_stream.m3u8", 404},
	{"long name", "/hls/ch/" + strings.Repeat("a", 200) + ".m3u8", 404},
	{"traversal", "/hls/ch/../ch/index.m3u8", 404},
	{"unknown rendition", "/hls/ch/720p/video1_stream.m3u8", 404},
	{"too deep", "/hls/ch/a/b/index.m3u8", 404},
	{"no file", "/hls/ch/", 404},
	{"other extension", "/hls/ch/index.html", 404},
	{"part of the right shape that does not exist", "/hls/ch/0123456789ab_video1_part999.mp4", 404},
	{"gap", "/hls/ch/gap.mp4", 404},
	{"bad _HLS_msn", "/hls/ch/video1_stream.m3u8?_HLS_msn=x", 400},
	{"_HLS_part alone", "/hls/ch/video1_stream.m3u8?_HLS_part=1", 400},
	{"msn far ahead", "/hls/ch/video1_stream.m3u8?_HLS_msn=99999", 400},
	{"negative msn", "/hls/ch/video1_stream.m3u8?_HLS_msn=-1", 400},
	{"msn before the window", "/hls/ch/video1_stream.m3u8?_HLS_msn=0&_HLS_part=0", 200},
	{"delta update", "/hls/ch/video1_stream.m3u8?_HLS_skip=YES", 200},
	{"bad _HLS_skip", "/hls/ch/video1_stream.m3u8?_HLS_skip=NO", 400},
	{"not live here", "/hls/other/index.m3u8", 403}, // the token is for "ch"
}

// TestServeHTTPChecksNames is issue 15's crash: a name that decodes to an invalid URL, or
// holds a NUL, killed the process from a gohlslib goroutine. Every name is now checked against
// what the stream serves before anything is made for it.
func TestServeHTTPChecksNames(t *testing.T) {
	s, lv := liveChannel(t)
	for _, tt := range pathCases {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, s, tt.path, true)
			if rec.Code != tt.want {
				t.Errorf("GET %s: %d %q, want %d", tt.path, rec.Code, rec.Body.String(), tt.want)
			}
			if rec.Code != 200 && rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("GET %s: %d with Cache-Control %q, want no-store", tt.path, rec.Code, rec.Header().Get("Cache-Control"))
			}
		})
	}
	lv.mu.Lock()
	defer lv.mu.Unlock()
	if len(lv.edges) != 1 || lv.edges["video1_stream.m3u8"] == nil {
		t.Errorf("followers for %d playlists, want only video1_stream.m3u8", len(lv.edges))
	}
}

// TestManyNamesMakeNoState: 3,000 distinct playlist names used to start a follower each, kept
// for the stream's life (232 MB). Now they make no follower and the heap stays put.
func TestManyNamesMakeNoState(t *testing.T) {
	s, lv := liveChannel(t)
	do(t, s, "/hls/ch/video1_stream.m3u8", true) // the one real follower
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()
	for i := range 3000 {
		path := "/hls/ch/video" + strconv.Itoa(i) + strings.Repeat("x", 40) + "_stream.m3u8"
		if rec := do(t, s, path, true); rec.Code != 404 {
			t.Fatalf("GET %s: %d", path, rec.Code)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 2<<20 {
		t.Errorf("the heap grew by %d bytes after 3,000 unknown names", grown)
	}
	if n := runtime.NumGoroutine(); n > goroutines+5 {
		t.Errorf("goroutines: %d before, %d after", goroutines, n)
	}
	lv.mu.Lock()
	defer lv.mu.Unlock()
	if len(lv.edges) != 1 {
		t.Errorf("followers: %d, want 1", len(lv.edges))
	}
}

// TestServeHTTPThroughAServer sends the crash paths over a real connection: the process
// lives (a panic in any goroutine would end this test binary) and answers 404.
func TestServeHTTPThroughAServer(t *testing.T) {
	s, _ := liveChannel(t)
	srv := httptest.NewServer(s)
	defer srv.Close()
	token := testTokens.Mint(playback.Claims{ChannelID: "ch"})
	for _, raw := range []string{"/hls/ch/x%25zz.m3u8", "/hls/ch/a%00.m3u8", "/hls/ch/%zz.m3u8"} {
		// Written by hand: the client would refuse to send some of these.
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s?token=%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", raw, token)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		conn.Close()
		if res.StatusCode != 404 && res.StatusCode != 400 {
			t.Errorf("GET %s: %d", raw, res.StatusCode)
		}
	}
	res, err := http.Get(srv.URL + "/hls/ch/video1_stream.m3u8?token=" + token)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("the stream after the attempts: %d", res.StatusCode)
	}
}

// TestPlaybackTokens: every request needs a valid token for the channel, in the query or as a
// bearer token; playlists never carry it.
func TestPlaybackTokens(t *testing.T) {
	s, _ := liveChannel(t)
	expired := testTokens.Mint(playback.Claims{ChannelID: "ch", Expires: time.Now().Add(-time.Second)})
	tests := []struct {
		name, query, header string
		want                int
	}{
		{"none", "", "", 403},
		{"forged", "token=abc.def", "", 403},
		{"another channel's", "token=" + testTokens.Mint(playback.Claims{ChannelID: "other"}), "", 403},
		{"expired", "token=" + expired, "", 403},
		{"in the query", "token=" + testTokens.Mint(playback.Claims{ChannelID: "ch"}), "", 200},
		{"as a bearer token", "", "Bearer " + testTokens.Mint(playback.Claims{ChannelID: "ch"}), 200},
	}
	for _, tt := range tests {
		for _, file := range []string{"index.m3u8", "video1_stream.m3u8"} {
			req := httptest.NewRequest(http.MethodGet, "/hls/ch/"+file+"?"+tt.query, nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("%s, %s: %d, want %d", tt.name, file, rec.Code, tt.want)
			}
			if rec.Code == 403 && rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("%s: 403 with Cache-Control %q", tt.name, rec.Header().Get("Cache-Control"))
			}
			if rec.Code == 200 && strings.Contains(rec.Body.String(), "token") {
				t.Errorf("%s: the playlist carries the token:\n%s", file, rec.Body)
			}
		}
	}
}

// TestTokenCheck: a request with TokenCheckHeader only checks the token, for any file of the
// channel (an edge's auth subrequest carries the viewer's URL).
func TestTokenCheck(t *testing.T) {
	s, lv := liveChannel(t)
	good := testTokens.Mint(playback.Claims{ChannelID: "ch"})
	tests := []struct {
		path string
		want int
	}{
		{"/hls/ch/video1_stream.m3u8?_HLS_msn=9&_HLS_part=1&token=" + good, 204},
		{"/hls/ch/anything-at-all.mp4?token=" + good, 204},
		{"/hls/ch/video1_stream.m3u8?token=forged", 403},
		{"/hls/other/index.m3u8?token=" + good, 403},
		{"/hls/ch/index.m3u8", 403},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodGet, tt.path, nil)
		req.Header.Set(TokenCheckHeader, "1")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != tt.want || rec.Body.Len() > 0 && rec.Code == 204 {
			t.Errorf("check %s: %d, want %d", tt.path, rec.Code, tt.want)
		}
	}
	lv.mu.Lock()
	defer lv.mu.Unlock()
	if len(lv.edges) != 0 {
		t.Errorf("token checks started %d followers", len(lv.edges))
	}
}

// TestCacheControl: each artifact says how long a shared cache may keep it.
func TestCacheControl(t *testing.T) {
	s, _ := liveChannel(t)
	pl := do(t, s, "/hls/ch/video1_stream.m3u8", true).Body.String()
	st, ok := parseState([]byte(pl))
	parts := partURIRE.FindAllStringSubmatch(pl, -1)
	init := regexp.MustCompile(`#EXT-X-MAP:URI="([^"]+)"`).FindStringSubmatch(pl)
	segs := regexp.MustCompile(`(?m)^(\S+_seg\d+\.mp4)$`).FindAllString(pl, -1)
	if !ok || len(parts) == 0 || init == nil || len(segs) == 0 {
		t.Fatalf("playlist without parts, init or segments:\n%s", pl)
	}
	blocking := "/hls/ch/video1_stream.m3u8?_HLS_msn=" + strconv.Itoa(st.cur) + "&_HLS_part=" + strconv.Itoa(st.curParts-1)
	tests := []struct{ path, want string }{
		{"/hls/ch/index.m3u8", "public, max-age=1"},
		{"/hls/ch/video1_stream.m3u8", "public, max-age=1"},
		{blocking, "public, max-age=" + strconv.Itoa(3*int(st.target.Seconds()))},
		{"/hls/ch/" + parts[0][1], "public, max-age=3600, immutable"},
		{"/hls/ch/" + segs[0], "public, max-age=3600, immutable"},
		{"/hls/ch/" + init[1], "public, max-age=3600, immutable"},
		{"/hls/ch/video9_stream.m3u8", "no-store"},
		{"/hls/ch/video1_stream.m3u8?_HLS_part=1", "no-store"},
	}
	for _, tt := range tests {
		rec := do(t, s, tt.path, true)
		if got := rec.Header().Get("Cache-Control"); got != tt.want {
			t.Errorf("GET %s: %d, Cache-Control %q, want %q", tt.path, rec.Code, got, tt.want)
		}
	}
}

// FuzzServeHTTP sends arbitrary paths and queries to the HLS handler of a live stream: it
// never panics, answers one of the statuses it documents, and never stores an error.
func FuzzServeHTTP(f *testing.F) {
	for _, tt := range pathCases {
		path, query, _ := strings.Cut(tt.path, "?")
		f.Add(path, query, true)
	}
	f.Add("/hls/ch/video1_stream.m3u8", "_HLS_msn=9&_HLS_part=99", false)
	s, _ := liveChannel(f)
	f.Fuzz(func(t *testing.T, path, query string, token bool) {
		if token {
			q := url.Values{playback.Param: {testTokens.Mint(playback.Claims{ChannelID: "ch"})}}.Encode()
			if query != "" {
				q += "&" + query
			}
			query = q
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL = &url.URL{Path: path, RawQuery: query}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req.WithContext(ctx))
		switch rec.Code {
		case 200, 400, 403, 404, 503:
		default:
			t.Fatalf("GET %q ? %q: status %d", path, query, rec.Code)
		}
		if rec.Code != 200 && rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("GET %q ? %q: %d with Cache-Control %q", path, query, rec.Code, rec.Header().Get("Cache-Control"))
		}
	})
}

// checkers hold each test's playlist checker: every media playlist a test fetches is checked
// against the LL-HLS rules, and each reload against the one before.
var checkers sync.Map // testing.TB → *validate.Checker

func checkerFor(tb testing.TB) *validate.Checker {
	if c, ok := checkers.Load(tb); ok {
		return c.(*validate.Checker)
	}
	c, loaded := checkers.LoadOrStore(tb, validate.NewChecker(tb))
	if !loaded {
		tb.Cleanup(func() { checkers.Delete(tb) })
	}
	return c.(*validate.Checker)
}

// newServer returns the HTTP handler of a packager of its own, both on cfg.
func newServer(cfg Config, log *slog.Logger) *Server {
	return NewServer(cfg, NewPackager(cfg, log, nil), log, nil)
}

var hintRE = regexp.MustCompile(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"`)

// TestHintedPartWhileTheEncoderIsAway: a stream whose encoder has gone quiet (dropped, within
// the reconnect grace period) is still live; the part its playlist hints at comes when the
// encoder is back. A player asking for it meanwhile is told to retry (503, Retry-After) after
// the wait, as a blocking reload is, not that it does not exist: hls.js gives up on a 404 for
// a part (a 4xx is never retried) and the viewer sees "The stream could not be loaded." Once
// the stream has ended the part will never come: 404.
func TestHintedPartWhileTheEncoderIsAway(t *testing.T) {
	s, lv := liveChannel(t)
	pl := do(t, s, "/hls/ch/video1_stream.m3u8", true).Body.String()
	hint := hintRE.FindStringSubmatch(pl)
	if hint == nil {
		t.Fatalf("no preload hint in:\n%s", pl)
	}
	rec := do(t, s, "/hls/ch/"+hint[1], true) // nothing more is written: it waits blockLimit
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("GET the hinted part of a quiet stream: %d, Retry-After %q, Cache-Control %q; want 503, a Retry-After, no-store",
			rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("Cache-Control"))
	}
	if rec := do(t, s, "/hls/ch/0123456789ab_video1_part999.mp4", true); rec.Code != http.StatusNotFound {
		t.Errorf("GET a part that is not the hint: %d, want 404", rec.Code)
	}

	s.pkg.close("ch", lv)
	if rec := do(t, s, "/hls/ch/"+hint[1], true); rec.Code != http.StatusNotFound {
		t.Errorf("GET the hinted part after the stream ended: %d %q, want 404", rec.Code, rec.Body.String())
	}
}
