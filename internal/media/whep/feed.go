package whep

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/streams"
)

// Bounds of the group of pictures a feed keeps for joining viewers: 10 s at 60 fps, and
// 16 MB (a keyframe interval of several seconds at a high bitrate). A longer group is cut
// short: viewers joining then wait for the next keyframe.
const (
	maxGOPUnits = 600
	maxGOPBytes = 16 << 20
)

// item is one thing a viewer sends: a video access unit or an Opus packet.
type item struct {
	video bool
	key   bool
	pts   time.Duration
	au    [][]byte // video
	opus  []byte   // audio
}

// feed is one live session's side of WHEP: it keeps the current group of pictures and hands
// each unit to the session's viewers. Its unit method is the session's tap.
type feed struct {
	srv      *Server
	channel  string
	passOpus bool              // the source's audio is Opus: passed through
	encode   func() *opusCoder // starts the AAC→Opus transcoder; nil without AAC
	pending  atomic.Int64      // viewers admitted and not yet joined (for the channel cap)

	mu       sync.Mutex
	gop      []*stream.Unit // video units since the last keyframe
	gopBytes int
	viewers  map[*viewer]struct{}
	coder    *opusCoder // running while the feed has viewers (AAC sources only)
	ended    bool
}

func newFeed(s *Server, v *streams.View) *feed {
	f := &feed{srv: s, channel: v.Channel.ID, viewers: map[*viewer]struct{}{}}
	switch {
	case v.Tracks.Opus != nil:
		f.passOpus = true
	case v.Tracks.AAC != nil:
		cfg := *v.Tracks.AAC
		f.encode = func() *opusCoder { return startOpusCoder(s.cfg.FFmpeg, cfg, s.log, f.opus) }
	}
	return f
}

// hasAudio reports whether the feed sends audio.
func (f *feed) hasAudio() bool { return f.passOpus || f.encode != nil }

// unit is the session's tap: quick, and never waits.
func (f *feed) unit(u *stream.Unit) streams.Report {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch u.Kind {
	case stream.Video:
		f.keep(u)
		for v := range f.viewers {
			v.offerVideo(u)
		}
	case stream.Audio:
		switch {
		case f.passOpus:
			it := item{pts: u.PTS, opus: u.Payload[0]}
			for v := range f.viewers {
				v.offerAudio(it)
			}
		case f.coder != nil:
			f.coder.write(u)
		}
	}
	return streams.Report{}
}

// keep adds a video unit to the current group of pictures.
func (f *feed) keep(u *stream.Unit) {
	if u.Key {
		f.gop, f.gopBytes = nil, 0 // joined viewers hold the old slice
	}
	if len(f.gop) == 0 && !u.Key {
		return // the group was cut short: wait for a keyframe
	}
	n := 0
	for _, p := range u.Payload {
		n += len(p)
	}
	if len(f.gop) >= maxGOPUnits || f.gopBytes+n > maxGOPBytes {
		f.gop, f.gopBytes = nil, 0
		return
	}
	f.gop = append(f.gop, u)
	f.gopBytes += n
}

// opus hands a transcoded Opus packet to every viewer.
func (f *feed) opus(pts time.Duration, pkt []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := item{pts: pts, opus: pkt}
	for v := range f.viewers {
		v.offerAudio(it)
	}
}

// join adds a viewer, first handing it the current group of pictures so that it starts at a
// keyframe at once. It reports false once the feed has ended.
func (f *feed) join(v *viewer) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending.Add(-1)
	v.joined = true
	if f.ended {
		return false
	}
	if len(f.gop) == 0 {
		v.waitKey = true
	}
	for _, u := range f.gop {
		v.offerVideo(u)
	}
	f.viewers[v] = struct{}{}
	if f.encode != nil && f.coder == nil && v.audio != nil {
		f.coder = f.encode()
	}
	return true
}

// leave removes a viewer; the transcoder stops with the last one.
func (f *feed) leave(v *viewer) {
	f.mu.Lock()
	if !v.joined {
		v.joined = true
		f.pending.Add(-1)
	}
	delete(f.viewers, v)
	var coder *opusCoder
	if len(f.viewers) == 0 {
		coder, f.coder = f.coder, nil
	}
	f.mu.Unlock()
	if coder != nil {
		coder.stop()
	}
}

// count is the number of viewers that joined.
func (f *feed) count() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int64(len(f.viewers))
}

// close ends the feed and its viewers.
func (f *feed) close(reason string) {
	f.mu.Lock()
	f.ended = true
	all := make([]*viewer, 0, len(f.viewers))
	for v := range f.viewers {
		all = append(all, v)
	}
	coder := f.coder
	f.coder = nil
	f.mu.Unlock()
	for _, v := range all {
		v.close(reason)
	}
	if coder != nil {
		coder.stop()
	}
}
