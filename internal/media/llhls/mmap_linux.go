package llhls

import "syscall"

// mapArena maps n bytes of anonymous memory outside the Go heap. The kernel gives the pages
// on first touch, zeroed.
func mapArena(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	if err != nil {
		// The process is out of address space or over its limits: as the Go heap would, fail.
		panic("llhls: mapping part memory: " + err.Error())
	}
	return b
}

// releasePages gives a free slab's pages back to the OS; they read as zero when touched again.
func releasePages(b []byte) {
	_ = syscall.Madvise(b, syscall.MADV_DONTNEED)
}
