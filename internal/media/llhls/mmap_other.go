//go:build !linux

package llhls

// mapArena, where slabs are not mapped from the OS, takes them from the Go heap: correct,
// without the memory saving.
func mapArena(n int) []byte { return make([]byte, n) }

func releasePages([]byte) {}
