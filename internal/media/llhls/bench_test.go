package llhls_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/livehouse/livehouse/internal/media/llhls"
)

// BenchmarkWriteStream is the packager's cost per unit of a 720p30 3 Mbps stream with
// 128 kbps AAC (keyframes of 80 kB every 2 s): one op is one second of media, 30 video frames
// and about 47 AAC units, each a fresh allocation as ingest makes; ns/unit is per unit.
func BenchmarkWriteStream(b *testing.B) {
	sps := []byte{0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02, 0x27, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9, 0x20}
	pps := []byte{0x08, 0x06, 0x07, 0x08}
	aac := &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelConfig: 2}
	m, err := llhls.New(llhls.Config{SegmentMinDuration: 2 * time.Second, PartTarget: 200 * time.Millisecond, SegmentCount: 7},
		llhls.Tracks{SPS: sps, PPS: pps, AAC: aac})
	if err != nil {
		b.Fatal(err)
	}
	const key, delta, audio = 80_000, (750_000 - 80_000) / 59, 341
	t0 := time.Now()
	i, a, units := 0, int64(0), 0
	b.SetBytes(3_128_000 / 8)
	cpu0 := cpuNs()
	for b.Loop() {
		for range 30 {
			pts := int64(i) * 3000
			var au [][]byte
			if i%60 == 0 {
				au = [][]byte{sps, pps, nalu(0x65, key)}
			} else {
				au = [][]byte{nalu(0x41, delta)}
			}
			if err := m.WriteH264(pts, t0, au); err != nil {
				b.Fatal(err)
			}
			for ; a <= pts; a += 1920 {
				if err := m.WriteAAC(a, t0, make([]byte, audio)); err != nil {
					b.Fatal(err)
				}
				units++
			}
			i++
			units++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(units), "ns/unit")
	b.ReportMetric(float64(cpuNs()-cpu0)/float64(units), "cpu-ns/unit")
}

// cpuNs is the process's CPU time (user and system, every thread: the collector's too), a
// fairer measure than the wall clock on a machine others are using.
func cpuNs() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func nalu(typ byte, size int) []byte {
	b := make([]byte, size)
	b[0], b[1] = typ, 0x88
	return b
}
