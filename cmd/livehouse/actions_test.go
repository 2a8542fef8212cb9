package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	amp4 "github.com/abema/go-mp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
)

// cueBox is one emsg box found in the HLS output, decoded.
type cueBox struct {
	at  uint64 // presentation time, 90 kHz
	env struct {
		ID      string          `json:"id"`
		Elapsed int64           `json:"elapsedMs"`
		Event   json.RawMessage `json:"event"`
	}
}

// mediaFile is one part or segment: its video's decode-time span and its cues.
type mediaFile struct {
	name   string
	d0, d1 uint64
	sync   bool
	cues   []cueBox
}

var partURIRE = regexp.MustCompile(`#EXT-X-PART:[^\n]*URI="([^"]+)"([^\n]*)`)

func fetchMedia(t *testing.T, base, name string) mediaFile {
	t.Helper()
	res, err := http.Get(base + name)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", name, res.StatusCode)
	}
	f := mediaFile{name: name}
	var parts fmp4.Parts
	if err := parts.Unmarshal(body); err != nil || len(parts) == 0 {
		t.Fatalf("%s does not parse as fMP4 fragments: %v", name, err)
	}
	for i, p := range parts {
		for _, tr := range p.Tracks {
			if tr.ID != 1 {
				continue
			}
			if i == 0 {
				f.d0, f.d1, f.sync = tr.BaseTime, tr.BaseTime, !tr.Samples[0].IsNonSyncSample
			}
			for _, s := range tr.Samples {
				f.d1 += uint64(s.Duration)
			}
		}
	}
	boxes, err := amp4.ExtractBoxWithPayload(bytes.NewReader(body), nil, amp4.BoxPath{amp4.BoxTypeEmsg()})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range boxes {
		e := b.Payload.(*amp4.Emsg)
		if e.SchemeIdUri != "https://aomedia.org/emsg/ID3" || e.Timescale != 90000 {
			t.Fatalf("emsg %q at timescale %d", e.SchemeIdUri, e.Timescale)
		}
		// ID3v2.4 header (10 bytes), TXXX frame header (10), encoding, description, NUL, value.
		data := e.MessageData
		if len(data) < 21 || string(data[:3]) != "ID3" || string(data[10:14]) != "TXXX" {
			t.Fatalf("emsg without an ID3 TXXX frame: %q", data)
		}
		value := data[21:]
		value = value[bytes.IndexByte(value, 0)+1:]
		c := cueBox{at: e.PresentationTime}
		if err := json.Unmarshal(value, &c.env); err != nil {
			t.Fatalf("ID3 value %q: %v", value, err)
		}
		f.cues = append(f.cues, c)
	}
	return f
}

// partsAfter lists the parts of a playlist that come after the named one (all when "").
func partsAfter(playlist, after string) []string {
	var out []string
	seen := after == ""
	for _, m := range partURIRE.FindAllStringSubmatch(playlist, -1) {
		if seen {
			out = append(out, m[1])
		}
		seen = seen || m[1] == after
	}
	return out
}

// TestStreamActionsInBand publishes with ffmpeg, starts a quiz through the API and finds it in
// the LL-HLS output: an emsg ID3 box at the media time of the call, announced again at each
// later segment start while it lasts and not after, and an EXT-X-DATERANGE in the playlist.
func TestStreamActionsInBand(t *testing.T) {
	t.Parallel()
	needTool(t, "ffmpeg")
	dir := t.TempDir()
	rtmpAddr := freePort(t)
	srv := map[string]string{"LIVEHOUSE_DATA_DIR": dir, "LIVEHOUSE_AUTO_VERIFY": "true", "LIVEHOUSE_LOG_LEVEL": "warn", "LIVEHOUSE_RTMP_ADDR": rtmpAddr}
	base, stop := startServer(t, srv)
	rtmpAddr = srv["LIVEHOUSE_RTMP_ADDR"] // startServer replaces a port taken meanwhile
	defer stop()
	token, key, channelID, _ := signUpStreamer(t, base)

	quiz := map[string]any{"name": "quiz", "data": map[string]any{"question": "Capital of Canada?", "answers": []string{"Vancouver", "Ottawa", "Calgary"}, "correctAnswerIndex": 1, "duration": 5}}
	if status, _ := post(t, base+"/api/me/stream-actions", token, quiz); status != 404 {
		t.Errorf("an action while offline: %d, want 404", status)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	pub := publish(ctx, "rtmp://"+rtmpAddr+"/live/"+key)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Process.Kill(); _ = pub.Wait() }()

	hlsBase := base + "/hls/" + channelID + "/"
	playlistURL := hlsBase + "video1_stream.m3u8"
	var playlist string
	waitFor(t, 30*time.Second, "two segments", func() bool {
		status, body := get(t, playlistURL)
		playlist = body
		return status == 200 && strings.Count(body, "#EXTINF") >= 2
	})

	// The live edge before the call: the newest part's end.
	listed := partsAfter(playlist, "")
	last := listed[len(listed)-1]
	edge := fetchMedia(t, hlsBase, last).d1
	status, started := post(t, base+"/api/me/stream-actions", token, quiz)
	if status != 201 {
		t.Fatalf("starting a quiz: %d %v", status, started)
	}
	id := started["id"].(string)

	// Wait until the output runs 4 s past the quiz's end (5 s).
	var files []mediaFile
	waitFor(t, 40*time.Second, "the stream to run past the quiz", func() bool {
		_, playlist = get(t, playlistURL)
		for _, name := range partsAfter(playlist, last) {
			files = append(files, fetchMedia(t, hlsBase, name))
			last = name
		}
		return len(files) > 0 && files[len(files)-1].d0 > edge+9*90000
	})

	var start *cueBox
	var startFile mediaFile
	for _, f := range files {
		for i, c := range f.cues {
			if c.env.ID == id && c.env.Elapsed == 0 && start == nil {
				start, startFile = &f.cues[i], f
			}
		}
	}
	if start == nil {
		t.Fatalf("no cue for %s in %d parts after the call", id, len(files))
	}
	// At the media time of the call: after the edge it found, within the part carrying it,
	// and a moment later at most (the next frame after the request, with the request's own
	// time on a busy machine).
	if start.at < edge || start.at >= edge+3*90000 || start.at < startFile.d0 || start.at >= startFile.d1 {
		t.Errorf("cue at %d: edge before the call %d, carrying part [%d, %d)", start.at, edge, startFile.d0, startFile.d1)
	}
	if !strings.Contains(string(start.env.Event), `"name":"quiz"`) || !strings.Contains(string(start.env.Event), `"Ottawa"`) {
		t.Errorf("event = %s", start.env.Event)
	}

	// Every later part that starts a segment announces it again while it lasts, and none after.
	end := start.at + 5*90000
	again := 0
	for _, f := range files {
		if f.d0 <= start.at || !f.sync {
			for _, c := range f.cues {
				if c.env.ID == id && c.at != start.at {
					t.Errorf("%s (not a later keyframe part) repeats the cue", f.name)
				}
			}
			continue
		}
		var found *cueBox
		for i := range f.cues {
			if f.cues[i].env.ID == id {
				found = &f.cues[i]
			}
		}
		switch {
		case f.d0 < end && found == nil:
			t.Errorf("%s starts at %d while the quiz runs, without the cue", f.name, f.d0)
		case f.d0 < end && (found.at != f.d0 || found.env.Elapsed != int64(f.d0-start.at)/90):
			t.Errorf("%s: repeat at %d elapsed %d ms, want %d and %d", f.name, found.at, found.env.Elapsed, f.d0, (f.d0-start.at)/90)
		case f.d0 >= end && found != nil:
			t.Errorf("%s starts after the quiz ended but carries it", f.name)
		case found != nil:
			again++
		}
	}
	if again == 0 {
		t.Errorf("the quiz was never announced again")
	}

	// The playlist lists it too, for players that read EXT-X-DATERANGE.
	m := regexp.MustCompile(`#EXT-X-DATERANGE:[^\n]*X-PAYLOAD="([^"]+)"`).FindStringSubmatch(playlist)
	if m == nil {
		t.Fatalf("no DATERANGE in the playlist:\n%s", playlist)
	}
	if raw, _ := base64.StdEncoding.DecodeString(m[1]); !strings.Contains(string(raw), id) {
		t.Errorf("DATERANGE payload %s", raw)
	}

	// A perpetual product, then stop: the stop is in-band too, and the product is not
	// announced after it.
	product := map[string]any{"name": "product", "data": map[string]any{"title": "Sneakers", "price": "$250", "imageUrl": "https://example.com/s.png", "description": "nice"}}
	if status, _ := post(t, base+"/api/me/stream-actions", token, product); status != 201 {
		t.Fatalf("product: %d", status)
	}
	if status, _ := send(t, "DELETE", base+"/api/me/stream-actions", token, nil); status != 204 {
		t.Fatalf("stop: %d", status)
	}
	var stopped *cueBox
	var stopAt uint64
	waitFor(t, 20*time.Second, "the stop in the output", func() bool {
		_, playlist = get(t, playlistURL)
		for _, name := range partsAfter(playlist, last) {
			f := fetchMedia(t, hlsBase, name)
			last = name
			for i, c := range f.cues {
				if string(c.env.Event) == "null" {
					stopped, stopAt = &f.cues[i], f.d0
				}
				if stopped != nil && f.d0 > stopAt && c.env.ID == stopped.env.ID {
					t.Errorf("%s announces a stopped product", name)
				}
			}
		}
		return stopped != nil
	})
}
