// Command stages measures multi-host stages against the real binary, for `make bench`:
// glass-to-glass latency in Chromium through the SFU (a time drawn into a canvas, published to
// the stage, read back from the frames a subscriber presents), the latency the SFU adds between one participant sending a picture and another having all of
// it, and the server's CPU per stage publisher in a full mesh (every publisher subscribing to
// every other). It prints each figure with how it was measured.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/livehouse/livehouse/bench/internal/harness"
	"github.com/livehouse/livehouse/internal/media/whep/wheptest"
	"github.com/livehouse/livehouse/internal/media/whip/whiptest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

var (
	binary     = flag.String("bin", "bin/livehouse", "livehouse binary")
	publishers = flag.Int("publishers", 3, "stage publishers, each subscribing to every other")
	duration   = flag.Duration("duration", 20*time.Second, "how long each measurement window runs")
	scenario   = flag.String("scenario", "all", "glass, mesh or all")
	runs       = flag.Int("runs", 3, "glass: runs, each on a fresh server and browser")
	frames     = flag.Int("frames", 300, "glass: frames read per run, after its first 3 s")
)

func run() error {
	flag.Parse()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return errors.New("ffmpeg is needed (make system-deps installs it)")
	}
	if *publishers < 2 || *publishers > 12 {
		return errors.New("-publishers is 2 to 12")
	}
	all := *scenario == "all"
	if all || *scenario == "glass" {
		if err := glass(); err != nil {
			return fmt.Errorf("glass: %w", err)
		}
	}
	if all || *scenario == "mesh" {
		s, err := harness.Start(*binary, harness.ManyAccounts...)
		if err != nil {
			return err
		}
		defer s.Stop()
		return mesh(s, *publishers)
	}
	return nil
}

// glass measures glass-to-glass latency through the SFU in Chromium, -runs times on a fresh
// server each: the host joins their stage and a page publishes a canvas with the time drawn
// into it as the host's media; a spectator page (the channel's playback token) subscribes to
// the host and reads the time back from each frame it presents (web/bench/glass-to-glass.mjs).
func glass() error {
	r := harness.GlassRuns{What: "stage (publisher → SFU → subscriber)"}
	for range *runs {
		load := harness.Load()
		s, err := harness.Start(*binary)
		if err != nil {
			return err
		}
		g, err := glassRun(s)
		s.Stop()
		if err != nil {
			return err
		}
		r.Add(g, load)
	}
	r.Summary(fmt.Sprintf("a page draws the time into a 1280×720 canvas on each animation frame, captureStream → the host's stage publication (H.264, ≤ 2.5 Mbps, 30 fps) → the SFU → a spectator's subscription → a <video> in another page, "+
		"which reads the time back from each frame it presents (requestVideoFrameCallback's expected display time); %d frames per run after its first 3 s, loopback, one browser", *frames))
	return nil
}

func glassRun(s *harness.Server) (harness.GlassToGlass, error) {
	session, _, channelID, err := s.Channel("glasshost")
	if err != nil {
		return harness.GlassToGlass{}, err
	}
	var st struct{ Stage struct{ InviteCode string } }
	if err := s.PostJSON("/api/me/stage", session, nil, &st); err != nil {
		return harness.GlassToGlass{}, err
	}
	var g grant
	if err := s.PostJSON("/api/channels/glasshost/stage/participants", session, map[string]string{"invite": st.Stage.InviteCode}, &g); err != nil {
		return harness.GlassToGlass{}, err
	}
	participant := s.Base + "/api/stages/" + g.StageID + "/participants/" + g.ParticipantID
	return harness.MeasureGlassToGlass(harness.GlassConfig{Origin: s.Base, Frames: *frames, WarmupSeconds: 3,
		Publish: harness.Endpoint{URL: participant + "/media", Token: g.Token},
		Play:    harness.Endpoint{URL: participant + "/subscriptions", Token: harness.Token(channelID)}})
}

type grant struct {
	StageID, ParticipantID, Token string
}

type publisher struct {
	g    grant
	sent *harness.SentFrames
	p    *whiptest.Publisher
}

// mesh opens a stage, reads the server's CPU over a window with no one on it, then has n
// publishers (the host and n-1 invited guests) send the 720p30 sample and subscribe to each
// other, and reads it again. Every picture a subscriber has after its first second is matched
// to the moment its publisher sent it.
func mesh(s *harness.Server, n int) error {
	hostSession, _, _, err := s.Channel("stagehost")
	if err != nil {
		return err
	}
	var st struct{ Stage struct{ InviteCode string } }
	if err := s.PostJSON("/api/me/stage", hostSession, nil, &st); err != nil {
		return err
	}
	window := func() float64 {
		c0, t0 := s.CPUSeconds(), time.Now()
		time.Sleep(*duration) // the measurement window
		return (s.CPUSeconds() - c0) / time.Since(t0).Minutes()
	}
	base := window()

	video, audio, err := harness.WebRTCSamples()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute+2**duration)
	defer cancel()
	var pubs []*publisher
	defer func() {
		for _, p := range pubs {
			p.p.Close()
		}
	}()
	for i := range n {
		session := hostSession
		if i > 0 {
			if session, _, _, err = s.Channel(fmt.Sprintf("stageguest%d", i)); err != nil {
				return err
			}
		}
		var g grant
		if err := s.PostJSON("/api/channels/stagehost/stage/participants", session, map[string]string{"invite": st.Stage.InviteCode}, &g); err != nil {
			return err
		}
		pub := &publisher{g: g, sent: harness.NewSentFrames()}
		pub.p, err = whiptest.Publish(ctx, s.Base+"/api/stages/"+g.StageID+"/participants/"+g.ParticipantID+"/media", g.Token,
			whiptest.Options{Width: 1280, Height: 720, VideoFile: video, AudioFile: audio, OnAccessUnit: pub.sent.Add})
		if err != nil {
			return err
		}
		pubs = append(pubs, pub)
	}
	type sub struct {
		v    *wheptest.Viewer
		from *publisher
	}
	var subs []sub
	defer func() {
		for _, x := range subs {
			x.v.Close()
		}
	}()
	for _, me := range pubs {
		for _, other := range pubs {
			if other == me {
				continue
			}
			v, err := wheptest.Play(ctx, s.Base+"/api/stages/"+other.g.StageID+"/participants/"+other.g.ParticipantID+"/subscriptions", me.g.Token, wheptest.Options{Keep: 2000})
			if err != nil {
				return err
			}
			subs = append(subs, sub{v, other})
		}
	}
	time.Sleep(2 * time.Second) // let the connections come up and the first keyframes pass
	with := window()

	var all, medians []float64
	for _, x := range subs {
		frames := x.v.Frames()
		if len(frames) == 0 {
			return errors.New("a subscriber received nothing")
		}
		var these []float64
		for _, f := range frames {
			if f.Arrived.Sub(frames[0].Arrived) < time.Second {
				continue
			}
			if at, ok := x.from.sent.When(f.NALUs); ok {
				these = append(these, ms(f.Arrived.Sub(at)))
			}
		}
		all = append(all, these...)
		medians = append(medians, harness.Percentile(these, 0.5))
	}
	perPublisher := (with - base) / float64(n)
	fmt.Printf("stage SFU latency (%d publishers of the 720p30 2.5 Mbps sample, each subscribing to the %d others: %d subscriptions, Pion clients on loopback; %d pictures after each subscription's first second): "+
		"a participant sends a picture → another has all of it: p50 %.1f ms, p95 %.1f ms; median of the subscriptions' medians %.1f ms "+
		"(each picture is matched to its send time by a hash of its slices: no capture, encode, decode or display: add the browser's for glass-to-glass)\n",
		n, n-1, len(subs), len(all), harness.Percentile(all, 0.5), harness.Percentile(all, 0.95), harness.Percentile(medians, 0.5))
	fmt.Printf("server CPU per stage publisher (%d publishers in a full mesh, %d forwarded subscriptions, SRTP in and out + RTCP; %v windows): open stage alone %.2f CPU-s/min, with the publishers %.2f: "+
		"%.3f CPU-s per publisher-minute (%.2f%% of a core, its %d subscriptions included)\n",
		n, len(subs), *duration, base, with, perPublisher, 100*perPublisher/60, n-1)
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
