// Package playback mints and checks the signed tokens that let a player fetch a live channel's
// HLS playlists, parts and segments (and open a WHEP session).
//
// The channel route mints a token for every viewer it does not refuse (a banned signed-in
// viewer gets none); the player sends it as the `token` query parameter on every media request
// and renews it through its viewing beacon. Tokens are short-lived so that a ban takes effect
// within one lifetime. They are not part of any cache key: an edge or CDN keys on the URL
// without `token`, so every viewer of a channel shares one cached copy of each artifact, while
// the origin and the relaying nodes check the token before serving.
//
// A token also names the playback session (a random id), which is what viewer counting counts:
// one session per player, not per address.
package playback

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Param is the query parameter that carries a token.
const Param = "token"

// DefaultTTL is how long a token is good for. The player renews it well within that.
const DefaultTTL = 2 * time.Minute

// maxTokenLen bounds what Verify will look at.
const maxTokenLen = 256

var (
	// ErrInvalid is a token that is malformed, forged, or for another channel.
	ErrInvalid = errors.New("invalid playback token")
	// ErrExpired is a genuine token past its lifetime.
	ErrExpired = errors.New("playback token expired")
)

// Claims is what a token asserts.
type Claims struct {
	ChannelID string
	SessionID string // the playback session: random, one per player
	UserID    string // empty for an anonymous viewer
	Expires   time.Time
}

// Signer mints and verifies tokens with a key derived from the installation's secret, so every
// node of a cluster accepts every other node's tokens.
type Signer struct {
	key []byte
	now func() time.Time
}

// NewSigner derives the token key from the 32-byte server secret. now may be nil.
func NewSigner(secret []byte, now func() time.Time) (*Signer, error) {
	if len(secret) != 32 {
		return nil, fmt.Errorf("server secret must be 32 bytes, got %d", len(secret))
	}
	if now == nil {
		now = time.Now
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("livehouse playback token"))
	return &Signer{key: m.Sum(nil), now: now}, nil
}

// NewSessionID returns a fresh random playback session id.
func NewSessionID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Mint returns a token for c; a zero Expires means DefaultTTL from now, an empty SessionID a
// fresh one.
func (s *Signer) Mint(c Claims) string {
	if c.Expires.IsZero() {
		c.Expires = s.now().Add(DefaultTTL)
	}
	if c.SessionID == "" {
		c.SessionID = NewSessionID()
	}
	// payload: expiry (unix seconds, 8 bytes) | channel | 0 | session | 0 | user
	payload := binary.BigEndian.AppendUint64(nil, uint64(c.Expires.Unix()))
	payload = append(payload, c.ChannelID...)
	payload = append(payload, 0)
	payload = append(payload, c.SessionID...)
	payload = append(payload, 0)
	payload = append(payload, c.UserID...)
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
}

// Verify checks a token for channelID and returns its claims.
func (s *Signer) Verify(token, channelID string) (Claims, error) {
	if len(token) == 0 || len(token) > maxTokenLen {
		return Claims{}, ErrInvalid
	}
	p, sig, ok := strings.Cut(token, ".")
	if !ok {
		return Claims{}, ErrInvalid
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || len(payload) < 8 || !hmac.Equal(mac, s.mac(payload)) {
		return Claims{}, ErrInvalid
	}
	fields := strings.Split(string(payload[8:]), "\x00")
	if len(fields) != 3 || fields[0] != channelID {
		return Claims{}, ErrInvalid
	}
	c := Claims{
		ChannelID: fields[0], SessionID: fields[1], UserID: fields[2],
		Expires: time.Unix(int64(binary.BigEndian.Uint64(payload[:8])), 0),
	}
	if !s.now().Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}

func (s *Signer) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(payload)
	return m.Sum(nil)
}
