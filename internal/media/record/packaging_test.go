package record

import (
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/media/cues"
	"github.com/livehouse/livehouse/internal/media/hls"
	"github.com/livehouse/livehouse/internal/media/llhls"
	"github.com/livehouse/livehouse/internal/media/stream"
)

// livePackaging is a session's live packaging as the hls packager makes it, for the tests
// that drive the recorder without a streams session: real llhls muxers cutting the live
// output's 2 s segments (hls cuts at 1.85 s, for keyframes a hair short of 2 s) of 200 ms parts, the rungs following the source's schedule, the
// stream's cue timeline writing emsg into the fragments. Its window holds a whole test
// session (64 segments), since the tests publish faster than real time.
type livePackaging struct {
	src   *llhls.Muxer
	cfg   llhls.Config
	tl    *cues.Timeline
	ended chan struct{}

	mu    sync.Mutex
	rungs map[string]*llhls.Muxer
}

// liveWindow is the test packaging's window, in segments.
const liveWindow = 64

func newLivePackaging(t testing.TB, tracks stream.Tracks, window int) *livePackaging {
	t.Helper()
	tl := &cues.Timeline{Keep: 60 * llhls.VideoClock}
	cfg := llhls.Config{SegmentMinDuration: 1850 * time.Millisecond, PartTarget: 200 * time.Millisecond, SegmentCount: window,
		Schedule: &llhls.Schedule{}, Metadata: tl.Announcements}
	lt := llhls.Tracks{AAC: tracks.AAC}
	if tracks.H264 != nil {
		lt.SPS, lt.PPS = tracks.H264.SPS, tracks.H264.PPS
	}
	src, err := llhls.New(cfg, lt)
	if err != nil {
		t.Fatal(err)
	}
	return &livePackaging{src: src, cfg: cfg, tl: tl, ended: make(chan struct{}), rungs: map[string]*llhls.Muxer{}}
}

func (p *livePackaging) Source() *llhls.Muxer   { return p.src }
func (p *livePackaging) Ended() <-chan struct{} { return p.ended }
func (p *livePackaging) Rungs() map[string]*llhls.Muxer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.rungs)
}

// write packages a unit of the source, as the packager's tap does.
func (p *livePackaging) write(u *stream.Unit) {
	pts := u.PTS.Nanoseconds() / 1000 * llhls.VideoClock / 1_000_000
	switch u.Kind {
	case stream.Video:
		p.tl.Stamp(pts, u.NTP)
		_ = p.src.WriteH264(pts, u.NTP, u.Payload)
	case stream.Audio:
		_ = p.src.WriteAAC(pts, u.NTP, u.Payload...)
	}
}

// addRung adds a rung's muxer, following the source, made on its first keyframe's parameter
// sets (as hls.Rung makes it).
func (p *livePackaging) addRung(t testing.TB, name string, sps, pps []byte) *llhls.Muxer {
	t.Helper()
	cfg := p.cfg
	cfg.Follow = true
	m, err := llhls.New(cfg, llhls.Tracks{SPS: sps, PPS: pps})
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.rungs[name] = m
	p.mu.Unlock()
	return m
}

// close ends the packaging, as the packager does once the session has ended.
func (p *livePackaging) close() {
	p.src.Close()
	for _, m := range p.Rungs() {
		m.Close()
	}
	close(p.ended)
}

// packagings is the recorder's Packager in the tests: the packaging of each channel.
type packagings struct {
	mu sync.Mutex
	by map[string]Packaging
}

func (ps *packagings) set(channelID string, p Packaging) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.by == nil {
		ps.by = map[string]Packaging{}
	}
	ps.by[channelID] = p
}

func (ps *packagings) Packaging(channelID string) (Packaging, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, ok := ps.by[channelID]
	return p, ok
}

// hlsPackager is the real hls packager as the recorder's Packager (cmd/livehouse's adapter).
type hlsPackager struct{ p *hls.Packager }

func (h hlsPackager) Packaging(channelID string) (Packaging, bool) {
	pk, ok := h.p.Packaging(channelID)
	if !ok {
		return nil, false
	}
	return pk, true
}
