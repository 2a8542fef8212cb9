package thumbnail

import (
	"context"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/media/stream"
)

// BenchmarkThumbnail measures one live thumbnail of a 720p keyframe: ffmpeg's wall time
// (ms/thumbnail) and CPU time (cpu-ms/thumbnail, user + system), and what that costs a stream
// at one thumbnail every DefaultConfig.Every (cpu-s/stream-minute). Figures only; it asserts
// no speed.
//
//	go test -run '^$' -bench BenchmarkThumbnail -count 6 ./internal/media/thumbnail/
func BenchmarkThumbnail(b *testing.B) {
	c := makeClip(b, "1")
	var key []byte
	for _, u := range c.units {
		if u.Key {
			frame, err := annexB(&stream.H264{SPS: c.sps, PPS: c.pps}, u.Payload)
			if err != nil {
				b.Fatal(err)
			}
			key = frame
			break
		}
	}
	var cpu, wall time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		_, used, err := Decode(context.Background(), "ffmpeg", key, DefaultConfig.Width, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		wall += time.Since(start)
		cpu += used
		n++
	}
	perThumb := cpu.Seconds() / float64(n)
	b.ReportMetric(wall.Seconds()*1000/float64(n), "ms/thumbnail")
	b.ReportMetric(perThumb*1000, "cpu-ms/thumbnail")
	b.ReportMetric(perThumb*float64(time.Minute)/float64(DefaultConfig.Every), "cpu-s/stream-minute")
}
