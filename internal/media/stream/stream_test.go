package stream

import (
	"testing"
	"time"
)

func TestFanOutAndSlowReader(t *testing.T) {
	s := New(Tracks{})
	fast := s.NewReader("fast", 100)
	slow := s.NewReader("slow", 2)
	for i := range 10 {
		s.Write(&Unit{Kind: Video, PTS: time.Duration(i)})
	}
	for i := range 10 {
		if u := <-fast.C; u.PTS != time.Duration(i) {
			t.Fatalf("fast reader got PTS %v at %d", u.PTS, i)
		}
	}
	if got := fast.Dropped(); got != 0 {
		t.Errorf("fast reader dropped %d", got)
	}
	if got := slow.Dropped(); got != 8 {
		t.Errorf("slow reader dropped %d, want 8", got)
	}
	// The slow reader keeps the oldest units it had room for.
	if u := <-slow.C; u.PTS != 0 {
		t.Errorf("slow reader's first unit PTS %v", u.PTS)
	}
	s.RemoveReader(slow)
	s.Write(&Unit{})
	s.Close()
	n := 0
	for range fast.C {
		n++
	}
	if n != 1 {
		t.Errorf("fast reader got %d units after close, want 1", n)
	}
	if late := s.NewReader("late", 1); late != nil {
		if _, ok := <-late.C; ok {
			t.Errorf("reader added after close is open")
		}
	}
}

func BenchmarkWrite(b *testing.B) {
	s := New(Tracks{})
	for range 8 {
		r := s.NewReader("r", 1024)
		go func() {
			for range r.C {
			}
		}()
	}
	u := &Unit{Kind: Video}
	for b.Loop() {
		s.Write(u)
	}
	s.Close()
}
