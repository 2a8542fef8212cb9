package main

import (
	"context"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// publishTo starts ffmpeg sending a test pattern (size WxH) and tone to an rtmps:// (FLV,
// certificate not verified) or srt:// (MPEG-TS) URL for at most seconds.
func publishTo(ctx context.Context, ingestURL, size string, seconds int) *exec.Cmd {
	args := []string{"-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-x264-params", "sliced-threads=0",
		"-g", "30", "-b:v", "800k", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k"}
	if strings.HasPrefix(ingestURL, "srt://") {
		args = append(args, "-f", "mpegts", ingestURL)
	} else {
		args = append(args, "-tls_verify", "0", "-f", "flv", ingestURL)
	}
	return exec.CommandContext(ctx, "ffmpeg", args...)
}

// loopback points an ingest URL the API hands out (localhost) at 127.0.0.1, which ffmpeg's
// SRT resolves without IPv6 first.
func loopback(u string) string { return strings.Replace(u, "://localhost:", "://127.0.0.1:", 1) }

// TestRTMPSAndSRTIngest publishes with ffmpeg over RTMPS (the generated self-signed
// certificate, unverified) and over SRT, one after the other, on the URLs the API gives the
// streamer: each plays (ffprobe reads H.264 and AAC through the LL-HLS playlist), records its
// encoder configuration in stream health, and a wrong key is refused on both.
func TestRTMPSAndSRTIngest(t *testing.T) {
	t.Parallel()
	needTool(t, "ffmpeg")
	needTool(t, "ffprobe")
	srv := map[string]string{"LIVEHOUSE_DATA_DIR": t.TempDir(), "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "warn",
		"LIVEHOUSE_RTMP_ADDR": "127.0.0.1:0", "LIVEHOUSE_RECONNECT_GRACE_SECONDS": "0"}
	base, stop := startServer(t, srv)
	defer stop()
	token, key, channelID, ch := signUpStreamer(t, base)
	rtmps, _ := ch["rtmpsUrl"].(string)
	srtURL, _ := ch["srtUrl"].(string)
	if !strings.HasPrefix(rtmps, "rtmps://localhost:") || !strings.HasSuffix(rtmps, "/live/") {
		t.Fatalf("rtmpsUrl = %q", rtmps)
	}
	if !strings.HasPrefix(srtURL, "srt://localhost:") || !strings.HasSuffix(srtURL, "?streamid=publish:") {
		t.Fatalf("srtUrl = %q", srtURL)
	}
	for _, c := range []struct{ name, url, wrong string }{
		{"RTMPS", loopback(rtmps) + key, loopback(rtmps) + "sk_wrong"},
		{"SRT", loopback(srtURL) + url.QueryEscape(key), loopback(srtURL) + "sk_wrong"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			if out, err := publishTo(ctx, c.wrong, "320x240", 2).CombinedOutput(); err == nil {
				t.Errorf("ffmpeg with a wrong key succeeded over %s: %s", c.name, out)
			}
			pub := publishTo(ctx, c.url, "640x360", 80)
			if err := pub.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { pub.Process.Kill(); pub.Wait() }()
			var page map[string]any
			waitFor(t, 30*time.Second, "the channel to be live over "+c.name, func() bool {
				getJSON(t, base+"/api/channels/streamer", &page)
				return page["isLive"] == true
			})
			playlist := base + "/hls/" + channelID + "/index.m3u8"
			waitFor(t, 30*time.Second, "a playable playlist", func() bool {
				status, body := get(t, base+"/hls/"+channelID+"/video1_stream.m3u8")
				return status == 200 && strings.Count(body, "#EXTINF") >= 1
			})
			out, err := ffprobe(ctx, playlist, "-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "compact").CombinedOutput()
			if err != nil {
				t.Fatalf("ffprobe: %v\n%s", err, out)
			}
			for _, want := range []string{"codec_name=h264|width=640|height=360", "codec_name=aac"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("ffprobe output lacks %q:\n%s", want, out)
				}
			}
			// Stream health has the encoder's configuration, read from the stream itself.
			var list struct{ Sessions []struct{ ID string } }
			getAuthJSON(t, base+"/api/me/sessions", token, &list)
			if len(list.Sessions) == 0 {
				t.Fatal("no sessions")
			}
			var s struct {
				IngestConfiguration struct {
					Video struct {
						Codec                   string
						VideoWidth, VideoHeight int
					}
					Audio struct {
						Codec      string
						SampleRate int
					}
				}
			}
			getAuthJSON(t, base+"/api/me/sessions/"+list.Sessions[0].ID, token, &s)
			v, a := s.IngestConfiguration.Video, s.IngestConfiguration.Audio
			if !strings.HasPrefix(v.Codec, "avc1.") || v.VideoWidth != 640 || v.VideoHeight != 360 || a.Codec != "mp4a.40.2" || a.SampleRate != 48000 {
				t.Errorf("ingest configuration over %s = %+v", c.name, s.IngestConfiguration)
			}
			pub.Process.Kill()
			pub.Wait()
			waitFor(t, 30*time.Second, "the channel to end", func() bool {
				getJSON(t, base+"/api/channels/streamer", &page)
				return page["isLive"] == false
			})
		})
	}
}

// TestReconnectKeepsTheSession: ffmpeg publishing 1280x720 stops and a second ffmpeg
// publishes 640x360 on the same key at once (within the grace period): the channel stays
// live in ONE session, whose events have Stream Reconnected and Resolution Change, and the
// media playlist viewers hold goes on growing after the change.
func TestReconnectKeepsTheSession(t *testing.T) {
	t.Parallel()
	needTool(t, "ffmpeg")
	srv := map[string]string{"LIVEHOUSE_DATA_DIR": t.TempDir(), "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "warn",
		"LIVEHOUSE_RTMP_ADDR": "127.0.0.1:0", "LIVEHOUSE_RECONNECT_GRACE_SECONDS": "10"}
	base, stop := startServer(t, srv)
	defer stop()
	token, key, channelID, ch := signUpStreamer(t, base)
	ingest := loopback(ch["rtmpsUrl"].(string)) + key
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	first := publishTo(ctx, ingest, "1280x720", 60)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { first.Process.Kill(); first.Wait() }()
	media := base + "/hls/" + channelID + "/video1_stream.m3u8"
	waitFor(t, 30*time.Second, "two segments at 1280x720", func() bool {
		status, body := get(t, media)
		return status == 200 && strings.Count(body, "#EXTINF") >= 2
	})
	_, before := get(t, media)
	msnBefore, _ := nextPart(t, before)

	first.Process.Kill() // the encoder drops
	first.Wait()
	second := publishTo(ctx, ingest, "640x360", 60)
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { second.Process.Kill(); second.Wait() }()

	var sessions struct {
		Sessions []struct {
			ID     string
			IsLive bool
		}
	}
	waitFor(t, 30*time.Second, "the reconnect on record", func() bool {
		getAuthJSON(t, base+"/api/me/sessions", token, &sessions)
		if len(sessions.Sessions) != 1 {
			return false
		}
		var s struct{ Events []struct{ Name string } }
		getAuthJSON(t, base+"/api/me/sessions/"+sessions.Sessions[0].ID, token, &s)
		names := map[string]bool{}
		for _, e := range s.Events {
			names[e.Name] = true
		}
		return names["Stream Reconnected"] && names["Resolution Change"] && !names["Session Ended"]
	})
	if len(sessions.Sessions) != 1 || !sessions.Sessions[0].IsLive {
		t.Fatalf("sessions after the reconnect = %+v, want the one live session", sessions.Sessions)
	}
	// The playlist viewers hold goes on: segments after the change, in the same session.
	waitFor(t, 40*time.Second, "the media playlist to go on after the reconnect", func() bool {
		status, body := get(t, media)
		if status != 200 {
			return false
		}
		msn, _ := nextPart(t, body)
		return msn >= msnBefore+3
	})
	getAuthJSON(t, base+"/api/me/sessions", token, &sessions)
	if len(sessions.Sessions) != 1 {
		t.Errorf("%d sessions, want 1", len(sessions.Sessions))
	}
}

// TestReconnectKeepsThePlayerWaiting: while a dropped RTMP encoder's session waits for it
// (the reconnect grace period), a page that reads the channel (live) gets its playlists, and
// the part they hint at, which comes only once the encoder is back, is answered 503 with
// Retry-After after the server's wait (three target durations) rather than 404: hls.js
// retries the one and gives up on the other. After the reconnect the same part plays.
func TestReconnectKeepsThePlayerWaiting(t *testing.T) {
	needTool(t, "ffmpeg")
	// A grace period far longer than the server's wait for a part (6 s), so that the encoder
	// is away for all of it and still comes back in time on a loaded machine.
	srv := map[string]string{"LIVEHOUSE_DATA_DIR": t.TempDir(), "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "warn",
		"LIVEHOUSE_RTMP_ADDR": "127.0.0.1:0", "LIVEHOUSE_RECONNECT_GRACE_SECONDS": "60"}
	base, stop := startServer(t, srv)
	defer stop()
	token, key, channelID, ch := signUpStreamer(t, base)
	ingest := loopback(ch["rtmpUrl"].(string)) + key
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	first := publish(ctx, ingest)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { first.Process.Kill(); first.Wait() }()
	media := base + "/hls/" + channelID + "/video1_stream.m3u8"
	waitFor(t, 30*time.Second, "two segments", func() bool {
		status, body := get(t, media)
		return status == 200 && strings.Count(body, "#EXTINF") >= 2
	})
	first.Process.Kill() // the encoder drops
	first.Wait()

	// A page opened now: the channel reads live, its playlists load.
	var page struct {
		IsLive      bool
		PlaybackURL string
	}
	if getJSON(t, base+"/api/channels/streamer", &page); !page.IsLive || page.PlaybackURL == "" {
		t.Fatalf("the channel page while its encoder is away: %+v, want live with a playback URL", page)
	}
	playback, err := url.Parse(page.PlaybackURL)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := get(t, base+playback.RequestURI()); status != 200 {
		t.Fatalf("GET the playback URL while the encoder is away: %d %q", status, body)
	}
	status, playlist := get(t, media)
	if status != 200 {
		t.Fatalf("GET the media playlist while the encoder is away: %d %q", status, playlist)
	}
	m := regexp.MustCompile(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"`).FindStringSubmatch(playlist)
	if m == nil {
		t.Fatalf("no preload hint in:\n%s", playlist)
	}
	hint := base + "/hls/" + channelID + "/" + m[1]
	res, err := http.Get(hint) // the encoder is away for all of the server's wait
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Errorf("GET the hinted part while the encoder is away: %d, Retry-After %q; want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}

	second := publish(ctx, ingest) // the encoder comes back
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { second.Process.Kill(); second.Wait() }()
	waitFor(t, 40*time.Second, "the hinted part, after the reconnect", func() bool {
		status, _ := get(t, hint)
		return status == 200
	})
	var sessions struct{ Sessions []struct{ IsLive bool } }
	getAuthJSON(t, base+"/api/me/sessions", token, &sessions)
	if len(sessions.Sessions) != 1 || !sessions.Sessions[0].IsLive {
		t.Errorf("sessions after the reconnect = %+v, want the one live session", sessions.Sessions)
	}
}
