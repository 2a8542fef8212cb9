package llhls

// MemoryStats is what the process's muxers hold.
type MemoryStats struct {
	Media   int64 // bytes of media in the windows: parts of the segments listed and in progress
	OffHeap int64 // bytes of slabs outside the Go heap in use or kept warm for reuse (resident)
	Mapped  int64 // bytes of slabs ever mapped (address space; free ones' pages given back)
}

// Stats sums the memory of every muxer of the process.
func Stats() MemoryStats {
	return MemoryStats{
		Media:   mediaHeld.Load(),
		OffHeap: (slabsInUse.Load() + slabsWarm.Load()) * slabSize,
		Mapped:  slabsMapped.Load() * slabSize,
	}
}
