package harness

import (
	"crypto/sha256"
	"sync"
	"time"
)

// SentFrames records when a publisher sent each picture, by a hash of its slice data: the
// server passes H.264 through (WHEP, the stage SFU), so a viewer's copy has the same slice
// bytes, and the hash is the timestamp the picture carries (a repeat of the sample loop
// replaces the earlier time).
type SentFrames struct {
	mu sync.Mutex
	at map[[32]byte]time.Time
}

// NewSentFrames returns an empty record.
func NewSentFrames() *SentFrames { return &SentFrames{at: map[[32]byte]time.Time{}} }

// Add records an access unit (Annex B) sent at at.
func (s *SentFrames) Add(au []byte, at time.Time) {
	h, ok := sliceHash(SplitAnnexB(au))
	if !ok {
		return
	}
	s.mu.Lock()
	s.at[h] = at
	s.mu.Unlock()
}

// When is when the picture made of these NAL units was sent.
func (s *SentFrames) When(nalus [][]byte) (time.Time, bool) {
	h, ok := sliceHash(nalus)
	if !ok {
		return time.Time{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.at[h]
	return t, ok
}

// sliceHash hashes an access unit's coded slices (NAL types 1 and 5).
func sliceHash(nalus [][]byte) ([32]byte, bool) {
	h := sha256.New()
	found := false
	for _, n := range nalus {
		if len(n) > 0 && (n[0]&0x1f == 1 || n[0]&0x1f == 5) {
			h.Write(n)
			found = true
		}
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, found
}

// SplitAnnexB splits an Annex-B byte stream into NAL units.
func SplitAnnexB(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+3 <= len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				if end > start && b[end-1] == 0 {
					end--
				}
				out = append(out, b[start:end])
			}
			start = i + 3
			i += 2
		}
	}
	if start >= 0 && start < len(b) {
		out = append(out, b[start:])
	}
	return out
}
