package channels

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestKeyBox(t *testing.T) {
	box, err := NewKeyBox(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewKeyBox(bytes.Repeat([]byte{2}, 32))
	key := NewStreamKey()
	sealed := box.Seal(key)
	if strings.Contains(sealed, key) || sealed == box.Seal(key) {
		t.Errorf("sealing is not randomised encryption: %q", sealed)
	}
	if got, err := box.Open(sealed); err != nil || got != key {
		t.Errorf("Open = %q, %v; want %q", got, err, key)
	}
	if _, err := other.Open(sealed); err == nil {
		t.Errorf("another server secret opened the key")
	}
	if _, err := box.Open("!!"); err == nil {
		t.Errorf("Open accepted garbage")
	}
	if h1, h2 := box.Hash(key), box.Hash(key); h1 != h2 || h1 == other.Hash(key) || h1 == box.Hash(NewStreamKey()) {
		t.Errorf("Hash is not a keyed, deterministic function of the key")
	}
	if _, err := NewKeyBox([]byte("short")); err == nil {
		t.Errorf("NewKeyBox accepted a short secret")
	}
}

func TestNew(t *testing.T) {
	box, _ := NewKeyBox(make([]byte, 32))
	a, b := New(box, "u1", TypeBasic, time.Now()), New(box, "u1", TypeBasic, time.Now())
	if a.ID == b.ID || a.StreamKey == b.StreamKey || a.ChatRoomID == b.ChatRoomID {
		t.Errorf("ids or keys repeat: %+v %+v", a, b)
	}
	if !strings.HasPrefix(a.StreamKey, "sk_") || len(a.StreamKey) != 43 || a.StreamKeyHash != box.Hash(a.StreamKey) {
		t.Errorf("stream key %q hash %q", a.StreamKey, a.StreamKeyHash)
	}
	// RandomID draws uniformly from base62: over many draws every symbol appears.
	seen := map[rune]bool{}
	for _, r := range RandomID(5000) {
		seen[r] = true
	}
	if len(seen) != 62 {
		t.Errorf("RandomID used %d symbols, want 62", len(seen))
	}
}
