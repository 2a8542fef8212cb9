package viewers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/livehouse/livehouse/internal/playback"
	"github.com/livehouse/livehouse/internal/problem"
)

// Access tells whether a viewer (userID, empty when anonymous) may watch a channel: nil, or a
// problem saying why not (banned; not on a private channel's allowlist).
type Access interface {
	MayWatch(ctx context.Context, channelID, userID string) error
}

// Ticket is a playback token handed to a player, and when to renew it.
type Ticket struct {
	Token      string
	Expires    time.Time
	RenewAfter time.Duration // the player sends its next beacon (and gets a fresh token) after this
}

// Service hands out playback tokens, renews them through the players' beacons (refusing a
// viewer banned since) and counts the sessions the beacons report.
type Service struct {
	*Counter
	signer *playback.Signer
	access Access
	ttl    time.Duration
	now    func() time.Time
}

// BeaconEvery is how often a player reports its session while the token lasts long enough.
const BeaconEvery = 30 * time.Second

// renewGrace is how long after its expiry a token may still be renewed: a laptop that slept
// or a throttled background tab misses its renewal, and the ban check happens at renewal
// anyway.
const renewGrace = 10 * time.Minute

// NewService wires playback tokens of the given lifetime (playback.DefaultTTL when 0) to the
// counter. now may be nil.
func NewService(c *Counter, signer *playback.Signer, access Access, ttl time.Duration, now func() time.Time) *Service {
	if ttl <= 0 {
		ttl = playback.DefaultTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Service{Counter: c, signer: signer, access: access, ttl: ttl, now: now}
}

// TTL is how long the tokens last.
func (s *Service) TTL() time.Duration { return s.ttl }

// Grant mints a token for a new playback session of the channel. The caller has checked
// that the viewer (userID, empty when anonymous) may watch it.
func (s *Service) Grant(channelID, userID string) Ticket {
	return s.mint(playback.Claims{ChannelID: channelID, UserID: userID})
}

func (s *Service) mint(c playback.Claims) Ticket {
	c.Expires = s.now().Add(s.ttl)
	return Ticket{Token: s.signer.Mint(c), Expires: c.Expires, RenewAfter: min(BeaconEvery, s.ttl/3)}
}

func invalidToken() error {
	return problem.Forbidden("InvalidPlaybackToken", "This playback token is not valid for this channel: reload the page.")
}

// verify checks a token for the channel, accepting one expired within the grace.
func (s *Service) verify(channelID, token string) (playback.Claims, error) {
	c, err := s.signer.Verify(token, channelID)
	switch {
	case errors.Is(err, playback.ErrExpired) && s.now().Sub(c.Expires) <= renewGrace:
		return c, nil
	case err != nil:
		return c, invalidToken()
	}
	return c, nil
}

// Beacon takes a player's report that its session is playing: the session counts (within
// the caps) and the player gets a fresh token for the same session. A viewer banned since the
// token was minted is refused, as is one who may no longer watch a channel that is private
// (taken off its allowlist, or anonymous when the channel turned private).
func (s *Service) Beacon(ctx context.Context, channelID, token, addr string) (Ticket, error) {
	c, err := s.verify(channelID, token)
	if err != nil {
		return Ticket{}, err
	}
	if err := s.access.MayWatch(ctx, channelID, c.UserID); err != nil {
		if _, refused := problem.As(err); refused {
			s.Left(c)
			return Ticket{}, err
		}
		return Ticket{}, fmt.Errorf("checking the viewer's access: %w", err)
	}
	// A session over the caps still plays; it is just not counted.
	_ = s.Seen(c, addr)
	return s.mint(c), nil
}

// Check verifies a token presented on a media request: signed by this installation, for the
// channel, and not expired (no grace here: an expired token is how a ban takes effect).
func (s *Service) Check(channelID, token string) error {
	if _, err := s.signer.Verify(token, channelID); err != nil {
		return problem.Forbidden("InvalidPlaybackToken", "This playback token is not valid for this channel, or has expired: reload the page.")
	}
	return nil
}

// Leave drops the token's session from the count at once.
func (s *Service) Leave(channelID, token string) error {
	c, err := s.verify(channelID, token)
	if err != nil {
		return err
	}
	s.Left(c)
	return nil
}

// Session names the playback session of a token, checked as Check does. A server that holds
// several connections for one player (a stage spectator subscribes once per publisher, each
// time with its latest token) counts them as the one viewer they are.
func (s *Service) Session(channelID, token string) (string, error) {
	c, err := s.signer.Verify(token, channelID)
	if err != nil {
		return "", s.Check(channelID, token) // the same refusal
	}
	return c.SessionID, nil
}
