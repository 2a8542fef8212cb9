package nodes

import "time"

// SetClock makes f read the time from now (tests of a request's age).
func SetClock(f *Forwarder, now func() time.Time) { f.now = now }
