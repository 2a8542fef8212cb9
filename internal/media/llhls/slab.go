package llhls

import (
	"sync"
	"sync/atomic"
)

// Part bytes live outside the Go heap, in fixed-size slabs carved from memory mapped
// directly from the OS (mmap on Linux). The window of a 3 Mbps stream is about 6 MB; on the
// Go heap, the garbage every unit of ingest makes lets the heap grow to twice what is live
// before a collection (GOGC=100), so a stream cost twice its window. Off the heap, its
// media costs what it is, and the heap holds only the small things.
//
// A slab is reference-counted: the track holding parts in it has one reference until the
// last segment with bytes in it leaves the window, and each reader (Muxer.Open) one until it
// releases what it was given. At zero, the slab goes back to the pool for the next part of
// any stream; the pool keeps a few warm and gives the pages of the rest back to the OS
// (madvise MADV_DONTNEED) until it needs them again. Mapped memory is never unmapped, so a
// bug here could show a reader the wrong bytes, never crash the process; the tests poison
// released slabs to catch that.

const (
	slabSize  = 64 << 10
	arenaSize = 4 << 20 // mapped at once and carved into slabs
)

type slab struct {
	buf  []byte // slabSize long
	refs atomic.Int32
}

// slabPool is the process's slabs.
type slabPool struct {
	mu   sync.Mutex
	warm []*slab // free, pages resident
	cold []*slab // free, pages given back
}

var slabs slabPool

// Accounting, for Stats.
var (
	slabsMapped atomic.Int64 // slabs ever carved
	slabsInUse  atomic.Int64 // with a reference
	slabsWarm   atomic.Int64 // free with resident pages
	mediaHeld   atomic.Int64 // bytes of parts in windows
)

// poison, set by tests, fills released slabs so that a reader still using one shows.
var poison atomic.Bool

// warmLimit is how many free slabs keep their pages: enough for the churn of many streams
// (a 3 Mbps stream frees and takes about six a second), a small fraction of what is in use.
func warmLimit() int {
	return 64 + int(slabsInUse.Load()/16)
}

// get returns a slab with one reference.
func (p *slabPool) get() *slab {
	s := p.take()
	if s == nil {
		// Mapped outside the lock: should the OS refuse (out of memory, as the Go heap would
		// be), the panic leaves the pool usable.
		arena := mapArena(arenaSize)
		fresh := make([]*slab, 0, arenaSize/slabSize)
		for off := 0; off < len(arena); off += slabSize {
			fresh = append(fresh, &slab{buf: arena[off : off+slabSize : off+slabSize]})
		}
		slabsMapped.Add(int64(len(fresh)))
		s = fresh[0]
		p.mu.Lock()
		p.cold = append(p.cold, fresh[1:]...)
		p.mu.Unlock()
	}
	s.refs.Store(1)
	slabsInUse.Add(1)
	return s
}

// take returns a free slab, warm if there is one, or nil.
func (p *slabPool) take() *slab {
	p.mu.Lock()
	defer p.mu.Unlock()
	var s *slab
	switch {
	case len(p.warm) > 0:
		s = p.warm[len(p.warm)-1]
		p.warm[len(p.warm)-1] = nil
		p.warm = p.warm[:len(p.warm)-1]
		slabsWarm.Add(-1)
	case len(p.cold) > 0:
		s = p.cold[len(p.cold)-1]
		p.cold[len(p.cold)-1] = nil
		p.cold = p.cold[:len(p.cold)-1]
	}
	return s
}

// retain takes one more reference on a slab that has one.
func (s *slab) retain() {
	if s.refs.Add(1) <= 1 {
		panic("llhls: a released slab retained")
	}
}

// release drops a reference; the last returns the slab to the pool.
func (s *slab) release() {
	switch n := s.refs.Add(-1); {
	case n > 0:
		return
	case n < 0:
		panic("llhls: a slab released twice")
	}
	if poison.Load() {
		for i := range s.buf {
			s.buf[i] = 0xdb
		}
	}
	slabsInUse.Add(-1)
	p := &slabs
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.warm) < warmLimit() {
		p.warm = append(p.warm, s)
		slabsWarm.Add(1)
		return
	}
	releasePages(s.buf)
	p.cold = append(p.cold, s)
}

// span is where a part's bytes go: pieces of one or more slabs, written in order.
type span struct {
	pieces [][]byte
	i, off int
}

func (w *span) write(b []byte) {
	for len(b) > 0 {
		n := copy(w.pieces[w.i][w.off:], b)
		b, w.off = b[n:], w.off+n
		if w.off == len(w.pieces[w.i]) {
			w.i, w.off = w.i+1, 0
		}
	}
}

// store holds a track's part bytes: the slabs it references, oldest first, the newest
// being filled. It refers to nothing of its muxer, so that a cleanup can release it once
// the muxer is gone.
type store struct {
	mu    sync.Mutex // held by the muxer's writes and its cleanup, never long
	slabs []held
	off   int   // bytes used in the newest slab
	media int64 // bytes of parts held, for Stats
}

type held struct {
	s    *slab
	last uint64 // the newest segment with bytes in it
}

// alloc appends room for n bytes of segment msn to pieces, and the slab of each piece to
// used: exactly n bytes in all.
func (st *store) alloc(n int, msn uint64, pieces [][]byte, used []*slab) ([][]byte, []*slab) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.media += int64(n)
	mediaHeld.Add(int64(n))
	for n > 0 {
		if len(st.slabs) == 0 || st.off == slabSize {
			st.slabs = append(st.slabs, held{s: slabs.get()})
			st.off = 0
		}
		h := &st.slabs[len(st.slabs)-1]
		k := min(n, slabSize-st.off)
		pieces = append(pieces, h.s.buf[st.off:st.off+k:st.off+k])
		used = append(used, h.s)
		h.last = msn
		st.off += k
		n -= k
	}
	return pieces, used
}

// drop releases the slabs only segments up to msn (now out of the window) used, and
// accounts for the bytes of those segments' parts.
func (st *store) drop(msn uint64, bytes int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.media -= int64(bytes)
	mediaHeld.Add(-int64(bytes))
	i := 0
	for i < len(st.slabs)-1 && st.slabs[i].last <= msn { // the newest is being filled
		st.slabs[i].s.release()
		st.slabs[i] = held{}
		i++
	}
	st.slabs = st.slabs[i:]
}

// free releases every slab (the muxer is done or gone).
func (st *store) free() {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i, h := range st.slabs {
		h.s.release()
		st.slabs[i] = held{}
	}
	st.slabs, st.off = nil, 0
	mediaHeld.Add(-st.media)
	st.media = 0
}

// freeStores is the cleanup of a muxer the program no longer references.
func freeStores(stores []*store) {
	for _, st := range stores {
		st.free()
	}
}
