package record

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/recordings"
	"github.com/livehouse/livehouse/internal/storage"
	"github.com/livehouse/livehouse/internal/streams"
)

// nullStore takes every object and keeps nothing, so the benchmark measures the recorder.
type nullStore struct{ storage.Store }

func (nullStore) Put(_ context.Context, _ string, r io.Reader, _ int64) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

// BenchmarkRecordStreamMinute records one minute of a 30 fps, 3 Mbps stream with AAC per
// iteration, as packaged by the live output once before the loop (its muxing is the live
// output's cost, not the recorder's): taking its segments, joining them into objects and
// handing them to a store that discards them. The recorder's own CPU per stream-minute,
// without the storage's.
func BenchmarkRecordStreamMinute(b *testing.B) {
	folder, err := storage.NewFolder(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	media := nullStore{folder}
	tracks := stream.Tracks{H264: &stream.H264{SPS: sps1080, PPS: pps1080}, AAC: aac}
	pk := newLivePackaging(b, tracks, liveWindow)
	rec := newTestRecorder(testConfig, &fakeRecordings{}, media, &packagings{})
	v := streams.NewView("st-bench", streams.Channel{ID: "ch1", UserID: "u1"}, stream.New(tracks))
	// A minute of units: 3 Mbps of video in 30 frames a second, keyframes every 2 s at 8x.
	frame := 3_000_000 / 8 / 30
	audio := time.Duration(0)
	for i := range 30 * 60 {
		pts := time.Duration(i) * time.Second / 30
		u := &stream.Unit{Kind: stream.Video, PTS: pts, NTP: t0.Add(pts)}
		if i%60 == 0 {
			u.Key, u.Payload = true, [][]byte{sps1080, pps1080, append([]byte{0x65}, make([]byte, 4*frame)...)}
		} else {
			u.Payload = [][]byte{append([]byte{0x41}, make([]byte, frame*5/6)...)}
		}
		pk.write(u)
		for ; audio < pts; audio += 1024 * time.Second / 48000 {
			pk.write(&stream.Unit{Kind: stream.Audio, PTS: audio, NTP: t0.Add(audio), Payload: [][]byte{make([]byte, 340)}})
		}
	}
	pk.close()
	var bytes int64
	for b.Loop() {
		s, err := rec.newSession(v, &recordings.Recording{ID: "st-bench", Prefix: "recordings/ch1/st-bench/"}, pk, new(atomic.Int64))
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); s.write(context.Background(), context.Background()) }()
		s.collect(context.Background(), make(chan streams.Report, 16), true)
		close(s.jobs)
		<-done
		bytes = int64(rec.writtenBytes())
	}
	b.ReportMetric(float64(bytes)/float64(b.N)/60, "bytes/stream-s")
}
