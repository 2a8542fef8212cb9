package rtmp

import (
	"errors"
	"fmt"
	"time"

	"github.com/abema/go-mp4"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/livehouse/livehouse/internal/media/stream"
)

// A publisher's tracks are known from its first messages. Encoders say in onMetaData which
// codecs they send (videocodecid, audiocodecid) and send each one's sequence header before any
// frame of it, so once every declared codec has sent its header the stream can begin.
// (gortmplib's Reader reads two seconds of media ahead, whatever the encoder declared: every
// RTMP stream went live two seconds late, and those two seconds were then replayed at once.)
// An encoder that declares nothing is given up to trackSearch of media to show its tracks.

// trackSearch is how much media (by its timestamps) an encoder that declared no codecs is
// given to send the sequence headers of both tracks.
const trackSearch = 2 * time.Second

// maxEarly bounds the messages held while the tracks are looked for.
const maxEarly = 2048

// timedMessage is a message and the time it arrived.
type timedMessage struct {
	msg message.Message
	at  time.Time
}

// findTracks reads from mc until the stream's tracks are known and returns them (H.264 video
// and AAC audio: another codec is seen, not taken) with the messages read meanwhile, each with
// the time it arrived, to be written first.
func findTracks(mc *metaConn) (stream.Tracks, []timedMessage, error) {
	var tracks stream.Tracks
	var early []timedMessage
	var videoSeen, audioSeen, started bool
	var first time.Duration
	for {
		msg, err := mc.Read()
		if err != nil {
			return tracks, early, err
		}
		early = append(early, timedMessage{msg, time.Now()})
		dts, media := time.Duration(0), true
		switch m := msg.(type) {
		case *message.Video:
			dts = m.DTS
			if m.Type == message.VideoTypeConfig {
				videoSeen = true
				if m.Codec == message.CodecH264 && m.AVCConfig != nil && tracks.H264 == nil {
					tracks.H264 = avcParams(m.AVCConfig)
				}
			}
		case *message.VideoExSequenceStart:
			videoSeen, media = true, false
			if m.FourCC == message.FourCCAVC && m.AVCConfig != nil && tracks.H264 == nil {
				tracks.H264 = avcParams(m.AVCConfig)
			}
		case *message.VideoExCodedFrames:
			dts = m.DTS
		case *message.VideoExFramesX:
			dts = m.DTS
		case *message.Audio:
			dts = m.DTS
			switch {
			case m.Codec != message.CodecMPEG4Audio:
				audioSeen = true // a codec with no header: seen at its first frame
			case m.AACType == message.AudioAACTypeConfig:
				audioSeen = true
				if m.AACConfig != nil && tracks.AAC == nil {
					tracks.AAC = m.AACConfig
				}
			}
		case *message.AudioExSequenceStart:
			audioSeen, media = true, false
		case *message.AudioExCodedFrames:
			dts = m.DTS
			audioSeen = true
		default:
			media = false
		}
		if media && !started {
			started, first = true, dts
		}
		if d := mc.declared; d.known {
			if (!d.video || videoSeen) && (!d.audio || audioSeen) && (videoSeen || audioSeen) {
				return tracks, early, nil
			}
		} else if videoSeen && audioSeen {
			return tracks, early, nil
		}
		if started && dts-first >= trackSearch || len(early) >= maxEarly {
			return tracks, early, nil // what has been seen is what there is
		}
	}
}

// mediaWriter turns a publisher's messages into units of its stream.
type mediaWriter struct {
	st       *stream.Stream
	video    bool // the stream has an H.264 track
	audio    bool // the stream has an AAC track
	sps, pps []byte
}

func newMediaWriter(st *stream.Stream, tracks stream.Tracks) *mediaWriter {
	w := &mediaWriter{st: st, video: tracks.H264 != nil, audio: tracks.AAC != nil}
	if w.video {
		w.sps, w.pps = tracks.H264.SPS, tracks.H264.PPS
	}
	return w
}

// write writes the media of msg, which arrived at at, into the stream; other messages and
// media of a codec the stream does not have are skipped.
func (w *mediaWriter) write(msg message.Message, at time.Time) error {
	switch m := msg.(type) {
	case *message.Video:
		if !w.video || m.Codec != message.CodecH264 {
			return nil
		}
		switch m.Type {
		case message.VideoTypeConfig:
			if m.AVCConfig != nil {
				w.sequenceHeader(avcParams(m.AVCConfig))
			}
		case message.VideoTypeAU:
			return w.writeH264(m.AU, m.DTS+m.PTSDelta, at)
		}
	case *message.VideoExSequenceStart:
		if w.video && m.FourCC == message.FourCCAVC && m.AVCConfig != nil {
			w.sequenceHeader(avcParams(m.AVCConfig))
		}
	case *message.VideoExCodedFrames:
		if w.video && m.FourCC == message.FourCCAVC {
			return w.writeH264(m.Payload, m.DTS+m.PTSDelta, at)
		}
	case *message.VideoExFramesX:
		if w.video && m.FourCC == message.FourCCAVC {
			return w.writeH264(m.Payload, m.DTS, at)
		}
	case *message.Audio:
		if w.audio && m.Codec == message.CodecMPEG4Audio && m.AACType == message.AudioAACTypeAU {
			w.st.Write(&stream.Unit{Kind: stream.Audio, PTS: m.DTS, NTP: at, Payload: [][]byte{m.AU}})
		}
	case *message.AudioExCodedFrames:
		if w.audio && m.FourCC == message.FourCCMP4A {
			w.st.Write(&stream.Unit{Kind: stream.Audio, PTS: m.DTS, NTP: at, Payload: [][]byte{m.Payload}})
		}
	}
	return nil
}

func (w *mediaWriter) writeH264(avcc []byte, pts time.Duration, at time.Time) error {
	var au h264.AVCC
	if err := au.Unmarshal(avcc); err != nil {
		if errors.Is(err, h264.ErrAVCCNoNALUs) {
			return nil
		}
		return fmt.Errorf("decoding an H.264 frame: %w", err)
	}
	key := h264.IsRandomAccess(au)
	if key {
		// FLV carries the parameter sets out of band; players need them in band.
		au = append([][]byte{w.sps, w.pps}, au...)
	}
	w.st.Write(&stream.Unit{Kind: stream.Video, PTS: pts, NTP: at, Payload: au, Key: key})
	return nil
}

// sequenceHeader takes a new AVC sequence header mid-stream (an encoder that changed its
// canvas size): the keyframes from here on carry the new parameter sets, and the packager
// starts a discontinuity with a new init section at the first. One whose SPS the packager
// could not use is ignored (the old ones are kept).
func (w *mediaWriter) sequenceHeader(p *stream.H264) {
	var s h264.SPS
	if len(p.PPS) == 0 || s.Unmarshal(p.SPS) != nil {
		return
	}
	w.sps, w.pps = append([]byte(nil), p.SPS...), append([]byte(nil), p.PPS...)
}

// avcParams is an AVC sequence header's parameter sets (gortmplib's messages guarantee one of
// each).
func avcParams(c *mp4.AVCDecoderConfiguration) *stream.H264 {
	return &stream.H264{SPS: c.SequenceParameterSets[0].NALUnit, PPS: c.PictureParameterSets[0].NALUnit}
}
