package record

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"time"

	"github.com/livehouse/livehouse/internal/storage"
)

// posterFile is a recording's poster: a JPEG of its first keyframe, 640 pixels wide.
const posterFile = "poster.jpg"

// maxPosterInput bounds what is handed to ffmpeg for a poster: the init section and the first
// segment (a few MB at most, as a segment is about 4 s).
const maxPosterInput = storage.MaxObjectSize

// posterTimeout bounds one ffmpeg run for a poster.
const posterTimeout = 20 * time.Second

// makePoster decodes the first frame of the first video segment (with its init section) with
// ffmpeg and stores it as poster.jpg.
func makePoster(ctx context.Context, media storage.Store, ffmpeg, prefix, track string, first storedSegment) error {
	var in bytes.Buffer
	for _, key := range []string{prefix + track + "/" + initName(first.init), prefix + first.file} {
		rc, _, err := media.Get(ctx, key)
		if err != nil {
			return err
		}
		_, err = io.Copy(&in, io.LimitReader(rc, maxPosterInput))
		rc.Close()
		if err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, posterTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "mp4", "-i", "pipe:0",
		"-frames:v", "1", "-vf", "scale=640:-2", "-q:v", "5", "-f", "image2", "-c:v", "mjpeg", "pipe:1")
	cmd.Stdin = &in
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("poster: ffmpeg: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	if out.Len() == 0 || out.Len() > 4<<20 {
		return fmt.Errorf("poster: ffmpeg wrote %d bytes", out.Len())
	}
	return media.Put(ctx, prefix+posterFile, &out, int64(out.Len()))
}
