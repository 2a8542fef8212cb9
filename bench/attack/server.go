package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/livehouse/livehouse/bench/internal/harness"
)

// env is a server with one channel live on it, and the sampler watching it.
type env struct {
	*harness.Server
	name      string // the streamer's username (the channel's)
	session   string // the streamer's sign-in token
	channelID string
	debug     string // the server's profiler address
	smp       *sampler
	cancel    context.CancelFunc
	wait      func()
}

// startLive starts a server, signs a streamer up and publishes a small looped sample with -c
// copy (so the publisher costs next to no CPU), then waits until the channel is playable
// through the URL its channel route hands out.
func startLive(name string) (*env, error) {
	file, err := sampleFile()
	if err != nil {
		return nil, err
	}
	debugAddr := harness.FreeAddr()
	s, err := harness.Start(*binPath, "LIVEHOUSE_DEBUG_ADDR="+debugAddr)
	if err != nil {
		return nil, err
	}
	e := &env{Server: s, name: name, debug: debugAddr, cancel: func() {}, wait: func() {}}
	e.smp = startSampler(s)
	var key string
	if e.session, key, e.channelID, err = registerChannel(s, name); err != nil {
		e.stop()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	pub := harness.FFmpeg("-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", file, "-c", "copy", "-f", "flv")
	if e.wait, err = pub(ctx, s, key); err != nil {
		cancel()
		e.stop()
		return nil, err
	}
	e.cancel = cancel
	if err := e.waitPlayable(); err != nil {
		e.stop()
		return nil, err
	}
	e.smp.rebase()
	return e, nil
}

// stop ends the publisher, the sampler (if still running) and the server.
func (e *env) stop() {
	e.cancel()
	e.wait()
	e.smp.stop()
	e.Server.Stop()
}

// waitPlayable polls the channel's media playlist, as its channel route points to it, until it
// lists a part.
func (e *env) waitPlayable() error {
	deadline := time.Now().Add(45 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		media, err := e.mediaURL(http.DefaultClient, "")
		if err == nil {
			var body []byte
			var status int
			status, body, err = get(http.DefaultClient, media)
			if err == nil && status == http.StatusOK && strings.Contains(string(body), "#EXT-X-PART:") {
				return nil
			}
			if err == nil {
				err = fmt.Errorf("media playlist: %d", status)
			}
		}
		last = err
		time.Sleep(200 * time.Millisecond) // polling interval
	}
	return fmt.Errorf("the stream did not become playable: %v", last)
}

// playbackURL is the playback URL the channel route gives a viewer (signed in when session is
// set), absolute; empty when it gives none.
func (e *env) playbackURL(c *http.Client, session string) (string, error) {
	var page struct {
		PlaybackURL string `json:"playbackUrl"`
		IsBanned    bool   `json:"isBanned"`
	}
	status, body, err := call(c, "GET", e.Base+"/api/channels/"+e.name, session, nil)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("channel route: %d %s", status, body)
	}
	if err := decodeJSON(body, &page); err != nil {
		return "", err
	}
	if page.PlaybackURL == "" {
		return "", nil
	}
	base, _ := url.Parse(e.Base + "/")
	u, err := base.Parse(page.PlaybackURL)
	if err != nil {
		return "", err
	}
	// The server's public URL is its own base here; keep the host we reach it at regardless.
	u.Scheme, u.Host = base.Scheme, base.Host
	return u.String(), nil
}

// mediaURL follows the channel's playback URL to its first media playlist.
func (e *env) mediaURL(c *http.Client, session string) (string, error) {
	pb, err := e.playbackURL(c, session)
	if err != nil {
		return "", err
	}
	if pb == "" {
		return "", errors.New("the channel route gave no playback URL")
	}
	return mediaPlaylist(c, pb)
}

// mediaPlaylist fetches a playlist URL and, if it is a multivariant playlist, returns the
// URL of its first variant (carrying the playlist's query when the variant's URI has none,
// as a playback token must go on every request).
func mediaPlaylist(c *http.Client, playlist string) (string, error) {
	res, err := c.Get(playlist)
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %d", playlist, res.StatusCode)
	}
	final := res.Request.URL
	text := string(body)
	if !strings.Contains(text, "#EXT-X-STREAM-INF") {
		return final.String(), nil
	}
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, "#EXT-X-STREAM-INF") {
			for _, next := range lines[i+1:] {
				if next = strings.TrimSpace(next); next != "" && !strings.HasPrefix(next, "#") {
					return resolve(final, next), nil
				}
			}
		}
	}
	return "", fmt.Errorf("%s lists no variant", playlist)
}

// resolve makes ref absolute against base and gives it base's query if it has none of its own
// (without blocking-reload parameters).
func resolve(base *url.URL, ref string) string {
	u, err := base.Parse(ref)
	if err != nil {
		return base.String()
	}
	if u.RawQuery == "" {
		q := base.Query()
		q.Del("_HLS_msn")
		q.Del("_HLS_part")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// sampleFile is a pre-encoded 426x240 15 fps H.264 + AAC clip with 2 s keyframes, made once.
func sampleFile() (string, error) {
	path := filepath.Join(os.TempDir(), "livehouse-attack-240p.flv")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	sampleOnce.Do(func() {
		tmp := path + fmt.Sprintf(".%d.flv", os.Getpid())
		out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
			"-f", "lavfi", "-i", "testsrc2=size=426x240:rate=15", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
			"-t", "20", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "300k", "-g", "30", "-keyint_min", "30", "-sc_threshold", "0",
			"-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", tmp).CombinedOutput()
		if err != nil {
			sampleErr = fmt.Errorf("encoding the sample: %v: %s", err, out)
			return
		}
		sampleErr = os.Rename(tmp, path)
	})
	return path, sampleErr
}

var (
	sampleOnce sync.Once
	sampleErr  error
)

// sampler watches the server's resident memory and open descriptors.
type sampler struct {
	s       *harness.Server
	mu      sync.Mutex
	rss0    float64
	fd0     int
	rssPeak float64
	fdPeak  int
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

func startSampler(s *harness.Server) *sampler {
	m := &sampler{s: s, done: make(chan struct{}), stopped: make(chan struct{})}
	m.rebase()
	go func() {
		defer close(m.stopped)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-m.done:
				return
			case <-t.C:
			}
			rss, fds := s.RSSKiB(), s.FDs()
			m.mu.Lock()
			m.rssPeak, m.fdPeak = max(m.rssPeak, rss), max(m.fdPeak, fds)
			m.mu.Unlock()
		}
	}()
	return m
}

// rebase takes the server's present figures as the baseline and the peaks.
func (m *sampler) rebase() {
	rss, fds := m.s.RSSKiB(), m.s.FDs()
	m.mu.Lock()
	m.rss0, m.fd0, m.rssPeak, m.fdPeak = rss, fds, rss, fds
	m.mu.Unlock()
}

// growthMiB is how far the peak RSS is above the baseline so far.
func (m *sampler) growthMiB() float64 {
	rss := m.s.RSSKiB()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rssPeak = max(m.rssPeak, rss)
	return (m.rssPeak - m.rss0) / 1024
}

// peakFDs is the most descriptors seen so far.
func (m *sampler) peakFDs() int {
	fds := m.s.FDs()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fdPeak = max(m.fdPeak, fds)
	return m.fdPeak
}

// stop ends the sampling and returns the baseline and the peaks, with the server's fd limit.
func (m *sampler) stop() (rss0, rssPeak float64, fd0, fdPeak, fdLimit int) {
	m.once.Do(func() { close(m.done) })
	<-m.stopped
	limit := m.s.FDLimit()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rss0, m.rssPeak, m.fd0, m.fdPeak, limit
}
