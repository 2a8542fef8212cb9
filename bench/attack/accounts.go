package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// loginRaces (3): 100 concurrent wrong passwords for one account (from 100 addresses), 60
// concurrent wrong sign-ins from one address (60 names), and 150 concurrent sign-ups (from
// 150 addresses).
func loginRaces(ctx context.Context, e *env, r *result) error {
	if _, err := register(http.DefaultClient, e.Server, "victim01", "victim01@attack.example"); err != nil {
		return err
	}
	var one statuses
	together(100, func(i int) {
		c := clientFrom(src(30, i))
		defer c.CloseIdleConnections()
		status, _, err := call(c, "POST", e.Base+"/api/auth/login", "", map[string]string{"username": "victim01", "password": "Wrong-passw0rd"})
		one.add(status, err)
	})
	r.check(one.get("401") <= *perAccount && one.count("500", "no answer", "timeout") == 0,
		"one account, 100 at once: %s (bound: at most %d × 401)", one.String(), *perAccount)
	afterOne := e.smp.growthMiB()

	var addr statuses
	c := clientFrom(src(31, 0))
	together(60, func(i int) {
		status, _, err := call(c, "POST", e.Base+"/api/auth/login", "", map[string]string{"username": fmt.Sprintf("nobody%03d", i), "password": "Wrong-passw0rd"})
		addr.add(status, err)
	})
	c.CloseIdleConnections()
	r.check(addr.get("401") <= *perAddress && addr.count("500", "no answer", "timeout") == 0,
		"one address, 60 at once: %s (bound: at most %d × 401)", addr.String(), *perAddress)

	var signups statuses
	together(150, func(i int) {
		c := clientFrom(src(32, i))
		defer c.CloseIdleConnections()
		name := fmt.Sprintf("signup%03d", i)
		status, _, err := call(c, "POST", e.Base+"/api/auth/register", "", map[string]string{"username": name, "email": name + "@attack.example", "password": password})
		signups.add(status, err)
	})
	growth := e.smp.growthMiB()
	bad := 0
	for _, k := range []string{"500", "502", "504", "no answer", "timeout"} {
		bad += signups.get(k)
	}
	r.check(bad == 0, "150 sign-ups at once: %s (bound: no 5xx but 503, every one answered)", signups.String())
	r.check(growth < 400, "RSS %+.0f MiB after the wrong passwords on one account, %+.0f MiB at the peak (bound 400)", afterOne, growth)
	return nil
}

// lostUpdates (10): 20 rounds of a password change and an email change sent at once on one
// session; afterwards both must have taken effect, or the one refused must say so.
func lostUpdates(ctx context.Context, e *env, r *result) error {
	c := http.DefaultClient
	if _, err := register(c, e.Server, "racer01", "racer01@attack.example"); err != nil {
		return err
	}
	pw := password
	both, refused, lostPassword, lostEmail := 0, 0, 0, 0
	for round := range 20 {
		if ctx.Err() != nil {
			break
		}
		session, _, _, err := login(c, e.Server, "racer01", pw)
		if err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		next := fmt.Sprintf("Attack-passw0rd-%d", round)
		email := fmt.Sprintf("racer01.r%d@attack.example", round)
		var pwStatus, emailStatus int
		var wg sync.WaitGroup
		wg.Go(func() {
			pwStatus, _, _ = call(c, "PUT", e.Base+"/api/me/password", session, map[string]string{"currentPassword": pw, "newPassword": next})
		})
		wg.Go(func() {
			emailStatus, _, _ = call(c, "PATCH", e.Base+"/api/me", session, map[string]string{"email": email, "currentPassword": pw})
		})
		wg.Wait()
		// What stuck: the new password signs in, or else the old one.
		newPW := pwStatus < 300
		s2, _, _, err := login(c, e.Server, "racer01", next)
		if err != nil {
			if s2, _, _, err = login(c, e.Server, "racer01", pw); err != nil {
				return fmt.Errorf("round %d: neither password signs in: %w", round, err)
			}
			if newPW {
				lostPassword++
			}
		} else {
			pw = next
		}
		var me struct{ Email, PendingEmail string }
		status, body, err := call(c, "GET", e.Base+"/api/me", s2, nil)
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("round %d: /api/me: %d %v", round, status, err)
		}
		if err := decodeJSON(body, &me); err != nil {
			return err
		}
		if emailStatus < 300 && me.Email != email && me.PendingEmail != email {
			lostEmail++
		}
		if newPW && emailStatus < 300 {
			both++
		} else {
			refused++
		}
	}
	r.check(lostPassword+lostEmail == 0, "20 rounds: both answered 2xx in %d, one refused in %d; lost updates: %d passwords, %d emails (bound 0)",
		both, refused, lostPassword, lostEmail)
	return nil
}

// resetTiming (11): 25 reset requests each for a known and an unknown address, interleaved,
// each from its own source address (so a per-address throttle answers neither); the medians of
// their answer times, and the mails the known address got.
func resetTiming(ctx context.Context, e *env, r *result) error {
	const known = "resetme1@attack.example"
	if _, err := register(http.DefaultClient, e.Server, "resetme1", known); err != nil {
		return err
	}
	mails0 := mailsTo(e.Dir(), known)
	var tk, tu []float64
	var sk, su statuses
	for i := range 28 {
		if ctx.Err() != nil {
			break
		}
		for j, k := range []bool{i%2 == 0, i%2 != 0} {
			email := known
			if !k {
				email = fmt.Sprintf("nobody%d@attack.example", i)
			}
			c := clientFrom(src(110, 2*i+j))
			// A connection first, so that the time is the server's answer, not the dial.
			call(c, "GET", e.Base+"/healthz", "", nil)
			t0 := time.Now()
			status, _, err := call(c, "POST", e.Base+"/api/auth/password-reset", "", map[string]string{"email": email})
			ms := float64(time.Since(t0).Microseconds()) / 1000
			c.CloseIdleConnections()
			if i < 3 {
				continue // warm-up
			}
			if k {
				tk = append(tk, ms)
				sk.add(status, err)
			} else {
				tu = append(tu, ms)
				su.add(status, err)
			}
		}
	}
	time.Sleep(2 * time.Second) // mail written after the answer
	mails := mailsTo(e.Dir(), known) - mails0
	mk, mu := median(tk), median(tu)
	ratio := mk / max(mu, 0.001)
	r.check(ratio <= 1.5 || mk-mu < 0.25, "median answer: known %.2f ms (%s), unknown %.2f ms (%s), %.1f× (bound 1.5×, or within 0.25 ms)", mk, sk.String(), mu, su.String(), ratio)
	r.check(mails <= 5, "%d reset mails to one recipient from %d requests (bound 5)", mails, len(tk))
	return nil
}

// mailsTo counts the mails in a data dir's outbox addressed to one recipient.
func mailsTo(dir, to string) int {
	n := 0
	filepath.WalkDir(filepath.Join(dir, "outbox"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(b), to) {
			n++
		}
		return nil
	})
	return n
}

func median(d []float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
