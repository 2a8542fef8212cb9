// Command rtmppub publishes a test pattern over RTMP that changes resolution every few
// seconds on the same connection (see package rtmptest), for the browser tests:
//
//	rtmppub -url rtmp://127.0.0.1:1935/live/KEY -sizes 640x360,1280x720 -clip 6s -for 300s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/livehouse/livehouse/internal/media/rtmp/rtmptest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rtmppub:", err)
		os.Exit(1)
	}
}

func run() error {
	u := flag.String("url", "", "rtmp://HOST:PORT/live/STREAM_KEY")
	sizes := flag.String("sizes", "640x360,1280x720", "the clips' sizes, in the order sent")
	clip := flag.Duration("clip", 6*time.Second, "length of each clip")
	total := flag.Duration("for", 300*time.Second, "how long to publish")
	flag.Parse()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	var clips []*rtmptest.Clip
	for _, s := range strings.Split(*sizes, ",") {
		var w, h int
		if _, err := fmt.Sscanf(s, "%dx%d", &w, &h); err != nil {
			return fmt.Errorf("size %q: %w", s, err)
		}
		c, err := rtmptest.Encode(ctx, w, h, *clip)
		if err != nil {
			return err
		}
		clips = append(clips, c)
	}
	fmt.Println("publishing") // the clips are encoded: the caller may start waiting for media
	return rtmptest.Publish(ctx, *u, clips, *total)
}
