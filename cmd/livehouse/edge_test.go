package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startNginx runs the shipped edge configuration (deploy/nginx) on a free loopback port in
// front of the given nodes, as its own nginx with its own prefix.
func startNginx(t *testing.T, nodes ...string) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			t.Skip("nginx is not installed (make system-deps installs it)")
		}
		bin = "/usr/sbin/nginx"
	}
	raw, err := os.ReadFile("../../deploy/nginx/livehouse-edge.conf")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := freePort(t)
	var upstreams strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&upstreams, "server %s; ", strings.TrimPrefix(n, "http://"))
	}
	conf := strings.NewReplacer("@LISTEN@", addr, "@UPSTREAMS@", upstreams.String(), "@CACHE_DIR@", dir).Replace(string(raw))
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	global := "daemon off; master_process on;"
	if os.Geteuid() == 0 {
		global += " user root;" // the workers write the cache in this test's private directory
	}
	var logs syncBuffer
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-g", global)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); <-exited })
	waitFor(t, 10*time.Second, "nginx to listen", func() bool {
		select {
		case <-exited:
			t.Fatalf("nginx exited:\n%s", logs.String())
		default:
		}
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return "http://" + addr
}

var (
	partRE      = regexp.MustCompile(`URI="([^"]+_part\d+\.mp4)"`)
	edgeMediaRE = regexp.MustCompile(`#EXT-X-MEDIA-SEQUENCE:(\d+)`)
)

// fetch GETs url with the viewer's playback URL token (as the web player sends it) and
// returns the status, body and headers.
func fetch(t *testing.T, u, token string) (int, string, http.Header) {
	t.Helper()
	if strings.Contains(u, "?") {
		u += "&token=" + url.QueryEscape(token)
	} else {
		u += "?token=" + url.QueryEscape(token)
	}
	res, err := (&http.Client{Transport: http.DefaultTransport, Timeout: 30 * time.Second}).Get(u)
	if err != nil {
		return 0, err.Error(), nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusOK {
		checkerFor(t).Playlist(u, b)
	}
	return res.StatusCode, string(b), res.Header
}

// TestRelayAndEdge: two nodes on one PostgreSQL and NATS, and the shipped nginx edge in front
// of both. ffmpeg publishes a STANDARD channel to node A; node B relays it (playlists,
// blocking reloads, parts, the ladder's rungs read by ffprobe) and so does nginx, from
// either node. Stopping ffmpeg ends the playlists on B and nginx with EXT-X-ENDLIST. When
// node A dies mid-stream, B answers 503 with Retry-After, then ends the playlist.
func TestRelayAndEdge(t *testing.T) {
	t.Parallel()
	needTool(t, "ffmpeg")
	needTool(t, "ffprobe")
	c := newCluster(t)
	varsA, varsB := c.vars(t, "node-a"), c.vars(t, "node-b")
	for _, v := range []map[string]string{varsA, varsB} {
		v["LIVEHOUSE_CHANNEL_TYPE"] = "STANDARD"
		v["LIVEHOUSE_NODE_LEASE_SECONDS"] = "6"
	}
	a, nodeA := startProcess(t, varsA)
	b, stopB := startServer(t, varsB)
	defer stopB()
	edge := startNginx(t, a, b)

	_, key, channelID, _ := signUpStreamer(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	pub := publish(ctx, "rtmp://"+varsA["LIVEHOUSE_RTMP_ADDR"]+"/live/"+key)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	pubExited := make(chan struct{})
	go func() { pub.Wait(); close(pubExited) }()

	// The viewer's playback URL, from node B's API, carries their token.
	var page map[string]any
	waitFor(t, 30*time.Second, "the channel live", func() bool {
		getJSON(t, b+"/api/channels/streamer", &page)
		return page["isLive"] == true
	})
	pu, err := url.Parse(page["playbackUrl"].(string))
	if err != nil {
		t.Fatal(err)
	}
	token := pu.Query().Get("token")
	hlsPath := "/hls/" + channelID + "/"

	for _, via := range []struct{ name, base string }{{"node B", b}, {"nginx", edge}} {
		waitFor(t, 60*time.Second, "two renditions through "+via.name, func() bool {
			status, body, _ := fetch(t, via.base+hlsPath+"index.m3u8", token)
			return status == 200 && strings.Count(body, "#EXT-X-STREAM-INF") == 2 && strings.Contains(body, "160p/video1_stream.m3u8")
		})
		var pl string
		waitFor(t, 30*time.Second, "a media playlist with parts through "+via.name, func() bool {
			var status int
			status, pl, _ = fetch(t, via.base+hlsPath+"video1_stream.m3u8", token)
			return status == 200 && strings.Contains(pl, "#EXT-X-PART:") && strings.Contains(pl, "#EXT-X-PRELOAD-HINT")
		})
		if strings.Contains(pl, "token") {
			t.Errorf("%s: the playlist carries the token", via.name)
		}
		// A player at the live edge: blocking reloads, one part after another, as hls.js makes
		// them (with _HLS_skip). Each answer lists the part asked for (a cache that answered
		// from an older copy would not) and carries the program-date-time the player's
		// latency comes from, moving forward.
		msn, part := nextPart(t, pl)
		var blocked string
		var h http.Header
		var lastPDT time.Time
		for i := range 6 {
			q := fmt.Sprintf("_HLS_msn=%d&_HLS_part=%d", msn, part)
			if i%2 == 1 {
				q += "&_HLS_skip=YES"
			}
			var status int
			status, blocked, h = fetch(t, via.base+hlsPath+"video1_stream.m3u8?"+q, token)
			if status != 200 {
				t.Fatalf("%s: blocking reload %s: %d %s", via.name, q, status, blocked)
			}
			gotMSN, gotPart := nextPart(t, blocked)
			if gotMSN*100+gotPart <= msn*100+part {
				t.Fatalf("%s: blocking reload %s answered with next part %d.%d: an older playlist", via.name, q, gotMSN, gotPart)
			}
			pdt := newestPDT(t, blocked)
			if pdt.Before(lastPDT) {
				t.Errorf("%s: blocking reload %s: program-date-time %v went back from %v", via.name, q, pdt, lastPDT)
			}
			msn, part, lastPDT = gotMSN, gotPart, pdt
		}
		if cc := h.Get("Cache-Control"); !strings.HasPrefix(cc, "public, max-age=") {
			t.Errorf("%s: blocking reload Cache-Control %q", via.name, cc)
		}
		parts := partRE.FindAllStringSubmatch(blocked, -1)
		name := parts[len(parts)-1][1]
		status, body, h := fetch(t, via.base+hlsPath+name, token)
		if status != 200 || len(body) == 0 || h.Get("Cache-Control") != "public, max-age=3600, immutable" {
			t.Errorf("%s: part %s: %d, %d bytes, Cache-Control %q", via.name, name, status, len(body), h.Get("Cache-Control"))
		}
		if via.name == "nginx" {
			// Another viewer's token, the same URL: the edge answers from its cache.
			other := hlsToken(hlsPath)
			if status, again, h := fetch(t, via.base+hlsPath+name, other); status != 200 || again != body || h.Get("X-Cache-Status") != "HIT" {
				t.Errorf("nginx: the part again with another token: %d, X-Cache-Status %q", status, h.Get("X-Cache-Status"))
			}
			if status, _, _ := fetch(t, via.base+hlsPath+"video1_stream.m3u8", "forged"); status != 403 {
				t.Errorf("nginx: a playlist without a valid token: %d, want 403", status)
			}
		}
	}

	// ffprobe reads the source and the 160p rung through node B.
	for _, c := range []struct{ file, want string }{
		{"video1_stream.m3u8", "codec_name=h264|width=640|height=360"},
		{"160p/video1_stream.m3u8", "codec_name=h264|width=284|height=160"},
	} {
		out, err := ffprobe(ctx, b+hlsPath+c.file, "-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "compact=p=0").CombinedOutput()
		if err != nil || !strings.Contains(string(out), c.want) {
			t.Errorf("ffprobe %s through node B: %v\n%s", c.file, err, out)
		}
	}

	// The publisher stops: the playlists end on B and on nginx.
	pub.Process.Kill()
	<-pubExited
	for _, via := range []struct{ name, base string }{{"node B", b}, {"nginx", edge}} {
		waitFor(t, 30*time.Second, "EXT-X-ENDLIST through "+via.name, func() bool {
			status, body, _ := fetch(t, via.base+hlsPath+"video1_stream.m3u8", token)
			return status == 200 && strings.HasSuffix(body, "#EXT-X-ENDLIST\n") && !strings.Contains(body, "PRELOAD-HINT")
		})
	}

	// Live again on A; then A dies. B says so (503, Retry-After), then ends the playlist once
	// A's lease runs out, never serving the last playlist as current.
	again := publish(ctx, "rtmp://"+varsA["LIVEHOUSE_RTMP_ADDR"]+"/live/"+key)
	if err := again.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { again.Process.Kill(); again.Wait() }()
	var lastSeq string
	waitFor(t, 90*time.Second, "the new session through node B", func() bool {
		status, body, _ := fetch(t, b+hlsPath+"video1_stream.m3u8", token)
		if status != 200 || strings.Contains(body, "#EXT-X-ENDLIST") || !strings.Contains(body, "#EXT-X-PART:") {
			return false
		}
		if m := edgeMediaRE.FindStringSubmatch(body); m != nil {
			lastSeq = m[1]
		}
		return true
	})
	if err := nodeA.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	saw503 := false
	waitFor(t, 60*time.Second, "node B to end the playlist of the dead node", func() bool {
		status, body, h := fetch(t, b+hlsPath+"video1_stream.m3u8", token)
		switch {
		case status == 503:
			if h.Get("Retry-After") == "" {
				t.Errorf("503 without Retry-After")
			}
			saw503 = true
		case status == 200 && strings.HasSuffix(body, "#EXT-X-ENDLIST\n"):
			return true
		case status == 200:
			// Still the live playlist: the relay has not noticed yet; it must not be an old one
			// that stays the same while A is gone.
			if m := edgeMediaRE.FindStringSubmatch(body); m != nil {
				if n, _ := strconv.Atoi(m[1]); n < atoi(lastSeq) {
					t.Errorf("an older playlist after the node died: sequence %d < %s", n, lastSeq)
				}
			}
		default:
			t.Errorf("through node B after node A died: %d %s", status, body)
		}
		return false
	})
	if !saw503 {
		t.Errorf("node B never answered 503 while node A was gone")
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

var pdtRE = regexp.MustCompile(`(?m)^#EXT-X-PROGRAM-DATE-TIME:(\S+)$`)

// newestPDT is the last EXT-X-PROGRAM-DATE-TIME of a media playlist; a playlist without one
// fails the test (players compute their latency, and sync with others, from it).
func newestPDT(t *testing.T, playlist string) time.Time {
	t.Helper()
	all := pdtRE.FindAllStringSubmatch(playlist, -1)
	if len(all) == 0 {
		t.Fatalf("no EXT-X-PROGRAM-DATE-TIME in:\n%s", playlist)
	}
	at, err := time.Parse(time.RFC3339Nano, all[len(all)-1][1])
	if err != nil {
		t.Fatalf("EXT-X-PROGRAM-DATE-TIME %q: %v", all[len(all)-1][1], err)
	}
	return at
}
