package streams

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/media/stream"
)

// discardMetrics is a HealthStore that keeps only the size of what it is given.
type discardMetrics struct {
	HealthStore
	bytes int
}

func (d *discardMetrics) PutStreamMetrics(_ context.Context, _ string, _ int64, points []byte) error {
	d.bytes = len(points)
	return nil
}

// oneSecond is a second of a 30 fps stream with 3 B-frames in decode order (2.5 Mbit/s) and
// 48 kHz AAC (128 kbit/s), starting at second s.
func oneSecond(s int) []*stream.Unit {
	var units []*stream.Unit
	base := 30 * s
	order := []int{0, 3, 1, 2}
	for i := 4; i < 30; i += 3 {
		order = append(order, i+2, i, i+1)
	}
	for _, i := range order[:30] {
		n := base + i
		units = append(units, &stream.Unit{Kind: stream.Video, PTS: frameTime(n), Key: n%60 == 0, Payload: [][]byte{make([]byte, 2_500_000/8/30)}})
	}
	for i := range 47 {
		units = append(units, &stream.Unit{Kind: stream.Audio, PTS: time.Duration(s)*time.Second + time.Duration(i)*aacFrame, Payload: [][]byte{make([]byte, 128_000/8/47)}})
	}
	return units
}

// BenchmarkSamplerSecond is the sampler's CPU cost for one second of one live stream: every
// unit of that second through the meter, the one-second sample, and the write of the
// minute every 5 seconds (to a store that discards it, so the database is not counted; see
// the sqlite package's BenchmarkStreamMetricsWrite for that). ns/op ÷ 1e9 is the share of
// a core one stream costs.
func BenchmarkSamplerSecond(b *testing.B) {
	h := NewHealth(&discardMetrics{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	s := h.newSampler("st-bench", "ch_bench")
	seconds := make([][]*stream.Unit, 60)
	for i := range seconds {
		seconds[i] = oneSecond(i)
	}
	i := 0
	for b.Loop() {
		for _, u := range seconds[i%60] {
			s.m.add(u)
		}
		s.add(s.m.sample(s.start.Add(time.Duration(i)*time.Second), time.Second))
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e9*100, "%core/stream")
}

// BenchmarkSamplerMemory is the memory one live stream's sampler holds: its state, a full
// minute of points and the reader queue of the fan-out (one pointer per unit slot).
func BenchmarkSamplerMemory(b *testing.B) {
	const streams = 1000
	for b.Loop() {
		h := NewHealth(&discardMetrics{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
		h.flushEvery = 1 << 30
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		samplers := make([]*sampler, streams)
		queues := make([]chan *stream.Unit, streams)
		for j := range samplers {
			samplers[j] = h.newSampler("st-bench", "ch_bench")
			queues[j] = make(chan *stream.Unit, samplerQueue)
			for k := range 60 {
				samplers[j].add(Point{At: samplers[j].start.Add(time.Duration(k) * time.Second)})
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(samplers)
		runtime.KeepAlive(queues)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/streams, "B/stream")
	}
}
