package accounts

import "testing"

// HoldHashing takes every place of the hashing queue until the returned release is called,
// so that a test can see what a request meets when the queue is full.
func (s *Service) HoldHashing(t *testing.T) (release func()) {
	t.Helper()
	n := cap(s.hash.waiting)
	for range n {
		s.hash.waiting <- struct{}{}
	}
	return func() {
		for range n {
			<-s.hash.waiting
		}
	}
}
