package playback

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestMintVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	s, err := NewSigner(make([]byte, 32), clock)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewSigner([]byte(strings.Repeat("x", 32)), clock)

	tok := s.Mint(Claims{ChannelID: "ch1", UserID: "u1"})
	c, err := s.Verify(tok, "ch1")
	if err != nil {
		t.Fatalf("Verify(own token) = %v", err)
	}
	if c.ChannelID != "ch1" || c.UserID != "u1" || c.SessionID == "" || !c.Expires.Equal(now.Add(DefaultTTL)) {
		t.Errorf("claims = %+v", c)
	}
	anon := s.Mint(Claims{ChannelID: "ch1"})
	if c2, err := s.Verify(anon, "ch1"); err != nil || c2.UserID != "" || c2.SessionID == c.SessionID {
		t.Errorf("anonymous token: %+v, %v", c2, err)
	}

	for name, tc := range map[string]struct {
		token, channel string
		want           error
	}{
		"other channel":    {tok, "ch2", ErrInvalid},
		"other secret":     {other.Mint(Claims{ChannelID: "ch1"}), "ch1", ErrInvalid},
		"empty":            {"", "ch1", ErrInvalid},
		"no signature":     {strings.Split(tok, ".")[0], "ch1", ErrInvalid},
		"swapped payload":  {strings.Split(anon, ".")[0] + "." + strings.Split(tok, ".")[1], "ch1", ErrInvalid},
		"not base64":       {"%%%.%%%", "ch1", ErrInvalid},
		"too long":         {strings.Repeat("a", 300) + "." + "b", "ch1", ErrInvalid},
		"expired":          {s.Mint(Claims{ChannelID: "ch1", Expires: now}), "ch1", ErrExpired},
		"short payload":    {"AAAA." + strings.Split(tok, ".")[1], "ch1", ErrInvalid},
		"channel injected": {s.Mint(Claims{ChannelID: "ch1\x00x"}), "ch1", ErrInvalid},
		"expiry extended":  {tamper(tok, 0, 4), "ch1", ErrInvalid},
		"channel changed":  {tamper(tok, 0, 9), "ch1", ErrInvalid},
		"signature bit":    {tamper(tok, 1, 0), "ch1", ErrInvalid},
	} {
		if _, err := s.Verify(tc.token, tc.channel); !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify = %v, want %v", name, err, tc.want)
		}
	}
}

// tamper flips one bit of byte i of a token's payload (part 0) or signature (part 1).
func tamper(token string, part, i int) string {
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[part])
	if err != nil {
		panic(err)
	}
	raw[i] ^= 0x01
	parts[part] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// TestEveryNodeVerifies: signers made from the same installation secret (one per node of a
// cluster) accept each other's tokens, with the same claims.
func TestEveryNodeVerifies(t *testing.T) {
	secret := []byte(strings.Repeat("k", 32))
	nodeA, _ := NewSigner(secret, nil)
	nodeB, _ := NewSigner(secret, nil)
	tok := nodeA.Mint(Claims{ChannelID: "ch1", UserID: "u1"})
	c, err := nodeB.Verify(tok, "ch1")
	if err != nil || c.UserID != "u1" {
		t.Errorf("node B on node A's token: %+v, %v", c, err)
	}
	if _, err := nodeB.Verify(tok, "ch2"); !errors.Is(err, ErrInvalid) {
		t.Errorf("node B on node A's token for another channel: %v, want ErrInvalid", err)
	}
}

func FuzzVerify(f *testing.F) {
	s, _ := NewSigner(make([]byte, 32), nil)
	f.Add(s.Mint(Claims{ChannelID: "ch1", UserID: "u"}), "ch1")
	f.Add("a.b", "")
	f.Fuzz(func(t *testing.T, token, channel string) {
		c, err := s.Verify(token, channel)
		if err == nil && c.ChannelID != channel {
			t.Fatalf("accepted a token for %q as %q", c.ChannelID, channel)
		}
	})
}
