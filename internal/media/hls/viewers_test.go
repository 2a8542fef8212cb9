package hls

import (
	"testing"
	"time"
)

func TestViewers(t *testing.T) {
	v := newViewers()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v.seen("ch1", "tokenAAAAAAAAAAAAAAA", t0)
	v.seen("ch1", "tokenBBBBBBBBBBBBBBB", t0.Add(10*time.Second))
	v.seen("ch1", "tokenAAAAAAAAAAAAAAA", t0.Add(20*time.Second)) // a reload: still one viewer
	v.seen("ch2", "tokenCCCCCCCCCCCCCCC", t0)
	tests := []struct {
		at   time.Duration
		ch   string
		want int
	}{
		{20 * time.Second, "ch1", 2},
		{20 * time.Second, "ch2", 1},
		{40 * time.Second, "ch1", 2},
		{45 * time.Second, "ch1", 1}, // B last seen at 10 s
		{51 * time.Second, "ch1", 0},
		{0, "none", 0},
	}
	for _, tt := range tests {
		if got := v.count(tt.ch, t0.Add(tt.at)); got != tt.want {
			t.Errorf("count(%s, +%v) = %d, want %d", tt.ch, tt.at, got, tt.want)
		}
	}
	v.forget("ch2")
	if got := v.count("ch2", t0); got != 0 {
		t.Errorf("after forget: %d", got)
	}
}

func TestValidToken(t *testing.T) {
	for tok, want := range map[string]bool{
		"abcdefghijklmnop":      true,
		"AbC-_0123456789xyzAbC": true,
		"short":                 false,
		"abcdefghijklmnop/../x": false,
		"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG": false,
	} {
		if got := validToken(tok); got != want {
			t.Errorf("validToken(%q) = %v, want %v", tok, got, want)
		}
	}
}
