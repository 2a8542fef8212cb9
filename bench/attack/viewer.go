package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/livehouse/livehouse/bench/internal/harness"
)

// maxGap is the longest a served viewer waits for an answer (about two target durations).
const maxGap = 5 * time.Second

// viewer is a normal viewer of the live channel: an LL-HLS player and a chat reader, with the
// streamer sending one chat message a second for it to read.
type viewer struct {
	e      *env
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	start  time.Time

	hlsOK, hlsFailed int
	hlsFirstFail     string
	hlsLast          time.Time
	hlsGap           time.Duration

	pingsSent     int
	pingsGot      int
	pingTop       int
	chatLast      time.Time
	chatGap       time.Duration
	chatFailed    int
	chatFirstFail string
	chatConnects  int
}

// viewerReport is what the viewer saw.
type viewerReport struct {
	served bool
	detail string
}

func (v viewerReport) text() string {
	if v.detail == "" {
		return "—"
	}
	if v.served {
		return "served: " + v.detail
	}
	return "NOT served: " + v.detail
}

func startViewer(e *env) *viewer {
	v := &viewer{e: e, start: time.Now()}
	v.hlsLast, v.chatLast = v.start, v.start
	v.ctx, v.cancel = context.WithCancel(context.Background())
	for _, f := range []func(){v.play, v.chatSender, v.chatReader} {
		v.wg.Go(func() {
			for v.ctx.Err() == nil {
				guard(f) // a panic restarts it
			}
		})
	}
	return v
}

func (v *viewer) stop() viewerReport {
	v.cancel()
	v.wg.Wait()
	v.mu.Lock()
	defer v.mu.Unlock()
	now := time.Now()
	hlsGap, chatGap := max(v.hlsGap, now.Sub(v.hlsLast)), max(v.chatGap, now.Sub(v.chatLast))
	served := v.hlsFailed == 0 && v.chatFailed == 0 && hlsGap <= maxGap && chatGap <= maxGap && v.hlsOK > 0
	d := fmt.Sprintf("HLS %d ok, %d failed, max gap %.1f s; chat %d of %d messages, max gap %.1f s, %d failed connects",
		v.hlsOK, v.hlsFailed, hlsGap.Seconds(), v.pingsGot, v.pingsSent, chatGap.Seconds(), v.chatFailed)
	if v.hlsFirstFail != "" {
		d += " (first HLS failure: " + v.hlsFirstFail + ")"
	}
	if v.chatFirstFail != "" {
		d += " (first chat failure: " + v.chatFirstFail + ")"
	}
	return viewerReport{served: served, detail: d}
}

// hls records one player request.
func (v *viewer) hls(ok bool, what string) {
	if v.ctx.Err() != nil {
		return // cut short by stop, not by the server
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if !ok {
		v.hlsFailed++
		if v.hlsFirstFail == "" {
			v.hlsFirstFail = fmt.Sprintf("%s at +%.1f s", what, time.Since(v.start).Seconds())
		}
		return
	}
	now := time.Now()
	v.hlsOK++
	v.hlsGap = max(v.hlsGap, now.Sub(v.hlsLast))
	v.hlsLast = now
}

// play follows the media playlist at its live edge with blocking reloads and fetches every
// newly listed part, as hls.js in low-latency mode does. It asks the channel route for a fresh
// playback URL every 45 s (a playback token lives for minutes), and drops its idle
// connections every 5 s, so that it keeps needing new ones as a new viewer would.
func (v *viewer) play() {
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	c := &http.Client{Timeout: 20 * time.Second, Transport: tr}
	defer tr.CloseIdleConnections()
	var media string
	var refreshed, dropped time.Time
	msn, part := -1, 0
	lastURI := ""
	for v.ctx.Err() == nil {
		if time.Since(dropped) > 5*time.Second {
			tr.CloseIdleConnections()
			dropped = time.Now()
		}
		if media == "" || time.Since(refreshed) > 45*time.Second {
			m, err := v.e.mediaURL(c, "")
			v.hls(err == nil, fmt.Sprint("playback URL: ", err))
			if err != nil {
				v.pause(200 * time.Millisecond)
				continue
			}
			media, refreshed = m, time.Now()
		}
		q := media
		if msn >= 0 {
			u, _ := url.Parse(media)
			qs := u.Query()
			qs.Set("_HLS_msn", strconv.Itoa(msn))
			qs.Set("_HLS_part", strconv.Itoa(part))
			u.RawQuery = qs.Encode()
			q = u.String()
		}
		req, _ := http.NewRequestWithContext(v.ctx, "GET", q, nil)
		status, body, err := do(c, req)
		ok := err == nil && status == http.StatusOK
		v.hls(ok, fmt.Sprintf("playlist: %d %v", status, err))
		if !ok {
			if status == http.StatusUnauthorized || status == http.StatusForbidden {
				media = "" // a token that has run out: ask for a new one
			}
			msn = -1
			v.pause(200 * time.Millisecond)
			continue
		}
		next, nextPart, _, uri, listed := harness.NextPart(string(body))
		if !listed {
			msn = -1
			v.pause(100 * time.Millisecond)
			continue
		}
		if uri != lastURI && msn >= 0 {
			base, _ := url.Parse(media)
			req, _ := http.NewRequestWithContext(v.ctx, "GET", resolve(base, uri), nil)
			status, _, err := do(c, req)
			v.hls(err == nil && status == http.StatusOK, fmt.Sprintf("part: %d %v", status, err))
		}
		lastURI, msn, part = uri, next, nextPart
	}
}

func do(c *http.Client, req *http.Request) (int, []byte, error) {
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, body, err
}

// pause waits d or until the viewer stops.
func (v *viewer) pause(d time.Duration) {
	select {
	case <-v.ctx.Done():
	case <-time.After(d):
	}
}

// chatFail records a chat failure.
func (v *viewer) chatFail(what string, err error) {
	if v.ctx.Err() != nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.chatFailed++
	if v.chatFirstFail == "" {
		v.chatFirstFail = fmt.Sprintf("%s: %v at +%.1f s", what, err, time.Since(v.start).Seconds())
	}
}

// chatSender is the streamer, saying "ping-N" once a second on its own connection.
func (v *viewer) chatSender() {
	for n := 0; v.ctx.Err() == nil; {
		tok, err := chatToken(http.DefaultClient, v.e, v.e.session)
		if err != nil {
			v.chatFail("streamer's token", err)
			v.pause(time.Second)
			continue
		}
		c, err := dialChat(v.ctx, v.e, tok, nil, 0)
		if err != nil {
			v.chatFail("streamer's socket", err)
			v.pause(time.Second)
			continue
		}
		readDone := make(chan struct{})
		go func() { // its own echoes and errors
			defer close(readDone)
			for {
				if _, _, err := c.read(); err != nil {
					return
				}
			}
		}()
		t := time.NewTicker(time.Second)
		for v.ctx.Err() == nil {
			select {
			case <-v.ctx.Done():
			case <-readDone:
				v.chatFail("streamer's socket", fmt.Errorf("closed by the server"))
			case <-t.C:
				n++
				if err := c.send("ping-"+strconv.Itoa(n), "ping-"+strconv.Itoa(n), nil); err != nil {
					v.chatFail("streamer's send", err)
				} else {
					v.mu.Lock()
					v.pingsSent++
					v.mu.Unlock()
				}
				continue
			}
			break
		}
		t.Stop()
		c.Close()
		<-readDone
	}
}

// chatReader is an anonymous viewer reading the room, with a fresh token and socket every
// 15 s.
func (v *viewer) chatReader() {
	for v.ctx.Err() == nil {
		tok, err := chatToken(http.DefaultClient, v.e, "")
		if err != nil {
			v.chatFail("reader's token", err)
			v.pause(time.Second)
			continue
		}
		c, err := dialChat(v.ctx, v.e, tok, nil, 0)
		if err != nil {
			v.chatFail("reader's socket", err)
			v.pause(time.Second)
			continue
		}
		v.mu.Lock()
		v.chatConnects++
		v.mu.Unlock()
		rotate := time.AfterFunc(15*time.Second, func() { c.Close() })
		stopped := context.AfterFunc(v.ctx, func() { c.Close() })
		t0 := time.Now()
		for {
			f, _, err := c.read()
			if err != nil {
				if time.Since(t0) < 15*time.Second {
					v.chatFail("reader's socket", err)
				}
				break
			}
			n, ok := strings.CutPrefix(f.Content, "ping-")
			if f.Type != "MESSAGE" || !ok {
				continue
			}
			if k, err := strconv.Atoi(n); err == nil {
				v.mu.Lock()
				if k > v.pingTop { // history replays earlier ones to a new socket
					now := time.Now()
					v.pingTop = k
					v.pingsGot++
					v.chatGap = max(v.chatGap, now.Sub(v.chatLast))
					v.chatLast = now
				}
				v.mu.Unlock()
			}
		}
		rotate.Stop()
		stopped()
		c.Close()
	}
}
