package harness

import (
	"context"
	"os/exec"
)

// Publisher starts sending a live stream to s with a stream key, until ctx is done; wait
// returns once it has stopped.
type Publisher func(ctx context.Context, s *Server, key string) (wait func(), err error)

// FFmpeg is a Publisher that runs ffmpeg with args and the channel's RTMP URL as its output.
func FFmpeg(args ...string) Publisher {
	return func(ctx context.Context, s *Server, key string) (func(), error) {
		cmd := exec.CommandContext(ctx, "ffmpeg", append(args, "rtmp://"+s.RTMP+"/live/"+key)...)
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return func() { _ = cmd.Wait() }, nil
	}
}

// Live is a server with one channel live on it.
type Live struct {
	*Server
	Token     string // the streamer's session
	Key       string // the channel's stream key
	ChannelID string

	cancel context.CancelFunc
	wait   func()
}

// StartLive starts binary (env adds settings), signs up a streamer of that name, publishes on
// the channel with pub and waits until its media playlist lists a part.
func StartLive(binary, name string, pub Publisher, env ...string) (*Live, error) {
	s, err := Start(binary, env...)
	if err != nil {
		return nil, err
	}
	l := &Live{Server: s, cancel: func() {}, wait: func() {}}
	if l.Token, l.Key, l.ChannelID, err = s.Channel(name); err != nil {
		s.Stop()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	wait, err := pub(ctx, s, l.Key)
	if err != nil {
		cancel()
		s.Stop()
		return nil, err
	}
	l.cancel, l.wait = cancel, wait
	if err := s.WaitLive(l.ChannelID); err != nil {
		l.Stop()
		return nil, err
	}
	return l, nil
}

// Stop ends the publisher, then the server.
func (l *Live) Stop() {
	l.cancel()
	l.wait()
	l.Server.Stop()
}
