package rtmp

import (
	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/message"

	"github.com/livehouse/livehouse/internal/streams"
)

// metaConn reads a publisher's messages and keeps what its onMetaData declares: the
// encoder's configuration, and which codecs it sends.
type metaConn struct {
	gortmplib.Conn
	meta     *streams.IngestConfig
	declared declaredCodecs
}

// declaredCodecs is what onMetaData says of the tracks: known when it named either codec.
type declaredCodecs struct{ known, video, audio bool }

func (c *metaConn) Read() (message.Message, error) {
	msg, err := c.Conn.Read()
	if data, ok := msg.(*message.DataAMF0); ok {
		if m, d := parseMetadata(data.Payload); m != nil {
			c.meta, c.declared = m, d
		}
	}
	return msg, err
}

// parseMetadata reads ["@setDataFrame", "onMetaData", {…}] or ["onMetaData", {…}].
func parseMetadata(payload amf0.Data) (*streams.IngestConfig, declaredCodecs) {
	for i, item := range payload {
		if name, ok := item.(string); !ok || name != "onMetaData" || i+1 >= len(payload) {
			continue
		}
		var obj amf0.Object
		switch v := payload[i+1].(type) {
		case amf0.Object:
			obj = v
		case amf0.ECMAArray:
			obj = amf0.Object(v)
		default:
			return nil, declaredCodecs{}
		}
		num := func(k string) float64 { f, _ := obj.GetFloat64(k); return f }
		str := func(k string) string { s, _ := obj.GetString(k); return s }
		m := &streams.IngestConfig{
			Encoder:         str("encoder"),
			Width:           int(num("width")),
			Height:          int(num("height")),
			TargetFramerate: num("framerate"),
			TargetBitrate:   int(num("videodatarate") * 1000),
			AudioBitrate:    int(num("audiodatarate") * 1000),
			AudioSampleRate: int(num("audiosamplerate")),
			AudioChannels:   1,
		}
		if stereo, ok := obj.Get("stereo"); ok && stereo == true {
			m.AudioChannels = 2
		}
		if ch := num("audiochannels"); ch > 0 {
			m.AudioChannels = int(ch)
		}
		// A codec id is a number (7 for AVC, 10 for AAC) or, from newer encoders, a FourCC.
		codec := func(k string) bool {
			v, _ := obj.Get(k)
			switch v := v.(type) {
			case float64:
				return v != 0
			case string:
				return v != ""
			}
			return false
		}
		d := declaredCodecs{video: codec("videocodecid"), audio: codec("audiocodecid")}
		d.known = d.video || d.audio
		return m, d
	}
	return nil, declaredCodecs{}
}
