package hls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/livehouse/livehouse/internal/media/llhls"
	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/streams"
)

// The packager of one live channel on this node: stream units in, playlists and media bytes
// out. The source rendition is one llhls muxer, which leads the channel's Schedule; a
// STANDARD channel's transcoded renditions (rungs) are one muxer each, which follow it: they
// cut their segments on the source's segment starts (the transcoder puts a keyframe on every
// source keyframe, at the same media time), take the same media sequence numbers (a segment a
// rung lacks, during a transcoder restart, is listed as EXT-X-GAP) and the same
// program-date-times, and every video playlist reports the others' live edges
// (EXT-X-RENDITION-REPORT). Timed metadata is written into each fragment as it is made
// (emsg, from the channel's timeline, on the source's media time, which every rung shares).

// ErrNoRung is returned for a rung name that the ladder does not know.
var ErrNoRung = errors.New("no such rendition")

// ErrNoLadder is returned when rungs are added to a stream that was not opened for a ladder.
var ErrNoLadder = errors.New("no ladder")

// Packager packages the live sessions of this node: it is the streams output whose tap feeds
// each session's units to the channel's source muxer (stream in), and what the HTTP handler
// (Server) reads its playlists and media from (bytes out). The transcoder adds a channel's
// rungs to it and the stream actions their cues. It starts no goroutine: each channel's
// packaging is run by its session (Start) and ends with the session's context.
type Packager struct {
	cfg Config
	log *slog.Logger

	mu       sync.RWMutex
	channels map[string]*live  // by channel id
	ended    map[string]ending // final playlists of streams that just ended, by channel id
}

// ending is the last playlists of a stream that ended here, kept EndedKeep.
type ending struct {
	final map[string][]byte // with EXT-X-ENDLIST, by key ({rung}/file)
	at    time.Time
}

// NewPackager returns a packager with no streams; it reads cfg's segment and part figures.
// reg may be nil.
func NewPackager(cfg Config, log *slog.Logger, reg prometheus.Registerer) *Packager {
	if reg != nil {
		// The packager's own count of its parts, and of those published late (llhls.Parts).
		for _, c := range []struct {
			name, help string
			value      func(llhls.PartStats) int64
		}{
			{"livehouse_hls_parts_total", "LL-HLS parts made from live media.", func(p llhls.PartStats) int64 { return p.Made }},
			{"livehouse_hls_parts_late_total", "Parts published more than PART-TARGET after their newest frame arrived (the publisher's pauses included).", func(p llhls.PartStats) int64 { return p.Late }},
			{"livehouse_hls_parts_slow_total", "Parts published more than PART-TARGET after the unit that completed them arrived (the server's own delay).", func(p llhls.PartStats) int64 { return p.Slow }},
		} {
			reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help},
				func() float64 { return float64(c.value(llhls.Parts())) }))
		}
	}
	return &Packager{cfg: cfg, log: log, channels: map[string]*live{}, ended: map[string]ending{}}
}

// Start opens the packaging of a live session's stream (see streams.Output). The units are
// packaged by the session's own goroutine, through a tap (one wake-up per unit for the
// session's bookkeeping and the packaging), which reports the stream started at its first
// keyframe; a unit that makes the packager panic ends the session, not the process. The run
// reports the source packaged, so that the transcoder's rungs may join it, and ends the
// packaging (the playlists get EXT-X-ENDLIST) once the session has ended; the followers of
// the channel's playlists end with it, before the run returns.
func (p *Packager) Start(v *streams.View) streams.Run {
	log := p.log.With("session", v.SessionID)
	lv, err := p.open(v.Channel.ID, v.Tracks, v.Channel.Transcoded())
	if err != nil {
		log.Error("starting the hls packager", "err", err)
		return nil
	}
	started := false
	v.Tap("HLS packager", func(u *stream.Unit) streams.Report {
		if err := lv.write(u); err != nil {
			log.Warn("hls write", "err", err)
		} else if !started && u.Kind == stream.Video && u.Key {
			started = true
			return streams.Report{Kind: streams.ReportStarted}
		}
		return streams.Report{}
	})
	return func(ctx context.Context, reports chan<- streams.Report) error {
		streams.Send(ctx, reports, streams.Report{Kind: streams.ReportPackaged})
		<-ctx.Done() // the session's last unit is tapped by now
		p.close(v.Channel.ID, lv)
		lv.followers.Wait()
		return nil
	}
}

// open starts packaging a channel's stream of the given tracks; ladder: the stream may get
// transcoded rungs (a STANDARD channel's).
func (p *Packager) open(channelID string, t stream.Tracks, ladder bool) (*live, error) {
	lv, err := newLive(p.cfg, t, ladder)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.channels[channelID] = lv
	delete(p.ended, channelID)
	p.mu.Unlock()
	return lv, nil
}

// close ends a channel's packaging: its playlists are kept EndedKeep with EXT-X-ENDLIST.
// Those of streams that ended longer ago go then: no timer, no goroutine.
func (p *Packager) close(channelID string, lv *live) {
	lv.close()
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, e := range p.ended {
		if now.Sub(e.at) >= EndedKeep {
			delete(p.ended, id)
		}
	}
	if p.channels[channelID] == lv {
		delete(p.channels, channelID)
		p.ended[channelID] = ending{final: lv.final(), at: now}
	}
}

// lookup returns a channel's live packaging here, or the final playlists of its stream that
// ended here within EndedKeep (ended true).
func (p *Packager) lookup(channelID string) (lv *live, final map[string][]byte, ended bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if lv := p.channels[channelID]; lv != nil {
		return lv, nil, false
	}
	e, ok := p.ended[channelID]
	if !ok || time.Since(e.at) >= EndedKeep {
		return nil, nil, false
	}
	return nil, e.final, true
}

// live returns a channel's live packaging here, or nil.
func (p *Packager) live(channelID string) *live {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.channels[channelID]
}

// PutMetadata writes a cue into a live channel's output at the media time of its next video
// frame.
func (p *Packager) PutMetadata(channelID string, md Metadata) error {
	lv := p.live(channelID)
	if lv == nil {
		return ErrNotLive
	}
	lv.tl.Put(md)
	return nil
}

// Packaging is a live session's packaging as a reader of its complete segments sees it (the
// recorder, which stores these segments rather than muxing the stream again).
type Packaging struct{ lv *live }

// Packaging returns the channel's live packaging on this node; ok false: it is not packaged
// here.
func (p *Packager) Packaging(channelID string) (pk Packaging, ok bool) {
	lv := p.live(channelID)
	return Packaging{lv: lv}, lv != nil
}

// Source is the source rendition's muxer.
func (pk Packaging) Source() *llhls.Muxer { return pk.lv.source }

// Rungs are the muxers of the ladder's rungs made so far, by name, closed ones included (a
// rung closed mid-session keeps its complete segments; a rung added again under the same name
// is not listed): what the transcoder wrote into them is on the source's timeline, with the
// source's segment boundaries and sequence numbers.
func (pk Packaging) Rungs() map[string]*llhls.Muxer {
	pk.lv.mu.Lock()
	defer pk.lv.mu.Unlock()
	if len(pk.lv.made) == 0 {
		return nil // no allocation for a channel without a ladder, asked every poll
	}
	return maps.Clone(pk.lv.made)
}

// Ended is closed once the packaging has ended: every muxer of it is closed, its last
// segments complete.
func (pk Packaging) Ended() <-chan struct{} { return pk.lv.ended }

// live is one channel's packaging on this node: the source rendition, its rungs and its cues.
type live struct {
	source *llhls.Muxer
	sched  *llhls.Schedule // nil unless the stream may get a ladder
	tl     *timeline
	opus   bool // the source's audio is Opus (from WebRTC)
	cfg    llhls.Config

	// reports are the video renditions' muxers by URI relative to the channel's directory
	// ("video1_stream.m3u8", "720p/video1_stream.m3u8"), for their rendition reports. It is
	// read while a muxer renders a playlist, so it is a snapshot that takes no lock.
	reports atomic.Pointer[[]reportee]

	followers sync.WaitGroup // the goroutines following its playlists (localEdge); they end with its muxers
	ended     chan struct{}  // closed once every muxer of it is closed (Packaging.Ended)

	mu     sync.Mutex
	closed bool                    // its muxers are closed: no follower starts
	ladder bool                    // the channel is transcoded: the multivariant playlist lists the rungs
	rungs  map[string]*Rung        // by name
	made   map[string]*llhls.Muxer // every rung's muxer made, by name, closed ones too (Packaging.Rungs)
	edges  map[string]*localEdge   // followers of the media playlists, by key ({rung}/file)
}

type reportee struct {
	dir string // "" for the source, else the rung's name
	m   *llhls.Muxer
}

// newLive opens a channel's packaging; ladder: it may get rungs.
func newLive(cfg Config, t stream.Tracks, ladder bool) (*live, error) {
	lv := &live{tl: newTimeline(), rungs: map[string]*Rung{}, made: map[string]*llhls.Muxer{}, edges: map[string]*localEdge{}, ended: make(chan struct{})}
	if ladder {
		lv.sched = &llhls.Schedule{}
	}
	lv.cfg = llhls.Config{
		SegmentMinDuration: cfg.segmentMin(),
		PartTarget:         cfg.PartMinDuration,
		SegmentCount:       cfg.SegmentCount,
		Schedule:           lv.sched,
		Metadata:           lv.tl.Announcements,
	}
	var tracks llhls.Tracks
	if h := t.H264; h != nil {
		tracks.SPS, tracks.PPS = h.SPS, h.PPS
	}
	switch {
	case t.AAC != nil:
		tracks.AAC = t.AAC
	case t.Opus != nil:
		tracks.OpusChannels, lv.opus = t.Opus.ChannelCount, true
	}
	src := lv.cfg
	if ladder {
		src.Reports = lv.reportsFor("")
	}
	m, err := llhls.New(src, tracks)
	if err != nil {
		return nil, err
	}
	lv.source = m
	lv.setReportees()
	return lv, nil
}

// write packages one unit of the source; the calls must be serialised.
func (lv *live) write(u *stream.Unit) error {
	pts := ticks(u.PTS, videoClock)
	switch u.Kind {
	case stream.Video:
		lv.tl.Stamp(pts, u.NTP)
		return lv.source.WriteH264(pts, u.NTP, u.Payload)
	case stream.Audio:
		if lv.opus {
			if len(u.Payload) == 0 {
				return nil
			}
			return lv.source.WriteOpus(pts, u.NTP, u.Payload[0])
		}
		return lv.source.WriteAAC(pts, u.NTP, u.Payload...)
	}
	return nil
}

// reportsFor returns the rendition reports of a rung's (or, dir "", the source's) video
// playlist: every other video rendition of the channel, by its URI relative to this one.
func (lv *live) reportsFor(dir string) func(playlist string) []llhls.Report {
	return func(playlist string) []llhls.Report {
		if !strings.HasPrefix(playlist, "video") {
			return nil
		}
		rs := lv.reports.Load()
		if rs == nil {
			return nil
		}
		out := make([]llhls.Report, 0, len(*rs))
		for _, r := range *rs {
			if r.dir == dir {
				continue
			}
			msn, part, ok := r.m.Edge(playlist)
			if !ok {
				continue
			}
			uri := playlist
			if r.dir != "" {
				uri = r.dir + "/" + uri
			}
			if dir != "" {
				uri = "../" + uri
			}
			out = append(out, llhls.Report{URI: uri, MSN: msn, Part: part})
		}
		return out
	}
}

// setReportees refreshes the snapshot of the renditions that report each other.
func (lv *live) setReportees() {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	rs := []reportee{{dir: "", m: lv.source}}
	for _, r := range lv.rungs {
		if m := r.muxer(); m != nil {
			rs = append(rs, reportee{dir: r.Name, m: m})
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].dir < rs[j].dir })
	lv.reports.Store(&rs)
}

// close ends the packaging: every playlist gets EXT-X-ENDLIST. Later calls do nothing.
func (lv *live) close() {
	lv.mu.Lock()
	if lv.closed {
		lv.mu.Unlock()
		return
	}
	lv.closed = true
	rungs := make([]*Rung, 0, len(lv.rungs))
	for _, r := range lv.rungs {
		rungs = append(rungs, r)
	}
	lv.mu.Unlock()
	lv.source.Close()
	for _, r := range rungs {
		r.Close()
	}
	close(lv.ended)
}

// final returns the last media playlists of every rendition, by key, once closed.
func (lv *live) final() map[string][]byte {
	out := map[string][]byte{}
	add := func(dir string, m *llhls.Muxer) {
		for _, name := range m.Playlists() {
			if body, _, _, _ := m.Playlist(name); body != nil {
				key := name
				if dir != "" {
					key = dir + "/" + name
				}
				out[key] = endPlaylist(body)
			}
		}
	}
	add("", lv.source)
	if rs := lv.reports.Load(); rs != nil {
		for _, r := range *rs {
			if r.dir != "" {
				add(r.dir, r.m)
			}
		}
	}
	return out
}

func (lv *live) rung(name string) *Rung {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	return lv.rungs[name]
}

func (lv *live) transcoded() bool {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	return lv.ladder
}

// Rung is one transcoded rendition of a live channel, written by the transcoder.
type Rung struct {
	Name string

	lv    *live
	audio *mpeg4audio.AudioSpecificConfig // its own (transcoded) audio; nil: it plays the source's

	mu     sync.Mutex
	m      *llhls.Muxer // made on the first keyframe, which carries the parameter sets
	closed bool
}

// AddRung adds a rendition to a live channel's ladder; audio is its own audio track's
// configuration, or nil for the source's audio. The channel's multivariant playlist lists
// it once its first segment is complete.
func (p *Packager) AddRung(channelID, name string, audio *mpeg4audio.AudioSpecificConfig) (*Rung, error) {
	if name == "" || strings.ContainsAny(name, "/?.") {
		return nil, fmt.Errorf("bad rendition name %q", name)
	}
	lv := p.live(channelID)
	if lv == nil {
		return nil, ErrNotLive
	}
	if lv.sched == nil {
		return nil, fmt.Errorf("%w: the channel is not transcoded", ErrNoLadder)
	}
	lv.mu.Lock()
	defer lv.mu.Unlock()
	if lv.rungs[name] != nil {
		return nil, fmt.Errorf("rendition %q already exists", name)
	}
	r := &Rung{Name: name, lv: lv, audio: audio}
	lv.rungs[name] = r
	return r, nil
}

// SetLadder marks a live channel as transcoded (or not), so that its multivariant playlist
// lists the rungs.
func (p *Packager) SetLadder(channelID string, on bool) error {
	lv := p.live(channelID)
	if lv == nil {
		return ErrNotLive
	}
	if on && lv.sched == nil {
		return fmt.Errorf("%w: the channel is not transcoded", ErrNoLadder)
	}
	lv.mu.Lock()
	lv.ladder = on
	lv.mu.Unlock()
	return nil
}

// Resync makes the rung wait for the next keyframe that starts a source segment, as after
// its transcoder restarts: the segments it misses meanwhile are listed as gaps, and its
// boundaries stay the source's.
func (r *Rung) Resync() {
	r.mu.Lock()
	m := r.m
	r.mu.Unlock()
	if m != nil {
		m.Resync()
	}
}

// WriteVideo writes an H.264 access unit; pts is in 90 kHz ticks from the stream's start, on
// the source's timeline.
func (r *Rung) WriteVideo(pts int64, au [][]byte) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrNotLive
	}
	made := false
	if r.m == nil {
		if err := r.start(au); err != nil || r.m == nil {
			r.mu.Unlock()
			return err
		}
		made = true
	}
	m := r.m
	r.mu.Unlock()
	if made {
		r.lv.mu.Lock()
		if r.lv.made[r.Name] == nil { // a rung added again after a Close keeps the first's name
			r.lv.made[r.Name] = m
		}
		r.lv.mu.Unlock()
		r.lv.setReportees()
	}
	err := m.WriteH264(pts, time.Time{}, au)
	if errors.Is(err, llhls.ErrClosed) {
		return ErrNotLive
	}
	return err
}

// start makes the muxer on the first keyframe's parameter sets.
func (r *Rung) start(au [][]byte) error {
	var sps, pps []byte
	for _, nalu := range au {
		if len(nalu) == 0 {
			continue
		}
		switch h264.NALUType(nalu[0] & 0x1f) {
		case h264.NALUTypeSPS:
			sps = nalu
		case h264.NALUTypePPS:
			pps = nalu
		}
	}
	if sps == nil || pps == nil {
		return nil
	}
	cfg := r.lv.cfg
	cfg.Follow = true
	cfg.Reports = r.lv.reportsFor(r.Name)
	m, err := llhls.New(cfg, llhls.Tracks{SPS: sps, PPS: pps, AAC: r.audio})
	if err != nil {
		return fmt.Errorf("starting the %s muxer: %w", r.Name, err)
	}
	r.m = m
	return nil
}

// WriteAudio writes AAC access units of the rung's own audio; pts is in 90 kHz ticks.
func (r *Rung) WriteAudio(pts int64, aus [][]byte) error {
	r.mu.Lock()
	m := r.m
	closed := r.closed
	r.mu.Unlock()
	if closed || m == nil || r.audio == nil {
		return nil
	}
	if err := m.WriteAAC(pts, time.Time{}, aus...); err != nil && !errors.Is(err, llhls.ErrClosed) {
		return err
	}
	return nil
}

// ready returns the rung's muxer once every playlist of it lists a complete segment.
func (r *Rung) ready() *llhls.Muxer {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.m == nil || !r.m.Ready() {
		return nil
	}
	return r.m
}

func (r *Rung) muxer() *llhls.Muxer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m
}

// Close takes the rung off the ladder and ends its playlists.
func (r *Rung) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	m := r.m
	r.mu.Unlock()
	r.lv.mu.Lock()
	if r.lv.rungs[r.Name] == r {
		delete(r.lv.rungs, r.Name)
	}
	r.lv.mu.Unlock()
	if m != nil {
		m.Close()
	}
	r.lv.setReportees()
}

// variant is one EXT-X-STREAM-INF of a multivariant playlist.
type variant struct {
	uri           string
	bandwidth     int
	average       int
	codecs        []string
	width, height int
	fps           float64
	audio         string // the audio group
}

// variantOf describes a muxer's video (or audio-only) rendition, its audio's figures added
// when the muxer carries its own.
func variantOf(m *llhls.Muxer) variant {
	video, audio := m.Info()
	if video.Codec == "" { // audio only
		video, audio = audio, llhls.Info{}
	}
	v := variant{bandwidth: video.Peak, average: video.Average, width: video.Width, height: video.Height, fps: video.FPS}
	if video.Codec != "" {
		v.codecs = append(v.codecs, video.Codec)
	}
	if audio.Codec != "" {
		v.codecs = append(v.codecs, audio.Codec)
		v.bandwidth += audio.Peak
		v.average += audio.Average
	}
	return v
}

type media struct{ group, name, uri string }

// renderMultivariant writes a multivariant playlist.
func renderMultivariant(media []media, variants []variant) []byte {
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:10\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	for _, m := range media {
		fmt.Fprintf(&b, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=%q,NAME=%q,AUTOSELECT=YES,DEFAULT=YES,URI=%q\n", m.group, m.name, m.uri)
	}
	for _, v := range variants {
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,AVERAGE-BANDWIDTH=%d,CODECS=%q", max(v.bandwidth, 1), max(v.average, 1), strings.Join(v.codecs, ","))
		if v.width > 0 && v.height > 0 {
			fmt.Fprintf(&b, ",RESOLUTION=%dx%d", v.width, v.height)
		}
		if v.fps > 0 {
			b.WriteString(",FRAME-RATE=" + strconv.FormatFloat(v.fps, 'f', 3, 64))
		}
		if v.audio != "" {
			fmt.Fprintf(&b, ",AUDIO=%q", v.audio)
		}
		b.WriteString("\n" + v.uri + "\n")
	}
	return []byte(b.String())
}

// muxerIndex is a muxer's own multivariant playlist: its video with its audio as a group.
func muxerIndex(m *llhls.Muxer) ([]byte, bool) {
	if !m.Ready() {
		return nil, false
	}
	names := m.Playlists()
	v := variantOf(m)
	v.uri = names[0]
	var md []media
	if len(names) > 1 {
		md = append(md, media{group: "audio", name: "main", uri: names[1]})
		v.audio = "audio"
	}
	return renderMultivariant(md, []variant{v}), true
}

// multivariant renders a transcoded channel's multivariant playlist: the source first (hls.js
// starts on the first listed), then each rung that has a whole segment, highest first. The
// URIs carry no query: every viewer loads the same ones.
func (lv *live) multivariant() ([]byte, bool) {
	if !lv.source.Ready() {
		return nil, false
	}
	lv.mu.Lock()
	rungs := make([]*Rung, 0, len(lv.rungs))
	for _, r := range lv.rungs {
		rungs = append(rungs, r)
	}
	lv.mu.Unlock()

	names := lv.source.Playlists()
	src := variantOf(lv.source)
	src.uri = names[0]
	var md []media
	var sourceAudio llhls.Info
	if len(names) > 1 {
		_, sourceAudio = lv.source.Info()
		md = append(md, media{group: "audio", name: "source", uri: names[1]})
		src.audio = "audio"
	}
	variants := []variant{src}
	var rungVariants []variant
	for _, r := range rungs {
		m := r.ready()
		if m == nil {
			continue
		}
		v := variantOf(m)
		rn := m.Playlists()
		v.uri = r.Name + "/" + rn[0]
		switch {
		case len(rn) > 1: // its own audio
			group := "audio-" + r.Name
			md = append(md, media{group: group, name: r.Name, uri: r.Name + "/" + rn[1]})
			v.audio = group
		case sourceAudio.Codec != "":
			v.audio = "audio"
			v.codecs = append(v.codecs, sourceAudio.Codec)
			v.bandwidth += sourceAudio.Peak
			v.average += sourceAudio.Average
		}
		rungVariants = append(rungVariants, v)
	}
	sort.SliceStable(rungVariants, func(i, j int) bool { return rungVariants[i].height > rungVariants[j].height })
	return renderMultivariant(md, append(variants, rungVariants...)), true
}
