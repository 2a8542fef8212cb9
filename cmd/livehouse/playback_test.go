package main

import (
	"context"
	"encoding/hex"
	"net/http"
	"os/exec"
	"strings"

	"github.com/livehouse/livehouse/internal/playback"
)

// testSecret is the secret_key of the nodes the tests start (unless a test sets its own), so
// that the tests can mint the playback tokens every HLS request needs.
var testSecret = strings.Repeat("ab", 32)

var testTokens = func() *playback.Signer {
	b, _ := hex.DecodeString(testSecret)
	s, err := playback.NewSigner(b, nil)
	if err != nil {
		panic(err)
	}
	return s
}()

// hlsToken mints a viewer's token for the channel an /hls/ URL names ("" for other URLs).
func hlsToken(url string) string {
	_, rest, ok := strings.Cut(url, "/hls/")
	if !ok {
		return ""
	}
	channel, _, _ := strings.Cut(rest, "/")
	return testTokens.Mint(playback.Claims{ChannelID: channel})
}

// tokenTransport gives every /hls/ request of the tests a playback token, as the web player
// does, unless it carries one already.
type tokenTransport struct{ next http.RoundTripper }

func (t tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, "/hls/") && r.URL.Query().Get(playback.Param) == "" && r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+hlsToken(r.URL.Path))
	}
	return t.next.RoundTrip(r)
}

func init() {
	http.DefaultClient.Transport = tokenTransport{http.DefaultTransport}
}

// ffprobe runs ffprobe on an HLS URL with a playback token in a header (ffmpeg sends it on
// every request of the playlist, its media playlists and segments).
func ffprobe(ctx context.Context, url string, args ...string) *exec.Cmd {
	args = append(append([]string{"-headers", "Authorization: Bearer " + hlsToken(url) + "\r\n"}, args...), url)
	return exec.CommandContext(ctx, "ffprobe", args...)
}
