// Package rtmptest is an RTMP publisher for tests that changes resolution mid-stream, on one
// connection, as OBS does when its canvas size changes: between clips of different sizes it
// sends a new AVC sequence header (new SPS and PPS), then the next clip's keyframe.
//
// ffmpeg cannot do this: its FLV muxer writes the sequence header once, at the start, and
// its encoder cannot change size mid-stream, so another resolution means another ffmpeg and
// a new connection — a new live session, not what an encoder changing its canvas sends. So
// ffmpeg encodes each clip (lavfi test pattern and tone) to MPEG-TS ahead of time, and this
// package sends the clips' access units over gortmplib in real time, one after another, with
// continuous timestamps.
package rtmptest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"sort"
	"strconv"
	"time"

	"github.com/abema/go-mp4"
	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
)

// Clip is a pre-encoded stretch of H.264 + AAC at one resolution.
type Clip struct {
	Width, Height int
	SPS, PPS      []byte
	AAC           *mpeg4audio.AudioSpecificConfig
	Duration      time.Duration
	frames        []frame // in decode order, times from the clip's start
}

type frame struct {
	video    bool
	pts, dts time.Duration
	data     [][]byte // H.264: the access unit; AAC: one access unit
}

// Encode makes a clip of the given size and length with ffmpeg: a moving test pattern at 30
// fps, a keyframe every second, and a 48 kHz tone.
func Encode(ctx context.Context, width, height int, d time.Duration) (*Clip, error) {
	size := strconv.Itoa(width) + "x" + strconv.Itoa(height)
	secs := strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", secs, "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-x264-params", "sliced-threads=0",
		"-g", "30", "-bf", "0", "-b:v", "800k", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", "-ac", "2",
		"-f", "mpegts", "pipe:1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ffmpeg %s: %w: %s", size, err, stderr.Bytes())
	}
	c := &Clip{Width: width, Height: height}
	if err := c.read(out); err != nil {
		return nil, fmt.Errorf("clip %s: %w", size, err)
	}
	return c, nil
}

func (c *Clip) read(ts []byte) error {
	r := &mpegts.Reader{R: bytes.NewReader(ts)}
	if err := r.Initialize(); err != nil {
		return err
	}
	var first int64 = -1
	rel := func(t int64) time.Duration {
		if first < 0 {
			first = t
		}
		return time.Duration(t-first) * time.Second / 90000
	}
	for _, tr := range r.Tracks() {
		switch codec := tr.Codec.(type) {
		case *tscodecs.H264:
			r.OnDataH264(tr, func(pts, dts int64, au [][]byte) error {
				for _, n := range au {
					switch h264.NALUType(n[0] & 0x1f) {
					case h264.NALUTypeSPS:
						c.SPS = n
					case h264.NALUTypePPS:
						c.PPS = n
					}
				}
				d := rel(dts)
				c.frames = append(c.frames, frame{video: true, dts: d, pts: d + time.Duration(pts-dts)*time.Second/90000, data: au})
				return nil
			})
		case *tscodecs.MPEG4Audio:
			cfg := codec.Config
			c.AAC = &cfg
			r.OnDataMPEG4Audio(tr, func(pts int64, aus [][]byte) error {
				for i, au := range aus {
					at := rel(pts) + time.Duration(i)*time.Duration(mpeg4audio.SamplesPerAccessUnit)*time.Second/time.Duration(cfg.SampleRate)
					c.frames = append(c.frames, frame{dts: at, pts: at, data: [][]byte{au}})
				}
				return nil
			})
		}
	}
	for {
		if err := r.Read(); err != nil {
			break // the end of the file
		}
	}
	if c.SPS == nil || c.PPS == nil || c.AAC == nil {
		return errors.New("no H.264 parameter sets or no AAC")
	}
	sort.SliceStable(c.frames, func(i, j int) bool { return c.frames[i].dts < c.frames[j].dts })
	// Start on the first keyframe, and end before the last one, so that clips join there.
	for len(c.frames) > 0 && !(c.frames[0].video && h264.IsRandomAccess(c.frames[0].data)) {
		c.frames = c.frames[1:]
	}
	if len(c.frames) == 0 {
		return errors.New("no keyframe")
	}
	t0 := c.frames[0].dts
	last := 0
	for i, f := range c.frames {
		if f.video && h264.IsRandomAccess(f.data) {
			last = i
		}
	}
	c.frames = c.frames[:last]
	kept := c.frames[:0]
	for _, f := range c.frames {
		f.dts -= t0
		f.pts -= t0
		if f.dts >= 0 {
			kept = append(kept, f)
		}
	}
	c.frames = kept
	lastVideo := time.Duration(0)
	for _, f := range c.frames {
		if f.video {
			lastVideo = f.dts
		}
	}
	c.Duration = lastVideo + time.Second/30
	return nil
}

// Publish connects to url (rtmp://host:port/live/KEY) and sends the clips in turn, in a loop,
// in real time, until total has been sent or ctx ends. Each clip after the first begins with
// a new AVC sequence header. Every clip must share the first one's AAC configuration.
func Publish(ctx context.Context, rawURL string, clips []*Clip, total time.Duration) error {
	if len(clips) == 0 {
		return errors.New("no clips")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	c := &gortmplib.Client{URL: u, Publish: true}
	if err := c.Initialize(ctx); err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, c.Close)
	defer stop()
	video := &gortmplib.Track{Codec: &codecs.H264{SPS: clips[0].SPS, PPS: clips[0].PPS}}
	audio := &gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: clips[0].AAC}}
	w := &gortmplib.Writer{Conn: c, Tracks: []*gortmplib.Track{video, audio}}
	if err := w.Initialize(); err != nil {
		return err
	}
	start := time.Now()
	var offset time.Duration
	for i := 0; offset < total; i++ {
		clip := clips[i%len(clips)]
		if i > 0 {
			if err := sequenceHeader(c, clip, offset); err != nil {
				return err
			}
		}
		for _, f := range clip.frames {
			dts := offset + f.dts
			if wait := time.Until(start.Add(dts)); wait > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(wait): // real time, as an encoder sends
				}
			}
			if f.video {
				err = w.WriteH264(video, offset+f.pts, dts, f.data)
			} else {
				err = w.WriteMPEG4Audio(audio, dts, f.data[0])
			}
			if err != nil {
				return err
			}
		}
		offset += clip.Duration
	}
	return nil
}

// sequenceHeader sends an AVC sequence header with the clip's parameter sets.
func sequenceHeader(c *gortmplib.Client, clip *Clip, dts time.Duration) error {
	var s h264.SPS
	if err := s.Unmarshal(clip.SPS); err != nil {
		return err
	}
	return c.Write(&message.Video{
		ChunkStreamID: message.VideoChunkStreamID, MessageStreamID: 0x1000000,
		Codec: message.CodecH264, IsKeyFrame: true, Type: message.VideoTypeConfig, DTS: dts,
		AVCConfig: &mp4.AVCDecoderConfiguration{
			AnyTypeBox:           mp4.AnyTypeBox{Type: mp4.BoxTypeAvcC()},
			ConfigurationVersion: 1, Profile: s.ProfileIdc, ProfileCompatibility: clip.SPS[2], Level: s.LevelIdc,
			Reserved: 0b111111, LengthSizeMinusOne: 3, Reserved2: 0b111,
			NumOfSequenceParameterSets: 1,
			SequenceParameterSets:      []mp4.AVCParameterSet{{Length: uint16(len(clip.SPS)), NALUnit: clip.SPS}},
			NumOfPictureParameterSets:  1,
			PictureParameterSets:       []mp4.AVCParameterSet{{Length: uint16(len(clip.PPS)), NALUnit: clip.PPS}},
		},
	})
}
