// Command llhls measures the memory the LL-HLS packager (internal/media/llhls) holds per
// stream, for `make bench`: N muxers are fed synthetic 720p30 3 Mbps H.264 + 128 kbps AAC,
// interleaved frame by frame as N live streams would arrive, for long enough to fill and turn
// over the window (7 segments of 2 s, 200 ms parts), each N in a fresh process of its own so
// that its RSS is clean. It prints, per stream: the process's RSS (peak and at the end, less
// the idle process's), the Go heap in use, the live heap after a collection, the media the
// packager holds outside the Go heap, and the CPU time per unit written.
//
// Every frame is a fresh allocation, as ingest makes one per unit: that garbage is what lets
// Go's heap grow to twice what is live (GOGC=100) between collections.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/livehouse/livehouse/internal/media/llhls"
)

var (
	streamsF = flag.String("streams", "1,10,50,100", "concurrent streams, each count measured in a process of its own")
	seconds  = flag.Int("seconds", 40, "seconds of media fed to every stream (the window is 16 s)")
	runs     = flag.Int("runs", 3, "processes per stream count; the figures are their medians")
	child    = flag.Int("child", 0, "internal: measure this many streams in this process and print JSON")
)

// result is what a child process measures.
type result struct {
	Streams   int
	IdleRSS   float64 // KiB, before any muxer
	PeakRSS   float64 // KiB, VmHWM at the end
	RSS       float64 // KiB, VmRSS at the end
	HeapInuse float64 // bytes, before the forced collection (the steady state)
	PeakHeap  float64 // bytes, largest HeapInuse sampled while feeding
	LiveHeap  float64 // bytes, HeapAlloc after runtime.GC
	OffHeap   float64 // bytes the packager holds outside the Go heap (llhls.Stats)
	Media     float64 // bytes of media the packager's windows hold (llhls.Stats)
	Units     int     // video frames and audio access units written
	CPUNs     float64 // user+system CPU of the feed
	WallNs    float64
	NumGC     uint32
	Mallocs   float64 // heap allocations while feeding, the feed's own one per unit included
}

func main() {
	flag.Parse()
	if *child > 0 {
		if err := measure(*child); err != nil {
			fmt.Fprintln(os.Stderr, "llhls bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := parent(); err != nil {
		fmt.Fprintln(os.Stderr, "llhls bench:", err)
		os.Exit(1)
	}
}

func parent() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("LL-HLS packager memory per stream (bench/llhls: synthetic 720p30 3 Mbps H.264 + 128 kbps AAC, %d s fed to each stream, 7 × 2 s segments + 200 ms parts, GOGC=%s, no memory limit; medians of %d processes per count)\n",
		*seconds, envOr("GOGC", "100"), *runs)
	fmt.Printf("%8s %12s %12s %12s %12s %12s %12s %10s %12s\n", "streams", "RSS/stream", "peakRSS/str", "heapInuse/s", "liveHeap/s", "offHeap/s", "media/s", "ns/unit", "allocs/unit")
	os.Stdout.Sync()
	for _, f := range strings.Split(*streamsF, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("bad stream count %q", f)
		}
		var rs []result
		for range *runs {
			cmd := exec.Command(self, "-child", strconv.Itoa(n), "-seconds", strconv.Itoa(*seconds))
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if err != nil {
				return fmt.Errorf("%d streams: %w", n, err)
			}
			var r result
			if err := json.Unmarshal(out, &r); err != nil {
				return fmt.Errorf("%d streams: %w: %s", n, err, out)
			}
			rs = append(rs, r)
		}
		med := func(f func(r result) float64) float64 {
			v := make([]float64, len(rs))
			for i, r := range rs {
				v[i] = f(r)
			}
			sort.Float64s(v)
			return v[len(v)/2]
		}
		mib := func(b float64) string { return fmt.Sprintf("%.2f MiB", b/(1<<20)) }
		per := func(f func(r result) float64) string { return mib(med(f) / float64(n)) }
		fmt.Printf("%8d %12s %12s %12s %12s %12s %12s %10.0f %12s\n", n,
			per(func(r result) float64 { return (r.RSS - r.IdleRSS) * 1024 }),
			per(func(r result) float64 { return (r.PeakRSS - r.IdleRSS) * 1024 }),
			per(func(r result) float64 { return r.HeapInuse }),
			per(func(r result) float64 { return r.LiveHeap }),
			per(func(r result) float64 { return r.OffHeap }),
			per(func(r result) float64 { return r.Media }),
			med(func(r result) float64 { return r.CPUNs / float64(r.Units) }),
			fmt.Sprintf("%.2f", med(func(r result) float64 { return r.Mallocs / float64(r.Units) })))
	}
	fmt.Println("  RSS: the process's at the end less the idle process's (before any muxer); peakRSS: VmHWM less the same; heapInuse: Go heap spans in use at the end, before a collection;")
	fmt.Println("  liveHeap: heap after runtime.GC; offHeap: part bytes the packager keeps outside the Go heap; media: bytes of media in the windows (segments listed + the one in progress);")
	fmt.Println("  ns/unit: the feeding process's CPU time (user+system, all threads, GC included) per video frame or AAC unit written, at full speed;")
	fmt.Println("  allocs/unit: heap allocations per unit, the feed's own one (the unit's bytes, as ingest makes) included")
	return nil
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

var (
	// x264's baseline 1080p parameter sets (decode order is presentation order); the sizes
	// below, not these, make the stream 720p-like.
	sps = []byte{0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02, 0x27, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9, 0x20}
	pps = []byte{0x08, 0x06, 0x07, 0x08}
	aac = &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelConfig: 2}
)

// Frame sizes of 3 Mbps at 30 fps with a keyframe every 2 s: keyframes 80 kB, the others
// sharing the rest; AAC at 128 kbps.
const (
	fps       = 30
	gop       = 60
	keySize   = 80_000
	deltaSize = (3_000_000/8*gop/fps - keySize) / (gop - 1)
	aacSize   = 128_000 / 8 * 1024 / 48000
)

func measure(n int) error {
	runtime.GC()
	idle := status("VmRSS")
	cfg := llhls.Config{SegmentMinDuration: 2 * time.Second, PartTarget: 200 * time.Millisecond, SegmentCount: 7}
	ms := make([]*llhls.Muxer, n)
	for i := range ms {
		m, err := llhls.New(cfg, llhls.Tracks{SPS: sps, PPS: pps, AAC: aac})
		if err != nil {
			return err
		}
		ms[i] = m
	}
	var r result
	r.Streams, r.IdleRSS = n, idle
	var st runtime.MemStats
	runtime.ReadMemStats(&st)
	mallocs0 := st.Mallocs
	start, cpu0 := time.Now(), cpuNs()
	t0 := time.Now()
	audio := make([]int64, n)
	for i := range *seconds * fps {
		pts := int64(i) * 90000 / fps
		ntp := t0.Add(time.Duration(pts) * time.Second / 90000)
		for j, m := range ms {
			var au [][]byte
			if i%gop == 0 {
				au = [][]byte{sps, pps, nalu(0x65, keySize)}
			} else {
				au = [][]byte{nalu(0x41, deltaSize)}
			}
			if err := m.WriteH264(pts, ntp, au); err != nil {
				return err
			}
			r.Units++
			for ; audio[j] <= pts; audio[j] += 1920 { // 1024 samples at 48 kHz
				if err := m.WriteAAC(audio[j], ntp, make([]byte, aacSize)); err != nil {
					return err
				}
				r.Units++
			}
		}
		if i%fps == 0 {
			runtime.ReadMemStats(&st)
			r.PeakHeap = max(r.PeakHeap, float64(st.HeapInuse))
		}
	}
	r.CPUNs, r.WallNs = float64(cpuNs()-cpu0), float64(time.Since(start))
	runtime.ReadMemStats(&st)
	r.HeapInuse, r.NumGC, r.Mallocs = float64(st.HeapInuse), st.NumGC, float64(st.Mallocs-mallocs0)
	r.RSS, r.PeakRSS = status("VmRSS"), status("VmHWM")
	s := llhls.Stats()
	r.OffHeap, r.Media = float64(s.OffHeap), float64(s.Media)
	runtime.GC()
	runtime.ReadMemStats(&st)
	r.LiveHeap = float64(st.HeapAlloc)
	debug.FreeOSMemory()
	runtime.KeepAlive(ms)
	return json.NewEncoder(os.Stdout).Encode(r)
}

func nalu(typ byte, size int) []byte {
	b := make([]byte, size)
	b[0], b[1] = typ, 0x88
	return b
}

func cpuNs() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// status reads a KiB figure (VmRSS, VmHWM) of this process from /proc.
func status(key string) float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			kb, _ := strconv.ParseFloat(strings.Fields(v)[0], 64)
			return kb
		}
	}
	return 0
}
