package llhls

// MemoryStats is what the process's muxers hold.
type MemoryStats struct {
	Media   int64 // bytes of media in the windows: parts of the segments listed and in progress
	OffHeap int64 // bytes mapped outside the Go heap for them, in use or kept for reuse
}

// Stats sums the memory of every muxer of the process.
func Stats() MemoryStats { return MemoryStats{} }
