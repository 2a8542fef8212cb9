// Package whiptest is a WHIP publisher for tests and benchmarks: a Pion peer connection that
// sends H.264 and Opus made by ffmpeg (a test pattern and a tone, in real time) to a WHIP
// endpoint, as a browser or OBS would.
package whiptest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// Options shape the published media.
type Options struct {
	Width, Height, FPS int // 640×360 at 30 by default
	NoAudio            bool
	// VideoFile and AudioFile, if set, are sent in a loop instead of encoding live: an
	// H.264 file in MPEG-TS (no B-frames) and an Ogg Opus file, so the sender costs almost nothing.
	VideoFile, AudioFile string
	// OnFrame, if set, is called with each video frame's index just before it is sent.
	OnFrame func(i int, at time.Time)
	// OnAccessUnit, if set, is called with each video access unit (Annex B) as it is sent.
	OnAccessUnit func(au []byte, at time.Time)
}

// Publisher is one WHIP session.
type Publisher struct {
	Location string // the session URL the endpoint returned

	endpoint, key string
	pc            *webrtc.PeerConnection
	cancel        context.CancelFunc
	wg            sync.WaitGroup
	errMu         sync.Mutex
	err           error
}

// StatusError is a refusal by the endpoint.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("WHIP endpoint answered %d: %s", e.Status, e.Body)
}

// Publish negotiates with the endpoint (e.g. http://host/api/whip) and starts sending.
func Publish(ctx context.Context, endpoint, key string, o Options) (*Publisher, error) {
	if o.Width == 0 {
		o.Width, o.Height = 640, 360
	}
	if o.FPS == 0 {
		o.FPS = 30
	}
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "whiptest")
	if err != nil {
		pc.Close()
		return nil, err
	}
	if _, err := pc.AddTransceiverFromTrack(video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		pc.Close()
		return nil, err
	}
	var audio *webrtc.TrackLocalStaticSample
	if !o.NoAudio {
		audio, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "whiptest")
		if err != nil {
			pc.Close()
			return nil, err
		}
		if _, err := pc.AddTransceiverFromTrack(audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			pc.Close()
			return nil, err
		}
	}
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
	answer, location, err := post(ctx, endpoint, key, pc.LocalDescription().SDP)
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
	runCtx, cancel := context.WithCancel(context.Background())
	p := &Publisher{Location: loc.String(), endpoint: endpoint, key: key, pc: pc, cancel: cancel}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.fail(sendVideo(runCtx, video, o))
	}()
	if audio != nil {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.fail(sendAudio(runCtx, audio, o.AudioFile))
		}()
	}
	return p, nil
}

func post(ctx context.Context, endpoint, key, offer string) (answer, location string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewBufferString(offer))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+key)
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

func (p *Publisher) fail(err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	p.errMu.Lock()
	defer p.errMu.Unlock()
	if p.err == nil {
		p.err = err
	}
}

// Err is the first sending error, if any.
func (p *Publisher) Err() error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.err
}

// State is the peer connection's state.
func (p *Publisher) State() webrtc.PeerConnectionState { return p.pc.ConnectionState() }

// End sends DELETE to the session URL and stops sending; it returns the DELETE's status.
func (p *Publisher) End(ctx context.Context) (int, error) {
	defer p.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, p.Location, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+p.key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// Close stops sending without telling the endpoint (a dropped connection).
func (p *Publisher) Close() {
	p.cancel()
	p.pc.Close()
	p.wg.Wait()
}

// ffmpegOutput runs ffmpeg with args and returns its standard output; wait reaps it.
func ffmpegOutput(ctx context.Context, args []string) (out io.Reader, wait func() error, err error) {
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	if out, err = cmd.StdoutPipe(); err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	return out, cmd.Wait, nil
}

// sendVideo encodes a test pattern with ffmpeg in real time and sends it frame by frame.
func sendVideo(ctx context.Context, track *webrtc.TrackLocalStaticSample, o Options) error {
	args := []string{"-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", o.Width, o.Height, o.FPS),
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-profile:v", "baseline", "-bf", "0",
		"-x264-params", "sliced-threads=0", "-g", strconv.Itoa(2 * o.FPS), "-b:v", "1000k", "-pix_fmt", "yuv420p", "-f", "h264", "-"}
	if o.VideoFile != "" {
		args = []string{"-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", o.VideoFile, "-c", "copy", "-f", "h264", "-"}
	}
	out, wait, err := ffmpegOutput(ctx, args)
	if err != nil {
		return err
	}
	defer wait()
	r, err := h264reader.NewReader(bufio.NewReaderSize(out, 1<<20))
	if err != nil {
		return err
	}
	frame := time.Second / time.Duration(o.FPS)
	var au bytes.Buffer
	for i := 0; ; {
		nal, err := r.NextNAL()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("reading ffmpeg's H.264: %w", err)
		}
		au.Write([]byte{0, 0, 0, 1})
		au.Write(nal.Data)
		if t := nal.UnitType; t != h264reader.NalUnitTypeCodedSliceNonIdr && t != h264reader.NalUnitTypeCodedSliceIdr {
			continue // parameter sets and SEI go with the next picture
		}
		if o.OnFrame != nil {
			o.OnFrame(i, time.Now())
		}
		data := bytes.Clone(au.Bytes())
		if o.OnAccessUnit != nil {
			o.OnAccessUnit(data, time.Now())
		}
		if err := track.WriteSample(media.Sample{Data: data, Duration: frame}); err != nil {
			return err
		}
		au.Reset()
		i++
	}
}

// sendAudio encodes a tone as Opus (20 ms packets) with ffmpeg in real time.
func sendAudio(ctx context.Context, track *webrtc.TrackLocalStaticSample, file string) error {
	args := []string{"-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-ac", "2",
		"-c:a", "libopus", "-b:a", "64k", "-page_duration", "20000", "-f", "ogg", "-"}
	if file != "" {
		args = []string{"-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", file, "-c", "copy", "-page_duration", "20000", "-f", "ogg", "-"}
	}
	out, wait, err := ffmpegOutput(ctx, args)
	if err != nil {
		return err
	}
	defer wait()
	ogg, _, err := oggreader.NewWith(out)
	if err != nil {
		return err
	}
	var last uint64
	for {
		page, header, err := ogg.ParseNextPage()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("reading ffmpeg's Opus: %w", err)
		}
		if header.GranulePosition == 0 || len(page) == 0 {
			continue // the Opus header pages
		}
		samples := header.GranulePosition - last
		last = header.GranulePosition
		if samples > 48000 {
			samples = 960
		}
		if err := track.WriteSample(media.Sample{Data: page, Duration: time.Duration(samples) * time.Second / 48000}); err != nil {
			return err
		}
	}
}
