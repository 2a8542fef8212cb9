package llhls

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/media/llhls/validate"
)

// poisoned makes released slabs show, for the rest of the test: a slab released while a
// reader still uses it reads as 0xdb (or, its pages given back, 0).
func poisoned(t testing.TB) {
	poison.Store(true)
	t.Cleanup(func() { poison.Store(false) })
}

// feed writes seconds of 3 Mbps video at 30 fps and 128 kbps AAC, from frame *i on, each
// frame's payload one marker byte repeated (never 0 or 0xdb, the poison).
func feed(t testing.TB, m *Muxer, i *int, seconds int) {
	t.Helper()
	for range seconds * 30 {
		pts, au := frame(*i, 60, sps1080, pps1080)
		au[len(au)-1] = append(au[len(au)-1][:3:3], bytes.Repeat([]byte{marker(*i)}, 12_000)...)
		if err := m.WriteH264(pts, t0, au); err != nil {
			t.Fatal(err)
		}
		for a := pts; a < pts+3000; a += 1920 {
			if err := m.WriteAAC(a, t0, bytes.Repeat([]byte{marker(*i)}, 340)); err != nil {
				t.Fatal(err)
			}
		}
		*i++
	}
}

func marker(i int) byte { return byte(1 + i%200) }

func join(pieces [][]byte) []byte { return bytes.Join(pieces, nil) }

// TestReaderKeepsItsBytes: bytes a reader opened stay as they were while it holds them,
// though the window turns over many times and their slabs would otherwise be reused.
func TestReaderKeepsItsBytes(t *testing.T) {
	poisoned(t)
	m, err := New(testConfig, Tracks{SPS: sps1080, PPS: pps1080, AAC: aac})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	i := 0
	feed(t, m, &i, 20)
	var held []*Bytes
	var want [][]byte
	for _, name := range m.Playlists() {
		body, _, _, _ := m.Playlist(name)
		pl, err := validate.Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		seg := pl.Segments[len(pl.Segments)-1]
		for _, uri := range []string{pl.Segments[0].URI, seg.URI, seg.Parts[0].URI} {
			b, ok := m.Open(context.Background(), uri, time.Second)
			if !ok {
				t.Fatalf("no %s", uri)
			}
			held, want = append(held, b), append(want, join(b.Pieces))
		}
	}
	feed(t, m, &i, 40) // the window (16 s) turns over more than twice
	for k, b := range held {
		if !bytes.Equal(join(b.Pieces), want[k]) {
			t.Fatalf("bytes %d changed while held", k)
		}
	}
	// What was released is no longer the media (the test above can fail).
	pieces := held[0].Pieces
	held[0].Release()
	held[0].Release() // a second release does nothing
	if bytes.Equal(join(pieces), want[0]) {
		t.Error("a released segment out of the window still holds its bytes: the slabs were not recycled")
	}
	for _, b := range held[1:] {
		b.Release()
	}
}

// TestConcurrentReaders: readers open, check and hold parts and segments while the muxer
// writes (run with -race); every byte they hold is the part's, as the mfhd's sequence
// number and the payload's marker show, until they release it.
func TestConcurrentReaders(t *testing.T) {
	poisoned(t)
	m, err := New(testConfig, Tracks{SPS: sps1080, PPS: pps1080, AAC: aac})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	i := 0
	feed(t, m, &i, 3)
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(r), 1))
			type open struct {
				b    *Bytes
				want []byte
			}
			var mine []open
			for {
				select {
				case <-done:
					for _, o := range mine {
						o.b.Release()
					}
					return
				default:
				}
				name := m.Playlists()[rnd.IntN(2)]
				body, changed, _, _ := m.Playlist(name)
				pl, err := validate.Parse(body)
				if err != nil {
					errs <- err
					return
				}
				seg := pl.Segments[rnd.IntN(len(pl.Segments))]
				uri := seg.URI
				if len(seg.Parts) > 0 && rnd.IntN(2) == 0 {
					p := seg.Parts[rnd.IntN(len(seg.Parts))]
					uri = p.URI
				}
				b, ok := m.Open(context.Background(), uri, time.Second)
				if !ok {
					continue // gone from the window meanwhile
				}
				got := join(b.Pieces)
				if err := checkFragments(got); err != nil {
					errs <- fmt.Errorf("%s: %w", uri, err)
					return
				}
				mine = append(mine, open{b, got})
				for len(mine) > 6 || len(mine) > 0 && rnd.IntN(3) == 0 {
					k := rnd.IntN(len(mine))
					if !bytes.Equal(join(mine[k].b.Pieces), mine[k].want) {
						errs <- fmt.Errorf("held bytes changed")
						return
					}
					mine[k].b.Release()
					mine = append(mine[:k], mine[k+1:]...)
				}
				select { // hold across the next change
				case <-changed:
				case <-done:
				}
			}
		}()
	}
	feed(t, m, &i, 40)
	close(done)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// checkFragments checks that b is whole moof+mdat fragments whose media is not poison.
func checkFragments(b []byte) error {
	for len(b) > 0 {
		if len(b) < 8 {
			return fmt.Errorf("%d trailing bytes", len(b))
		}
		size := int(binary.BigEndian.Uint32(b))
		typ := string(b[4:8])
		if size < 8 || size > len(b) {
			return fmt.Errorf("box %q of %d bytes in %d", typ, size, len(b))
		}
		switch typ {
		case "moof":
		case "mdat":
			for _, bad := range []byte{0xdb, 0} {
				if bytes.Contains(b[8:size], bytes.Repeat([]byte{bad}, 64)) {
					return fmt.Errorf("a part's media is %#x: its slab was released", bad)
				}
			}
		default:
			return fmt.Errorf("box %q", typ)
		}
		b = b[size:]
	}
	return nil
}

// TestFreeGivesEverythingBack: Free releases the muxer's slabs and its media at once.
func TestFreeGivesEverythingBack(t *testing.T) {
	before, inUse := Stats(), slabsInUse.Load()
	m, err := New(testConfig, Tracks{SPS: sps1080, PPS: pps1080, AAC: aac})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	feed(t, m, &i, 20)
	mid := Stats()
	if mid.Media-before.Media < 5_000_000 {
		t.Fatalf("media held %d → %d", before.Media, mid.Media)
	}
	m.Free()
	m.Free()
	after := Stats()
	// Other tests' muxers may be collected meanwhile: the figures only go down.
	if after.Media > before.Media || slabsInUse.Load() > inUse {
		t.Errorf("after Free: %+v, before: %+v", after, before)
	}
	if _, ok := m.Media(context.Background(), m.prefix+"_video1_seg1.mp4", 0); ok {
		t.Error("a segment served after Free")
	}
	if err := m.WriteH264(0, t0, nil); err != ErrClosed {
		t.Errorf("write after Free: %v", err)
	}
}

// TestCollectedMuxerGivesItsSlabsBack: a muxer dropped without Free releases its slabs when
// it is collected.
func TestCollectedMuxerGivesItsSlabsBack(t *testing.T) {
	m, err := New(testConfig, Tracks{SPS: sps1080, PPS: pps1080, AAC: aac})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	feed(t, m, &i, 5)
	st := m.video.st
	if len(st.slabs) == 0 {
		t.Fatal("no slabs")
	}
	m = nil
	deadline := time.Now().Add(60 * time.Second)
	for {
		runtime.GC()
		st.mu.Lock()
		n := len(st.slabs)
		st.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d slabs still held a minute after the muxer was dropped", n)
		}
		runtime.Gosched()
	}
}

// TestForgottenReleaseIsCollected: bytes a reader drops without Release are given back once
// they are collected.
func TestForgottenReleaseIsCollected(t *testing.T) {
	m, err := New(testConfig, Tracks{SPS: sps1080, PPS: pps1080})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	i := 0
	feed(t, m, &i, 20)
	body, _, _, _ := m.Playlist("video1_stream.m3u8")
	pl, err := validate.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := m.Open(context.Background(), pl.Segments[0].URI, time.Second)
	if !ok {
		t.Fatal("no segment")
	}
	held := b.h.slabs[0]
	if n := held.refs.Load(); n != 2 {
		t.Fatalf("%d references to a listed segment's held slab", n)
	}
	b = nil
	deadline := time.Now().Add(60 * time.Second)
	for held.refs.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d references a minute after the reader dropped its bytes", held.refs.Load())
		}
		runtime.GC()
		runtime.Gosched()
	}
}

// FuzzStore: any sequence of allocations, window drops, reader holds and releases keeps every
// held byte as written, and freeing everything leaves no slab in use.
func FuzzStore(f *testing.F) {
	f.Add([]byte{0, 200, 1, 0, 2, 3, 0, 255, 4, 1})
	f.Add([]byte{0, 255, 0, 255, 0, 255, 0, 255, 1, 3, 2, 0, 3, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		poisoned(t)
		inUse := slabsInUse.Load()
		st := &store{}
		type rec struct {
			msn    uint64
			pieces [][]byte
			slabs  []*slab
			fill   byte
			size   int
		}
		var window []rec // allocations still in the window, oldest first
		var readers []*Bytes
		var readerWant [][]byte
		msn := uint64(0)
		fill := byte(0)
		for k := 0; k+1 < len(ops); k += 2 {
			op, arg := ops[k]%5, int(ops[k+1])
			switch op {
			case 0: // a part of segment msn
				n := 1 + arg*arg*3 // up to about three slabs
				fill++
				pieces, used := st.alloc(n, msn, nil, nil)
				for _, p := range pieces {
					for j := range p {
						p[j] = fill
					}
				}
				window = append(window, rec{msn: msn, pieces: pieces, slabs: used, fill: fill, size: n})
			case 1: // the next segment
				msn++
			case 2: // the oldest segment leaves the window
				if len(window) == 0 {
					continue
				}
				old := window[0].msn
				size := 0
				for len(window) > 0 && window[0].msn == old {
					size += window[0].size
					window = window[1:]
				}
				st.drop(old, size)
			case 3: // a reader holds a part in the window
				if len(window) == 0 {
					continue
				}
				r := window[arg%len(window)]
				b := &Bytes{}
				b.hold(&part{data: r.pieces, slabs: r.slabs})
				readers = append(readers, b)
				readerWant = append(readerWant, bytes.Repeat([]byte{r.fill}, r.size))
			case 4: // a reader releases
				if len(readers) == 0 {
					continue
				}
				j := arg % len(readers)
				if !bytes.Equal(join(readers[j].Pieces), readerWant[j]) {
					t.Fatalf("op %d: a reader's bytes changed", k/2)
				}
				readers[j].Release()
				readers = append(readers[:j], readers[j+1:]...)
				readerWant = append(readerWant[:j], readerWant[j+1:]...)
			}
			for _, r := range window {
				for _, p := range r.pieces {
					if p[0] != r.fill || p[len(p)-1] != r.fill {
						t.Fatalf("op %d: a part in the window changed", k/2)
					}
				}
			}
		}
		for j, b := range readers {
			if !bytes.Equal(join(b.Pieces), readerWant[j]) {
				t.Fatal("a reader's bytes changed")
			}
			b.Release()
		}
		st.free()
		if n := slabsInUse.Load(); n > inUse {
			t.Fatalf("%d slabs in use after everything was freed, %d before", n, inUse)
		}
	})
}

// TestPartsLate: a part published more than PART-TARGET after its newest frame arrived
// counts as late; one published as its media arrives does not.
func TestPartsLate(t *testing.T) {
	m, err := New(testConfig, Tracks{SPS: sps1080, PPS: pps1080})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	// Frames arrive in real time from base on; the packager sees each lag after its arrival.
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var clock time.Time
	wallNow = func() time.Time { return clock }
	t.Cleanup(func() { wallNow = time.Now })
	write := func(from, to int, lag time.Duration) {
		for i := from; i < to; i++ {
			pts, au := frame(i, 60, sps1080, pps1080)
			arrived := base.Add(time.Duration(pts) * time.Second / VideoClock)
			clock = arrived.Add(lag)
			if err := m.WriteH264(pts, arrived, au); err != nil {
				t.Fatal(err)
			}
		}
	}
	p0 := Parts()
	write(0, 90, 20*time.Millisecond)
	p1 := Parts()
	if p1.Made-p0.Made < 10 || p1.Late != p0.Late || p1.Slow != p0.Slow {
		t.Fatalf("on time: %+v → %+v", p0, p1)
	}
	write(90, 180, time.Second) // handed over a second after they arrived
	p2 := Parts()
	if p2.Made-p1.Made < 10 || p2.Late-p1.Late != p2.Made-p1.Made || p2.Slow-p1.Slow != p2.Made-p1.Made {
		t.Fatalf("a second behind: %+v → %+v", p1, p2)
	}
	// The publisher pauses for a second after frame 180: the part it ends is late, but the
	// server was not slow.
	base = base.Add(time.Second)
	write(180, 181, 20*time.Millisecond)
	p3 := Parts()
	if p3.Late-p2.Late != 1 || p3.Slow != p2.Slow {
		t.Fatalf("after a pause: %+v → %+v", p2, p3)
	}
}

// TestSegmentsAfterHoldTheirBytes: a recorder's segment (SegmentsAfter) keeps its bytes, not
// copies of them, until it is released, though its muxer's window of one segment moves on and
// its slabs would otherwise be reused; released, they go back to the pool.
func TestSegmentsAfterHoldTheirBytes(t *testing.T) {
	poisoned(t)
	cfg := Config{SegmentMinDuration: 4 * time.Second, PartTarget: 4 * time.Second, SegmentCount: 1}
	m, err := New(cfg, Tracks{SPS: sps1080, PPS: pps1080, AAC: aac})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	i := 0
	feed(t, m, &i, 5) // the first 4 s segment of each track is complete
	var held []Segment
	var want [][]byte
	for _, track := range m.Tracks() {
		segs := m.SegmentsAfter(track, -1)
		if len(segs) != 1 {
			t.Fatalf("%s: %d segments complete, want 1", track, len(segs))
		}
		held, want = append(held, segs[0]), append(want, bytes.Clone(join(segs[0].Parts)))
	}
	feed(t, m, &i, 20) // the window turns over five times
	for k, s := range held {
		if got := join(s.Parts); !bytes.Equal(got, want[k]) {
			t.Errorf("%s segment %d changed while held", s.Track, s.MSN)
		}
		s.Release()
		s.Release() // a second release does nothing
	}
	if got := join(held[0].Parts); bytes.Equal(got, want[0]) {
		t.Error("a released segment's slabs were not given back (its bytes still read as they were)")
	}
}
