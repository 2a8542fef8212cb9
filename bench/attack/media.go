package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livehouse/livehouse/bench/internal/harness"
)

// playbackQuery is the query a viewer's playback URL carries (its token, if any): an attacker
// gets one from the channel route like anyone, so the attacks below reach past the token check.
func playbackQuery(e *env) string {
	pb, err := e.playbackURL(http.DefaultClient, "")
	if err != nil || pb == "" {
		return ""
	}
	u, _ := url.Parse(pb)
	return u.RawQuery
}

// crashNames (1): names that decode to an invalid URL or hold a NUL, through a live channel.
// Sent as raw request lines, so they reach the server exactly as written.
func crashNames(ctx context.Context, e *env, r *result) error {
	q := playbackQuery(e)
	names := []string{"x%25zz.m3u8", "x%zz.m3u8", "x%00y.m3u8", "%00.m3u8", "a%0Ab.m3u8", "x%25zz_part1.mp4", "%2e%2e%2f%25zz.m3u8"}
	var got statuses
	for round := 0; round < 3 && ctx.Err() == nil; round++ {
		for _, name := range names {
			path := "/hls/" + e.channelID + "/" + name
			if q != "" {
				path += "?" + q
			}
			got.add(rawRequest(e.Base, "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
		}
		time.Sleep(500 * time.Millisecond) // a follower goroutine that dies does so within this
	}
	time.Sleep(2 * time.Second)
	status, _, err := get(http.DefaultClient, e.Base+"/healthz")
	alive := e.Alive() && err == nil && status == http.StatusOK
	if alive {
		r.note("%d requests answered %s; the process lives on and /healthz answers 200", got.total(), got.String())
	} else {
		r.fail("%d requests answered %s; the process is gone or /healthz fails", got.total(), got.String())
	}
	return nil
}

// rawRequest writes one request as is and returns the answer's status.
func rawRequest(base, request string) (int, error) {
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		return 0, err
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// manyNames (2): 3,000 distinct long playlist names on a live channel, with a valid playback
// token; the live heap after a collection, and the goroutines, are what they left behind.
func manyNames(ctx context.Context, e *env, r *result) error {
	q := playbackQuery(e)
	heap0 := e.LiveHeap(e.debug)
	g0, _ := harness.Metric(e.Base, "go_goroutines")
	var got statuses
	c := clientFrom(src(20, 0))
	defer c.CloseIdleConnections()
	c.Timeout = 10 * time.Second
	// The names: long made-up ones, and the real media playlist's name followed by an encoded
	// "?" or "#" and a long tail, which decode to a name ending in .m3u8 that a URL parser
	// downstream may cut back to the real one.
	media, err := e.mediaURL(http.DefaultClient, "")
	if err != nil {
		return err
	}
	mu, _ := url.Parse(media)
	real := path.Base(mu.Path)
	parallel(ctx, 3000, 16, func(i int) {
		tail := fmt.Sprintf("%s-%04d.m3u8", strings.Repeat("n", 200), i)
		name := [...]string{tail, real + "%3F" + tail, real + "%23" + tail}[i%3]
		u := e.Base + "/hls/" + e.channelID + "/" + name
		if q != "" {
			u += "?" + q
		}
		status, _, err := get(c, u)
		got.add(status, err)
	})
	c.CloseIdleConnections()
	heap1 := e.LiveHeap(e.debug)
	g1, _ := harness.Metric(e.Base, "go_goroutines")
	grew := (heap1 - heap0) / (1 << 20)
	r.check(grew < 20 && g1-g0 < 300, "%d requests answered %s; live heap after GC %+.0f MiB (bound 20), goroutines %+.0f (bound 300)",
		got.total(), got.String(), grew, g1-g0)
	return nil
}

// rtmpPreAuth (7): 104 RTMP connections complete the handshake, then each sends one 10 MiB
// message before any connect or publish (so before any stream key).
func rtmpPreAuth(ctx context.Context, e *env, r *result) error {
	const conns, size = 104, 10 << 20
	var handshaken, refused, sentAll, closedEarly atomic.Int64
	var firstErr atomic.Value
	open := make([]net.Conn, conns)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src(70, i)}, Timeout: 10 * time.Second}
			c, err := d.DialContext(ctx, "tcp", e.RTMP)
			if err != nil {
				refused.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				return
			}
			open[i] = c
			c.SetDeadline(time.Now().Add(30 * time.Second))
			if err := rtmpHandshake(c); err != nil {
				refused.Add(1)
				firstErr.CompareAndSwap(nil, "handshake: "+err.Error())
				return
			}
			handshaken.Add(1)
			if err := rtmpBigMessage(c, size); err != nil {
				closedEarly.Add(1)
				firstErr.CompareAndSwap(nil, "sending: "+err.Error())
				return
			}
			sentAll.Add(1)
		})
	}
	wg.Wait()
	time.Sleep(3 * time.Second) // the server holds what it buffered; the sampler sees it
	growth := e.smp.growthMiB()
	// Which connections does the server close within 15 s of their last byte?
	var closed atomic.Int64
	var cw sync.WaitGroup
	for _, c := range open {
		if c == nil {
			continue
		}
		cw.Go(func() {
			c.SetReadDeadline(time.Now().Add(15 * time.Second))
			buf := make([]byte, 4096)
			for {
				if _, err := c.Read(buf); err != nil {
					var ne net.Error
					if !(errors.As(err, &ne) && ne.Timeout()) {
						closed.Add(1)
					}
					return
				}
			}
		})
	}
	cw.Wait()
	for _, c := range open {
		if c != nil {
			c.Close()
		}
	}
	fe, _ := firstErr.Load().(string)
	r.check(growth < 2*conns, "%d connections: %d handshaken, %d refused, %d sent all 10 MiB, %d cut off while sending, %d closed by the server (within 15 s of the last byte); RSS %+.0f MiB (bound %d: 2 MiB a connection)",
		conns, handshaken.Load(), refused.Load(), sentAll.Load(), closedEarly.Load(), closed.Load(), growth, 2*conns)
	if fe != "" {
		r.note("first error seen: %.120s", fe)
	}
	return nil
}

// rtmpHandshake does the plain RTMP handshake as a client.
func rtmpHandshake(c net.Conn) error {
	c1 := make([]byte, 1+1536)
	c1[0] = 3
	rand.Read(c1[9:])
	if _, err := c.Write(c1); err != nil {
		return err
	}
	s := make([]byte, 1+1536+1536)
	if _, err := io.ReadFull(c, s); err != nil {
		return err
	}
	_, err := c.Write(s[1 : 1+1536]) // C2 echoes S1
	return err
}

// rtmpBigMessage raises the chunk size to 64 KiB and sends one video message of size bytes on
// message stream 1 (no connect, no publish, no key).
func rtmpBigMessage(c net.Conn, size int) error {
	const chunk = 65536
	setChunk := []byte{0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0}
	setChunk = binary.BigEndian.AppendUint32(setChunk, chunk)
	if _, err := c.Write(setChunk); err != nil {
		return err
	}
	hdr := []byte{0x06, 0, 0, 0, byte(size >> 16), byte(size >> 8), byte(size), 9, 1, 0, 0, 0}
	if _, err := c.Write(hdr); err != nil {
		return err
	}
	payload := make([]byte, chunk)
	rand.Read(payload)
	for sent := 0; sent < size; sent += chunk {
		if sent > 0 {
			if _, err := c.Write([]byte{0xC6}); err != nil { // fmt 3 on chunk stream 6
				return err
			}
		}
		if _, err := c.Write(payload[:min(chunk, size-sent)]); err != nil {
			return err
		}
	}
	return nil
}

// bans (8): a signed-in viewer gets its playback URL and chat token, opens a chat socket, and
// is banned; then it tries to play with and without a token, to use the old chat token, and
// the old socket.
func bans(ctx context.Context, e *env, r *result) error {
	c := clientFrom(src(80, 0))
	defer c.CloseIdleConnections()
	victim, err := register(c, e.Server, "banned01", "banned01@attack.example")
	if err != nil {
		return err
	}
	pbBefore, err := e.playbackURL(c, victim)
	if err != nil {
		return err
	}
	oldToken, err := chatToken(c, e, victim)
	if err != nil {
		return err
	}
	sockToken, err := chatToken(c, e, victim)
	if err != nil {
		return err
	}
	sock, err := dialChat(ctx, e, sockToken, src(80, 0), 0)
	if err != nil {
		return fmt.Errorf("viewer's socket before the ban: %w", err)
	}
	defer sock.Close()
	status, body, err := call(http.DefaultClient, "PUT", e.Base+"/api/channels/"+e.name+"/bans/banned01", e.session, nil)
	if err != nil || status >= 300 {
		return fmt.Errorf("ban: %d %s %v", status, body, err)
	}

	// The channel route hands the banned viewer no playback URL.
	pbAfter, err := e.playbackURL(c, victim)
	switch {
	case err != nil:
		r.fail("channel route for the banned viewer: %v", err)
	case pbAfter != "":
		r.fail("the channel route still hands the banned viewer a playback URL")
	default:
		r.note("the channel route hands the banned viewer no playback URL")
	}

	// Without a token: the bare playlist URLs every channel id opens.
	var bare statuses
	for _, name := range []string{"index.m3u8", "video1_stream.m3u8"} {
		req, _ := http.NewRequest("GET", e.Base+"/hls/"+e.channelID+"/"+name, nil)
		req.Header.Set("Authorization", "Bearer "+victim)
		status, _, err := do(c, req)
		bare.add(status, err)
	}
	r.check(bare.count("200") == 0, "playlists without a token: %s", bare.String())

	// With the token minted before the ban (tokens are short-lived by design; shown, not judged).
	if pbBefore != "" {
		u, _ := url.Parse(pbBefore)
		if u.Query().Get("token") == "" {
			r.note("the pre-ban playback URL carries no token")
		} else {
			media, err := mediaPlaylist(c, pbBefore)
			status := 0
			if err == nil {
				status, _, err = get(c, media)
			}
			r.note("pre-ban playback token after the ban: %d %v (valid for its short lifetime by design)", status, errString(err))
		}
	}

	// The chat token minted before the ban.
	old, err := dialChat(ctx, e, oldToken, src(80, 0), 0)
	if err != nil {
		r.note("chat token from before the ban refused: %.80s", err.Error())
	} else {
		sent := sendAndWait(old, "after-ban", 3*time.Second)
		old.Close()
		r.fail("chat token from before the ban connected after it; a message sent on it was %s", sent)
	}

	// The socket open at the ban.
	if sock.closedWithin(5 * time.Second) {
		r.note("socket open at the ban closed by the server")
	} else {
		r.fail("socket open at the ban still open 5 s later; a message sent on it was %s", sendAndWait(sock, "open-at-ban", 3*time.Second))
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// sendAndWait sends a message and says what became of it within d.
func sendAndWait(c *chatConn, id string, d time.Duration) string {
	if err := c.send(id, id, nil); err != nil {
		return "not sent: " + err.Error()
	}
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	for {
		f, _, err := c.read()
		if err != nil {
			return "unanswered (" + err.Error() + ")"
		}
		if f.RequestID != id {
			continue
		}
		if f.Type == "MESSAGE" {
			return "delivered to the room"
		}
		return fmt.Sprintf("refused (%s %d)", f.Type, f.ErrorCode)
	}
}

// forgedViewers (9b): 3,000 made-up playback sessions, each asking for the playlist (with a
// random vt and a random token) and sending the viewing beacon with its made-up token, then
// the viewer count the channel route shows; and 1,000 real sessions minted by the channel
// route from one address, each playing once and sending its beacon.
func forgedViewers(ctx context.Context, e *env, r *result) error {
	media, err := e.mediaURL(http.DefaultClient, "")
	if err != nil {
		return err
	}
	mu, _ := url.Parse(media)
	beacon := e.Base + "/api/channels/" + e.name + "/views"
	count0 := viewerCount(e)
	c := clientFrom(src(90, 0))
	defer c.CloseIdleConnections()
	var played, beacons statuses
	parallel(ctx, 3000, 16, func(int) {
		token := randomToken(40) + "." + randomToken(32)
		u := *mu
		q := url.Values{}
		q.Set("vt", randomToken(16))
		q.Set("token", token)
		u.RawQuery = q.Encode()
		status, _, err := get(c, u.String())
		played.add(status, err)
		status, _, err = call(c, "POST", beacon, "", map[string]string{"token": token})
		beacons.add(status, err)
	})
	time.Sleep(3 * time.Second) // a count that is sampled or batched catches up
	count1 := viewerCount(e)
	r.check(count1-count0 <= 10, "3,000 made-up sessions: playlists %s, beacons %s; viewer count %d → %d (bound: +10)",
		played.String(), beacons.String(), count0, count1)

	var mplayed, mbeacons statuses
	parallel(ctx, 1000, 16, func(int) {
		pb, err := e.playbackURL(c, "")
		if err != nil || pb == "" {
			mplayed.add(0, fmt.Errorf("no playback URL: %v", err))
			return
		}
		m, err := mediaPlaylist(c, pb)
		status := 0
		if err == nil {
			status, _, err = get(c, m)
		}
		mplayed.add(status, err)
		if token := mustQuery(pb).Get("token"); token != "" {
			status, _, err := call(c, "POST", beacon, "", map[string]string{"token": token})
			mbeacons.add(status, err)
		}
	})
	time.Sleep(3 * time.Second)
	r.note("1,000 sessions minted by the channel route from one address, each playing once (%s) and sending its beacon (%s): viewer count %d (shown, not judged)",
		mplayed.String(), mbeacons.String(), viewerCount(e))
	return nil
}

// mustQuery is the query of a URL that parsed before.
func mustQuery(raw string) url.Values {
	u, err := url.Parse(raw)
	if err != nil {
		return url.Values{}
	}
	return u.Query()
}

func viewerCount(e *env) int {
	var page struct{ ViewerCount int }
	_, body, err := get(http.DefaultClient, e.Base+"/api/channels/"+e.name)
	if err != nil || decodeJSON(body, &page) != nil {
		return -1
	}
	return page.ViewerCount
}

// randomToken is n random bytes in unpadded base64url.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
