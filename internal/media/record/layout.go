package record

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/livehouse/livehouse/internal/recordings"
	"github.com/livehouse/livehouse/internal/storage"
)

// A recording in storage, under its prefix:
//
//	meta.json                      the tracks: name, kind, codec, resolution, frame rate
//	video1/init0.mp4               a track's init sections, by index (a new SPS adds one)
//	video1/000000004_<start>_<duration>_<timescale>_<init>[_d].m4s
//	audio2/…                       the same for the audio track
//	720p/…, 480p/…                 a STANDARD channel's rungs (video), listed in meta.json
//	                               once the session has ended
//	index.m3u8, video1.m3u8, …     the playlists, written when the recording ends
//
// A segment's name carries everything its playlist entry needs, so the playlists can be
// written from a listing of the stored objects alone: after a crash, what was stored before
// it plays (Finish). Every object is written whole or not at all (storage.Store.Put).

// Meta describes a recording's tracks, for its multivariant playlist.
type Meta struct {
	Tracks []TrackMeta `json:"tracks"`
}

// TrackMeta is one track of a recording.
type TrackMeta struct {
	Name   string  `json:"name"` // video1, audio2
	Kind   string  `json:"kind"` // video or audio
	Codec  string  `json:"codec"`
	Width  int     `json:"width,omitempty"`
	Height int     `json:"height,omitempty"`
	FPS    float64 `json:"fps,omitempty"`
	Rung   bool    `json:"rung,omitempty"` // a rung of the ladder (video only), not the source
}

const metaFile = "meta.json"

func putMeta(ctx context.Context, st storage.Store, prefix string, m Meta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return put(ctx, st, prefix+metaFile, b)
}

// segmentName is a stored segment's name within its track's folder.
func segmentName(msn uint64, start, dur, scale int64, init int, disc bool) string {
	name := fmt.Sprintf("%09d_%d_%d_%d_%d", msn, start, dur, scale, init)
	if disc {
		name += "_d"
	}
	return name + ".m4s"
}

func initName(n int) string { return "init" + strconv.Itoa(n) + ".mp4" }

// storedSegment is a segment as its name describes it.
type storedSegment struct {
	file              string // track/name
	msn               uint64
	start, dur, scale int64
	init              int
	disc              bool
	size              int64
}

func parseSegment(track, name string, size int64) (storedSegment, bool) {
	base, ok := strings.CutSuffix(name, ".m4s")
	if !ok {
		return storedSegment{}, false
	}
	f := strings.Split(base, "_")
	disc := len(f) == 6 && f[5] == "d"
	if len(f) != 5 && !disc {
		return storedSegment{}, false
	}
	var n [5]int64
	for i := range 5 {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil || v < 0 {
			return storedSegment{}, false
		}
		n[i] = v
	}
	if n[3] <= 0 || n[2] <= 0 || n[4] > math.MaxInt32 {
		return storedSegment{}, false
	}
	return storedSegment{file: track + "/" + name, msn: uint64(n[0]), start: n[1], dur: n[2], scale: n[3], init: int(n[4]), disc: disc, size: size}, true
}

// MaxObjects bounds the objects of one recording that Finish reads: about 83 hours of 6 s
// objects of two tracks.
const MaxObjects = 100_000

// Store finishes recordings from what is in storage.
type Store struct {
	Media  storage.Store
	FFmpeg string // the program that makes posters; empty: no posters
}

// Finish writes a recording's playlists from the segments stored under prefix and returns
// what they hold. It is what the recorder does when a session ends, and what a restart does
// for a recording a crash left unfinished.
func (s Store) Finish(ctx context.Context, prefix string) (recordings.Progress, error) {
	var p recordings.Progress
	tracks := map[string][]storedSegment{}
	after := ""
	count := 0
	for {
		objs, err := s.Media.List(ctx, prefix, after, 1000)
		if err != nil {
			return p, err
		}
		if len(objs) == 0 {
			break
		}
		for _, o := range objs {
			rel := strings.TrimPrefix(o.Key, prefix)
			if track, name, ok := strings.Cut(rel, "/"); ok {
				if seg, ok := parseSegment(track, name, o.Size); ok {
					tracks[track] = append(tracks[track], seg)
					p.Bytes += o.Size
				}
			}
		}
		count += len(objs)
		if count >= MaxObjects {
			break
		}
		after = objs[len(objs)-1].Key
	}
	meta, err := s.readMeta(ctx, prefix)
	if errors.Is(err, storage.ErrNotFound) {
		return p, nil // stopped before anything was stored
	}
	if err != nil {
		return p, err
	}
	type variant struct {
		TrackMeta
		peak, avg int
	}
	var videos []*variant // the source first, then the rungs
	var audio *variant
	origin := -1.0 // the source video's start, seconds: a rung that starts later begins with a gap
	until := 0.0   // the source video's end, seconds: a track that ends sooner ends with a gap
	for _, tm := range meta.Tracks {
		segs := tracks[tm.Name]
		if len(segs) == 0 || (tm.Kind == "audio" && audio != nil) || (tm.Kind == "video" && tm.Rung && len(videos) == 0) {
			continue
		}
		slices.SortFunc(segs, func(a, b storedSegment) int { return int(a.msn) - int(b.msn) })
		lead := 0.0
		if origin >= 0 { // a rung, or the audio, that begins later than the source's video (its first objects dropped)
			lead = float64(segs[0].start)/float64(segs[0].scale) - origin
		}
		body, dur, peak, avg := mediaPlaylist(segs, lead, until)
		if err := put(ctx, s.Media, prefix+tm.Name+".m3u8", body); err != nil {
			return p, err
		}
		v := &variant{TrackMeta: tm, peak: peak, avg: avg}
		switch {
		case tm.Kind == "video" && len(videos) == 0:
			videos = append(videos, v)
			origin = float64(segs[0].start) / float64(segs[0].scale)
			last := segs[len(segs)-1]
			until = float64(last.start+last.dur) / float64(last.scale)
			p.Duration, p.Segments = dur, len(segs)
			if s.FFmpeg != "" {
				// A poster failing leaves the recording without one; it plays all the same.
				p.Poster = makePoster(ctx, s.Media, s.FFmpeg, prefix, tm.Name, segs[0]) == nil
			}
		case tm.Kind == "video":
			videos = append(videos, v)
		case tm.Kind == "audio":
			audio = v
			if len(videos) == 0 || p.Duration == 0 {
				p.Duration, p.Segments = dur, len(segs)
			}
		}
	}
	if len(videos) == 0 && audio == nil {
		return p, nil // nothing was stored
	}
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	if len(videos) == 0 {
		videos = []*variant{audio}
		audio = nil
	}
	if audio != nil {
		fmt.Fprintf(&b, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"main\",DEFAULT=YES,AUTOSELECT=YES,URI=\"%s.m3u8\"\n", audio.Name)
	}
	for _, v := range videos {
		codecs := v.Codec
		bw, avg := v.peak, v.avg
		audioAttr := ""
		if audio != nil {
			codecs += "," + audio.Codec
			bw, avg = bw+audio.peak, avg+audio.avg
			audioAttr = ",AUDIO=\"audio\""
		}
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,AVERAGE-BANDWIDTH=%d,CODECS=\"%s\"", max(bw, 1), max(avg, 1), codecs)
		if v.Kind == "video" && v.Width > 0 {
			fmt.Fprintf(&b, ",RESOLUTION=%dx%d", v.Width, v.Height)
			if v.FPS > 0 {
				fmt.Fprintf(&b, ",FRAME-RATE=%.3f", v.FPS)
			}
		}
		fmt.Fprintf(&b, "%s\n%s.m3u8\n", audioAttr, v.Name)
	}
	return p, put(ctx, s.Media, prefix+"index.m3u8", []byte(b.String()))
}

func (s Store) readMeta(ctx context.Context, prefix string) (Meta, error) {
	var m Meta
	rc, _, err := s.Media.Get(ctx, prefix+metaFile)
	if err != nil {
		return m, err
	}
	defer rc.Close()
	if err := json.NewDecoder(io.LimitReader(rc, 64<<10)).Decode(&m); err != nil {
		return m, fmt.Errorf("recording meta: %w", err)
	}
	return m, nil
}

func put(ctx context.Context, st storage.Store, key string, b []byte) error {
	return st.Put(ctx, key, bytes.NewReader(b), int64(len(b)))
}

// gapTolerance: a segment starting this much (in seconds) after the previous one's end
// follows a segment that was lost (a slow store); the playlist lists the hole as a gap, so
// the timeline stays true to the media's.
const gapTolerance = 0.5

// mediaPlaylist renders a track's VOD playlist; it returns the media's duration and its
// peak and average bitrates. lead (seconds) is how much later than the source's video the
// track begins (a rung whose transcoder started after the source, a track whose first
// objects were dropped): listed as a gap first, so that every variant keeps the source's
// timeline. until (seconds on the media's timeline; 0:
// none) is where the source's video ends: a track that ends sooner (its last objects were
// dropped, a slow store) ends with a gap up to it, so that it does not stop short of the
// video.
func mediaPlaylist(segs []storedSegment, lead, until float64) (body []byte, dur time.Duration, peak, avg int) {
	type entry struct {
		seg       storedSegment
		secs      float64
		gap, disc bool
	}
	var entries []entry
	var bytes int64
	var total float64
	if lead > gapTolerance {
		entries = append(entries, entry{seg: segs[0], secs: lead, gap: true})
		total += lead
	}
	for i, s := range segs {
		secs := float64(s.dur) / float64(s.scale)
		if i > 0 {
			prev := segs[i-1]
			end := float64(prev.start+prev.dur) / float64(prev.scale)
			if hole := float64(s.start)/float64(s.scale) - end; hole > gapTolerance && !s.disc {
				entries = append(entries, entry{seg: prev, secs: hole, gap: true})
				total += hole
			}
		}
		disc := i > 0 && (s.disc || s.init != segs[i-1].init)
		entries = append(entries, entry{seg: s, secs: secs, disc: disc})
		total += secs
		bytes += s.size
		if secs > 0 {
			peak = max(peak, int(float64(s.size)*8/secs))
		}
	}
	last := segs[len(segs)-1]
	if tail := until - float64(last.start+last.dur)/float64(last.scale); until > 0 && tail > gapTolerance {
		entries = append(entries, entry{seg: last, secs: tail, gap: true})
		total += tail
	}
	target := 1
	for _, e := range entries {
		target = max(target, int(math.Round(e.secs)))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n", target)
	track, _, _ := strings.Cut(segs[0].file, "/")
	initN := -1
	for _, e := range entries {
		if e.disc {
			b.WriteString("#EXT-X-DISCONTINUITY\n")
		}
		if (!e.gap || initN < 0) && e.seg.init != initN { // a leading gap takes the first map too
			initN = e.seg.init
			fmt.Fprintf(&b, "#EXT-X-MAP:URI=\"%s/%s\"\n", track, initName(initN))
		}
		if e.gap {
			b.WriteString("#EXT-X-GAP\n")
		}
		fmt.Fprintf(&b, "#EXTINF:%.5f,\n%s\n", e.secs, e.seg.file)
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	if total > 0 {
		avg = int(float64(bytes) * 8 / total)
	}
	return []byte(b.String()), time.Duration(total * float64(time.Second)), peak, avg
}
