package harness

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// FDs is the number of file descriptors the server has open now (0 once it has gone).
func (s *Server) FDs() int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	return len(entries)
}

// FDLimit is the server's soft cap on open files, from /proc (0 if unknown).
func (s *Server) FDLimit() int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				n, _ := strconv.Atoi(f[0])
				return n
			}
		}
	}
	return 0
}

// Alive reports whether the server process is still running (not exited, not a zombie
// waiting for Stop to reap it).
func (s *Server) Alive() bool {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(raw), ')')
	return i >= 0 && i+2 < len(raw) && raw[i+2] != 'Z' && raw[i+2] != 'X'
}

// Dir is the server's data directory (its database, uploads and mail outbox).
func (s *Server) Dir() string { return s.dir }

// Metric reads one unlabelled value from a Prometheus text endpoint at base + /metrics.
func Metric(base, name string) (float64, error) {
	res, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("%s not in %s/metrics", name, base)
}

// LiveHeap forces a collection through the profiler the server serves at debugAddr and
// returns the bytes of heap in use.
func (s *Server) LiveHeap(debugAddr string) float64 {
	if res, err := http.Get("http://" + debugAddr + "/debug/pprof/heap?gc=1"); err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	v, _ := Metric(s.Base, "go_memstats_heap_inuse_bytes")
	return v
}
