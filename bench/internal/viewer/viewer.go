// Package viewer is the benchmarks' simulated LL-HLS viewer: what hls.js does at the live
// edge of a stream, without decoding anything. The egress benchmark (bench/media) and the
// scale-out benchmark (bench/relay) both load their servers with it.
package viewer

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/livehouse/livehouse/bench/internal/harness"
)

// Viewer follows one media playlist of a channel.
type Viewer struct {
	Client *http.Client
	// Base is the channel's HLS directory, http://host/hls/{channelId}/.
	Base  string
	Token string // the viewer's playback token, sent on every request
	// Playlist is the media playlist followed; video1_stream.m3u8 when empty.
	Playlist string
	// Observe, if set, is called after every request with how long it took (blocking waits
	// included) and whether it was answered 200 with a whole body.
	Observe func(took time.Duration, ok bool)
}

// retryPause is how long the viewer waits after a failed request before it loads the
// playlist again, as a player's retry would.
const retryPause = 200 * time.Millisecond

// Play loads the media playlist, then until stop: fetches the newest listed part and holds a
// blocking reload (_HLS_msn/_HLS_part) for the part after it. After a failure it pauses
// briefly and starts again from a plain playlist load.
func (v Viewer) Play(stop time.Time) {
	playlist := v.Playlist
	if playlist == "" {
		playlist = "video1_stream.m3u8"
	}
	pl, ok := v.get(v.Base + playlist + "?token=" + v.Token)
	for time.Now().Before(stop) {
		if !ok {
			time.Sleep(retryPause)
			pl, ok = v.get(v.Base + playlist + "?token=" + v.Token)
			continue
		}
		msn, part, _, uri, listed := harness.NextPart(string(pl))
		if !listed {
			ok = false
			continue
		}
		if _, ok = v.get(v.Base + uri + "?token=" + v.Token); !ok {
			continue
		}
		pl, ok = v.get(fmt.Sprintf("%s%s?token=%s&_HLS_msn=%d&_HLS_part=%d", v.Base, playlist, v.Token, msn, part))
	}
}

func (v Viewer) get(url string) ([]byte, bool) {
	t := time.Now()
	body, ok := func() ([]byte, bool) {
		res, err := v.Client.Get(url)
		if err != nil {
			return nil, false
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return b, err == nil && res.StatusCode == http.StatusOK
	}()
	if v.Observe != nil {
		v.Observe(time.Since(t), ok)
	}
	return body, ok
}
