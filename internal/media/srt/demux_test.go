package srt

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/media/stream"
)

// TestDemuxRecording demultiplexes a recorded ffmpeg MPEG-TS (H.264 + AAC): the stream begins
// at the first keyframe with its parameter sets, times start at 0 and go forward.
func TestDemuxRecording(t *testing.T) {
	data, err := os.ReadFile("testdata/h264-aac.ts")
	if err != nil {
		t.Fatal(err)
	}
	var st *stream.Stream
	var r *stream.Reader
	err = demux(bytes.NewReader(data), func(tr stream.Tracks) (*stream.Stream, error) {
		st = stream.New(tr)
		r = st.NewReader("test", 1000)
		return st, nil
	})
	if !errors.Is(err, io.EOF) {
		t.Fatalf("demux ended with %v, want EOF", err)
	}
	if st == nil || st.Tracks.H264 == nil || st.Tracks.AAC == nil || st.Tracks.AAC.SampleRate != 48000 {
		t.Fatalf("tracks = %+v", st)
	}
	st.Close()
	var video, audio, keys int
	var first *stream.Unit
	last := -time.Hour
	for u := range r.C {
		if first == nil {
			first = u
		}
		if u.Kind == stream.Video {
			video++
			if u.Key {
				keys++
				if len(u.Payload) < 3 || u.Payload[0][0]&0x1f != 7 {
					t.Errorf("keyframe at %v without SPS in front", u.PTS)
				}
			}
			if u.PTS < last {
				t.Errorf("video PTS %v after %v", u.PTS, last)
			}
			last = u.PTS
		} else {
			audio++
		}
	}
	if first == nil || first.Kind != stream.Video || !first.Key || first.PTS != 0 {
		t.Errorf("first unit = %+v, want a keyframe at 0", first)
	}
	if video < 5 || audio < 10 || keys < 1 {
		t.Errorf("%d video units (%d keyframes), %d audio", video, keys, audio)
	}
}

// TestDemuxBoundsWaitingForMedia: bytes that never make a program are cut off.
func TestDemuxBoundsWaitingForMedia(t *testing.T) {
	junk := bytes.Repeat([]byte{0x47, 0x1f, 0xff, 0x10}, 3<<20) // null packets' headers, no tables
	err := demux(bytes.NewReader(junk), func(stream.Tracks) (*stream.Stream, error) {
		t.Fatal("a stream began from junk")
		return nil, nil
	})
	if err == nil {
		t.Fatal("demux took junk")
	}
}

// FuzzDemux feeds arbitrary bytes through the MPEG-TS path (mediacommon's reader and our
// demuxer): it must end with an error at the end of the input, never panic or hang.
func FuzzDemux(f *testing.F) {
	if data, err := os.ReadFile("testdata/h264-aac.ts"); err == nil {
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	f.Add([]byte{0x47})
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan error, 1)
		go func() {
			done <- demux(bytes.NewReader(data), func(tr stream.Tracks) (*stream.Stream, error) {
				return stream.New(tr), nil
			})
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("demux returned nil at the end of its input")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("demux did not return at the end of its input")
		}
	})
}
