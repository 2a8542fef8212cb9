package streams

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/channels"
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

// benchSeconds are ten minutes of a 30 fps stream with 3 B-frames in decode order
// (2.5 Mbit/s) and 48 kHz AAC (128 kbit/s), one slice of units per second. Payloads are
// shared: the sampler reads only their sizes.
var benchSeconds = func() [][]*stream.Unit {
	frame, aac := make([]byte, 2_500_000/8/30), make([]byte, 128_000/8/47)
	out := make([][]*stream.Unit, 600)
	for s := range out {
		order := []int{0, 3, 1, 2}
		for i := 4; i < 30; i += 3 {
			order = append(order, i+2, i, i+1)
		}
		for _, i := range order[:30] {
			n := 30*s + i
			out[s] = append(out[s], &stream.Unit{Kind: stream.Video, PTS: frameTime(n), Key: n%60 == 0, Payload: [][]byte{frame}})
		}
		for i := range 47 {
			out[s] = append(out[s], &stream.Unit{Kind: stream.Audio, PTS: time.Duration(s)*time.Second + time.Duration(i)*aacFrame, Payload: [][]byte{aac}})
		}
	}
	return out
}()

// BenchmarkSessionSecond is the CPU cost of a live session's own bookkeeping for one second
// of one stream, as it runs: the second's 77 units through the fan-out to the session's
// goroutine (starvation, the bitrate limit, the health meter), the one-second tick, and the
// write of the minute every 5 seconds (to a store that discards it, so the database is not
// counted; BenchmarkStreamMetrics12h in the store packages times the writes). ns/op ÷ 1e9 is
// the share of a core one stream costs; %core/stream says it.
func BenchmarkSessionSecond(b *testing.B) {
	h := NewHealth(&discardMetrics{}, fixedViewers(1), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	ticks := make(chan time.Time)
	h.ticker = func() (<-chan time.Time, func()) { return ticks, func() {} }
	box, _ := channels.NewKeyBox(make([]byte, 32))
	s := NewService(Deps{Store: newMemStore(), Box: box, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Health: h})
	s.starveAfter = time.Hour
	ch := &Channel{ID: "ch_bench", Type: "STANDARD"}
	st := stream.New(stream.Tracks{H264: &stream.H264{}})
	l, err := s.Begin(context.Background(), ch, st, func() {})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	i := 0
	for b.Loop() {
		for _, u := range benchSeconds[i%len(benchSeconds)] {
			st.Write(u)
		}
		i++
		ticks <- start.Add(time.Duration(i) * time.Second)
	}
	l.End("done")
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
		queues := make([]chan *stream.Unit, streams) // the session reader's
		for j := range samplers {
			samplers[j] = h.newSampler("st-bench", "ch_bench")
			queues[j] = make(chan *stream.Unit, sessionQueue)
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
