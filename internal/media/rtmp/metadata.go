package rtmp

import (
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/message"

	"github.com/livehouse/livehouse/internal/streams"
)

// metaConn passes messages through to gortmplib's reader, keeps the encoder's declared
// configuration from onMetaData, which the reader itself skips, and notes the arrival of the
// media the reader reads ahead.
type metaConn struct {
	gortmplib.Conn
	meta *streams.IngestConfig
	arrivals
}

func (c *metaConn) Read() (message.Message, error) {
	msg, err := c.Conn.Read()
	c.note(msg, time.Now())
	if data, ok := msg.(*message.DataAMF0); ok {
		if m := parseMetadata(data.Payload); m != nil {
			c.meta = m
		}
	}
	return msg, err
}

// parseMetadata reads ["@setDataFrame", "onMetaData", {…}] or ["onMetaData", {…}].
func parseMetadata(payload amf0.Data) *streams.IngestConfig {
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
			return nil
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
		return m
	}
	return nil
}
