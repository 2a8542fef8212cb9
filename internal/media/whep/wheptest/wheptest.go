// Package wheptest is a WHEP viewer for tests and benchmarks: a Pion peer connection that
// receives a channel's H.264 and Opus from a WHEP endpoint, as a browser would, and hands
// back what arrived (depacketised H.264 access units, Opus packets).
package wheptest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/pion/webrtc/v4"
)

// Frame is one H.264 access unit as received.
type Frame struct {
	NALUs    [][]byte
	Arrived  time.Time
	RTPTime  uint32
	Keyframe bool // an IDR picture
}

// Viewer is one WHEP session.
type Viewer struct {
	Location string // the session URL the endpoint returned

	pc *webrtc.PeerConnection

	mu     sync.Mutex
	frames []Frame
	opus   [][]byte
	max    int
	err    error
}

// StatusError is a refusal by the endpoint.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("WHEP endpoint answered %d: %s", e.Status, e.Body)
}

// Options shape the viewer.
type Options struct {
	NoAudio bool
	// Keep bounds the frames and packets kept (1,000 each by default); later ones are counted
	// out.
	Keep int
}

// Play negotiates with the endpoint (e.g. http://host/api/whep/{channelId}) with the playback
// token and starts receiving.
func Play(ctx context.Context, endpoint, token string, o Options) (*Viewer, error) {
	if o.Keep == 0 {
		o.Keep = 1000
	}
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	recv := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, recv); err != nil {
		pc.Close()
		return nil, err
	}
	if !o.NoAudio {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, recv); err != nil {
			pc.Close()
			return nil, err
		}
	}
	v := &Viewer{pc: pc, max: o.Keep}
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		switch t.Kind() {
		case webrtc.RTPCodecTypeVideo:
			v.fail(v.readVideo(t))
		case webrtc.RTPCodecTypeAudio:
			v.fail(v.readAudio(t))
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		pc.Close()
		return nil, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		pc.Close()
		return nil, err
	}
	<-gathered
	answer, location, err := post(ctx, endpoint, token, pc.LocalDescription().SDP)
	if err != nil {
		pc.Close()
		return nil, err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		pc.Close()
		return nil, err
	}
	base, _ := url.Parse(endpoint)
	loc, _ := base.Parse(location)
	v.Location = loc.String()
	return v, nil
}

func post(ctx context.Context, endpoint, token, offer string) (answer, location string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewBufferString(offer))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/sdp")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		return "", "", &StatusError{Status: res.StatusCode, Body: string(body)}
	}
	return string(body), res.Header.Get("Location"), nil
}

func (v *Viewer) readVideo(t *webrtc.TrackRemote) error {
	dec := &rtph264.Decoder{PacketizationMode: 1}
	if err := dec.Init(); err != nil {
		return err
	}
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return nil // the connection closed
		}
		au, err := dec.Decode(pkt)
		if err != nil {
			continue // more packets needed, or a loss
		}
		key := false
		for _, n := range au {
			if len(n) > 0 && n[0]&0x1f == 5 {
				key = true
			}
		}
		v.mu.Lock()
		if len(v.frames) < v.max {
			v.frames = append(v.frames, Frame{NALUs: au, Arrived: time.Now(), RTPTime: pkt.Timestamp, Keyframe: key})
		}
		v.mu.Unlock()
	}
}

func (v *Viewer) readAudio(t *webrtc.TrackRemote) error {
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return nil
		}
		v.mu.Lock()
		if len(v.opus) < v.max && len(pkt.Payload) > 0 {
			v.opus = append(v.opus, bytes.Clone(pkt.Payload))
		}
		v.mu.Unlock()
	}
}

func (v *Viewer) fail(err error) {
	if err == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.err == nil {
		v.err = err
	}
}

// Err is the first receiving error, if any.
func (v *Viewer) Err() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.err
}

// Frames returns the video access units received so far.
func (v *Viewer) Frames() []Frame {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]Frame(nil), v.frames...)
}

// Opus returns the Opus packets received so far.
func (v *Viewer) Opus() [][]byte {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([][]byte(nil), v.opus...)
}

// State is the peer connection's state.
func (v *Viewer) State() webrtc.PeerConnectionState { return v.pc.ConnectionState() }

// Leave sends DELETE to the session URL and closes the connection; it returns the DELETE's
// status.
func (v *Viewer) Leave(ctx context.Context) (int, error) {
	defer v.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, v.Location, nil)
	if err != nil {
		return 0, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// Close closes the connection without telling the endpoint (a dropped viewer).
func (v *Viewer) Close() {
	_ = v.pc.Close() // the track readers end with it
}

// AnnexB is the frames from the first keyframe on as an H.264 Annex-B byte stream, for a
// decoder (ffmpeg -f h264). It is empty without a keyframe.
func AnnexB(frames []Frame) []byte {
	var b bytes.Buffer
	started := false
	for _, f := range frames {
		if f.Keyframe {
			started = true
		}
		if !started {
			continue
		}
		for _, n := range f.NALUs {
			b.Write([]byte{0, 0, 0, 1})
			b.Write(n)
		}
	}
	return b.Bytes()
}
