package streams

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// IngestConfig is what the encoder declared about its stream at go-live (RTMP onMetaData),
// with the codec, profile and level read from the stream itself.
type IngestConfig struct {
	Encoder         string  `json:"encoder,omitempty"`
	VideoCodec      string  `json:"videoCodec,omitempty"` // e.g. avc1.64001F
	AVCProfile      string  `json:"avcProfile,omitempty"`
	AVCLevel        string  `json:"avcLevel,omitempty"`
	Width           int     `json:"width,omitempty"`
	Height          int     `json:"height,omitempty"`
	TargetFramerate float64 `json:"targetFramerate,omitempty"`
	TargetBitrate   int     `json:"targetBitrate,omitempty"` // bits per second
	AudioCodec      string  `json:"audioCodec,omitempty"`    // e.g. mp4a.40.2
	AudioBitrate    int     `json:"audioBitrate,omitempty"`
	AudioSampleRate int     `json:"audioSampleRate,omitempty"`
	AudioChannels   int     `json:"audioChannels,omitempty"`
}

var profiles = map[uint8]string{66: "Baseline", 77: "Main", 88: "Extended", 100: "High", 110: "High 10", 122: "High 4:2:2", 244: "High 4:4:4"}

// completeFromStream fills what the stream itself says: codec string, profile and level from
// the SPS, the real picture size, and the audio object type.
func (c *IngestConfig) completeFromStream(l *Live) {
	if h := l.Stream.Tracks.H264; h != nil && len(h.SPS) >= 4 {
		c.VideoCodec = fmt.Sprintf("avc1.%02X%02X%02X", h.SPS[1], h.SPS[2], h.SPS[3])
		c.AVCProfile = profiles[h.SPS[1]]
		c.AVCLevel = fmt.Sprintf("%.1f", float64(h.SPS[3])/10)
		var sps h264.SPS
		if sps.Unmarshal(h.SPS) == nil {
			c.Width, c.Height = sps.Width(), sps.Height()
			if fps := sps.FPS(); fps > 0 && c.TargetFramerate == 0 {
				c.TargetFramerate = fps
			}
		}
	}
	if a := l.Stream.Tracks.AAC; a != nil {
		c.AudioCodec = fmt.Sprintf("mp4a.40.%d", a.Type)
		c.AudioSampleRate = a.SampleRate
		switch n := a.ChannelConfig; {
		case n >= 1 && n <= 6:
			c.AudioChannels = int(n)
		case n == 7:
			c.AudioChannels = 8
		}
	}
	if o := l.Stream.Tracks.Opus; o != nil {
		c.AudioCodec, c.AudioSampleRate, c.AudioChannels = "opus", 48000, o.ChannelCount
	}
}

// SetIngestConfig records the encoder's declared configuration for the session.
func (l *Live) SetIngestConfig(c *IngestConfig) {
	if c == nil {
		c = &IngestConfig{}
	}
	c.completeFromStream(l)
	raw, _ := json.Marshal(c)
	if err := l.svc.store.SetIngestConfig(context.Background(), l.SessionID, string(raw)); err != nil {
		l.svc.log.Error("storing the ingest configuration", "session", l.SessionID, "err", err)
	}
}
