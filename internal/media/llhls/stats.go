package llhls

import (
	"sync/atomic"
	"time"
)

// MemoryStats is what the process's muxers hold.
type MemoryStats struct {
	Media   int64 // bytes of media in the windows: parts of the segments listed and in progress
	OffHeap int64 // bytes of slabs outside the Go heap in use or kept warm for reuse (resident)
	Mapped  int64 // bytes of slabs ever mapped (address space; free ones' pages given back)
}

// PartStats count the parts the process's muxers made from media with an arrival time (a
// ladder's rungs, made from the transcoder's output, have none).
type PartStats struct {
	Made int64
	// Late were published more than PART-TARGET after their newest sample arrived. A part is
	// complete when the sample after it arrives, so this counts the publisher's pauses too.
	Late int64
	// Slow were published more than PART-TARGET after the sample that completed them arrived:
	// the server's own delay (the packager, or the goroutine feeding it, fell behind).
	Slow int64
}

var partsMade, partsLate, partsSlow atomic.Int64

// wallNow is the time a part is published (tests replace it).
var wallNow = time.Now

// Parts sums the parts of every muxer of the process.
func Parts() PartStats {
	return PartStats{Made: partsMade.Load(), Late: partsLate.Load(), Slow: partsSlow.Load()}
}

// countPart counts a part published now whose newest sample arrived at newest, completed by
// a sample that arrived at completing.
func countPart(newest, completing time.Time, target time.Duration) {
	if newest.IsZero() || completing.IsZero() {
		return
	}
	partsMade.Add(1)
	now := wallNow()
	if now.Sub(newest) > target {
		partsLate.Add(1)
	}
	if now.Sub(completing) > target {
		partsSlow.Add(1)
	}
}

// Stats sums the memory of every muxer of the process.
func Stats() MemoryStats {
	return MemoryStats{
		Media:   mediaHeld.Load(),
		OffHeap: (slabsInUse.Load() + slabsWarm.Load()) * slabSize,
		Mapped:  slabsMapped.Load() * slabSize,
	}
}
