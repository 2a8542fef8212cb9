package rtmp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/streams"
	"github.com/livehouse/livehouse/internal/streams/streamstest"
	"github.com/livehouse/livehouse/internal/tlscert"
)

// TestRTMPSPublish has ffmpeg publish over RTMPS to a listener with a generated self-signed
// certificate (ffmpeg does not verify it unless asked): the right key becomes a session with
// both tracks, a wrong one is refused.
func TestRTMPSPublish(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed (make test installs it)")
	}
	cfg, _, err := tlscert.Config("", "", t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	box, _ := channels.NewKeyBox(make([]byte, 32))
	store, out := streamstest.New(testChannel).WithKeyHash(box.Hash("sk_good")), &counter{}
	svc := streams.NewService(streams.Deps{Store: store, Box: box, Log: log, Outputs: []streams.Output{out}})
	srv, err := Listen(Config{Addr: "127.0.0.1:0", TLS: cfg}, svc, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	url := "rtmps://" + srv.Addr().String() + "/live/"

	ffmpeg := func(key string) ([]byte, error) {
		c, stop := context.WithTimeout(context.Background(), 60*time.Second)
		defer stop()
		return exec.CommandContext(c, "ffmpeg", "-hide_banner", "-loglevel", "error",
			"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
			"-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-c:a", "aac",
			"-tls_verify", "0", "-f", "flv", url+key).CombinedOutput()
	}
	if out, err := ffmpeg("sk_wrong"); err == nil {
		t.Errorf("ffmpeg with a wrong key succeeded over RTMPS: %s", out)
	}
	if b, err := ffmpeg("sk_good"); err != nil {
		t.Fatalf("ffmpeg over RTMPS: %v: %s", err, b)
	}
	// The session reads what ffmpeg sent after ffmpeg has gone: wait for it (a failing run
	// only waits out the bound).
	deadline := time.Now().Add(30 * time.Second)
	for {
		out.mu.Lock()
		ok := out.tracks.H264 != nil && out.tracks.AAC != nil && out.video >= 30 && out.audio >= 30
		msg := fmt.Sprintf("tracks %+v, %d video and %d audio units", out.tracks, out.video, out.audio)
		out.mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the RTMPS session got %s", msg)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}
