package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"time"

	"github.com/livehouse/livehouse/bench/internal/harness"
)

var goLiveTries = flag.Int("golive-tries", 7, "golive: streams started one after another, each timed")

// goLiveTime starts -golive-tries streams one after another on one server, each from a fresh
// ffmpeg encoding live (liveEncoder: x264 zerolatency, as a streamer's OBS), and measures the
// time from starting the encoder to its channel's media playlist listing a part: what a
// streamer waits, from pressing "Start streaming", until a viewer can play. The playlist is
// polled every 100 ms (harness.WaitLive), so a figure may be up to that late.
func goLiveTime() error {
	s, err := harness.Start(*binary, serverEnv()...)
	if err != nil {
		return err
	}
	defer s.Stop()
	var took []float64
	for i := range max(*goLiveTries, 1) {
		_, key, id, err := s.Channel(fmt.Sprintf("golive%d", i))
		if err != nil {
			return err
		}
		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		wait, err := liveEncoder(ctx, s, key)
		if err == nil {
			err = s.WaitLive(id)
		}
		took = append(took, time.Since(start).Seconds())
		cancel()
		if wait != nil {
			wait()
		}
		if err != nil {
			return fmt.Errorf("stream %d: %w", i+1, err)
		}
	}
	sorted := slices.Sorted(slices.Values(took))
	fmt.Printf("go-live time over RTMP (ffmpeg x264 zerolatency 720p30 started → its media playlist lists a part; %d streams one after another): median %.2f s, min %.2f, max %.2f\n",
		len(took), harness.Percentile(took, 0.5), sorted[0], sorted[len(sorted)-1])
	return nil
}
