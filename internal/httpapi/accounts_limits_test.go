package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/httpapi"
)

func accountLimits(l accounts.Limits) envOption {
	return func(a *accounts.Config, _ *httpapi.Config) { a.Limits = l }
}

// behindProxy makes the server take client addresses from X-Forwarded-For.
func behindProxy() envOption {
	return func(_ *accounts.Config, h *httpapi.Config) { h.TrustProxy = true }
}

// burst sends n requests at once (from goroutines, so without t.Fatal) and returns each
// one's status and Retry-After header; req(i) builds the i-th request's body and headers.
func (e *env) burst(n int, path string, req func(i int) (body any, headers map[string]string)) (statuses []int, retryAfter []string) {
	e.t.Helper()
	statuses, retryAfter = make([]int, n), make([]string, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		body, headers := req(i)
		raw, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		r, err := http.NewRequest("POST", e.srv.URL+path, bytes.NewReader(raw))
		if err != nil {
			e.t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/json")
		for k, v := range headers {
			r.Header.Set(k, v)
		}
		wg.Go(func() {
			<-start
			res, err := e.srv.Client().Do(r)
			if err != nil {
				statuses[i] = -1
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			statuses[i], retryAfter[i] = res.StatusCode, res.Header.Get("Retry-After")
		})
	}
	close(start)
	wg.Wait()
	return statuses, retryAfter
}

// tally counts statuses and checks that every one is allowed and every 429 and 503 carries
// a Retry-After.
func tally(t *testing.T, statuses []int, retryAfter []string, allowed ...int) map[int]int {
	t.Helper()
	counts := map[int]int{}
	for i, st := range statuses {
		counts[st]++
		ok := false
		for _, a := range allowed {
			ok = ok || st == a
		}
		if !ok {
			t.Errorf("request %d: status %d, want one of %v", i, st, allowed)
		}
		if (st == 429 || st == 503) && retryAfter[i] == "" {
			t.Errorf("request %d: %d without Retry-After", i, st)
		}
	}
	return counts
}

// TestLoginThrottleHoldsUnderConcurrency: 100 wrong passwords at once for one account get
// no more 401s than the throttle allows; the rest are refused with 429 (or 503 when the
// hashing queue is full), each with Retry-After.
func TestLoginThrottleHoldsUnderConcurrency(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	e.want(e.call("POST", "/api/auth/register", "", map[string]string{"username": "victim", "email": "victim@example.com", "password": password}), 201)
	statuses, retry := e.burst(100, "/api/auth/login", func(i int) (any, map[string]string) {
		login := "victim"
		if i%2 == 1 {
			login = "VICTIM@example.com" // the same account by its email: one count
		}
		return map[string]string{"username": login, "password": fmt.Sprintf("Wrong-passw0rd%d", i)}, nil
	})
	counts := tally(t, statuses, retry, 401, 429, 503)
	if allowance := accounts.DefaultLimits.LoginPerAccount; counts[401] > allowance || counts[401] == 0 {
		t.Errorf("%d wrong passwords checked (401), want 1 to %d; statuses %v", counts[401], allowance, counts)
	}
	if counts[429] == 0 {
		t.Errorf("no request was throttled: %v", counts)
	}
}

// TestLoginAddressThrottleHoldsUnderConcurrency: 100 wrong sign-ins at once from one address,
// each for another name, get no more 401s than the address's allowance.
func TestLoginAddressThrottleHoldsUnderConcurrency(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	statuses, retry := e.burst(100, "/api/auth/login", func(i int) (any, map[string]string) {
		return map[string]string{"username": fmt.Sprintf("guess%03d", i), "password": "Wrong-passw0rd"}, nil
	})
	counts := tally(t, statuses, retry, 401, 429, 503)
	if allowance := accounts.DefaultLimits.LoginPerAddress; counts[401] > allowance || counts[401] == 0 {
		t.Errorf("%d sign-ins checked (401), want 1 to %d; statuses %v", counts[401], allowance, counts)
	}
	if counts[429] == 0 {
		t.Errorf("no request was throttled: %v", counts)
	}
}

// TestPasswordRoutesShareTheThrottle: the current-password checks of a signed-in session
// (change password, delete account) count as sign-in attempts on the account.
func TestPasswordRoutesShareTheThrottle(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	u := e.signUp("carla")
	limit := accounts.DefaultLimits.LoginPerAccount
	for i := range limit {
		path, method := "/api/me/password", "PUT"
		body := map[string]string{"currentPassword": "Wrong-passw0rd", "newPassword": "N3w-passw0rd!"}
		if i%2 == 1 {
			path, method, body = "/api/me", "DELETE", map[string]string{"password": "Wrong-passw0rd"}
		}
		e.want(e.call(method, path, u.token, body), 401)
	}
	res := e.want(e.call("PUT", "/api/me/password", u.token, map[string]string{"currentPassword": password, "newPassword": "N3w-passw0rd!"}), 429)
	if res.header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	e.want(e.call("POST", "/api/auth/login", "", map[string]string{"username": "carla", "password": password}), 429)
	e.clock.Add(accounts.LoginWindow)
	e.want(e.call("PUT", "/api/me/password", u.token, map[string]string{"currentPassword": password, "newPassword": "N3w-passw0rd!"}), 204)
}

// TestSignUpBurstFromOneAddress: 150 sign-ups at once from one address: no 500, no more
// accounts than the address's allowance, every refusal with Retry-After.
func TestSignUpBurstFromOneAddress(t *testing.T) {
	e := newEnv(t, autoVerify(true))
	statuses, retry := e.burst(150, "/api/auth/register", func(i int) (any, map[string]string) {
		return map[string]string{"username": fmt.Sprintf("newbie%03d", i), "email": fmt.Sprintf("newbie%03d@example.com", i), "password": password}, nil
	})
	counts := tally(t, statuses, retry, 201, 429, 503)
	if allowance := accounts.DefaultLimits.SignUpsPerAddress; counts[201] > allowance || counts[201] == 0 {
		t.Errorf("%d accounts created, want 1 to %d; statuses %v", counts[201], allowance, counts)
	}
	users, err := e.store.ListUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != counts[201] {
		t.Errorf("%d accounts stored, %d answered 201", len(users), counts[201])
	}
}

// TestSignUpBurstHashingIsBounded: 150 sign-ups at once from 150 addresses, with the real
// argon2id cost (19 MiB a hash), are bounded by the hashing queue: no 500, every answer 201
// or 503 with Retry-After, and the heap never holds more than a few hashes' memory (150
// unbounded hashes need 2.8 GiB).
func TestSignUpBurstHashingIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes with the real cost")
	}
	limits := accounts.Limits{SignUpsPerAddress: 1000}.WithDefaults()
	e := newEnv(t, autoVerify(true), behindProxy(), hashParams(accounts.DefaultHashParams), accountLimits(limits))
	hashBytes := uint64(accounts.DefaultHashParams.MemoryKiB) << 10

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() { // sample the heap while the burst runs
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	statuses, retry := e.burst(150, "/api/auth/register", func(i int) (any, map[string]string) {
		return map[string]string{"username": fmt.Sprintf("crowd%03d", i), "email": fmt.Sprintf("crowd%03d@example.com", i), "password": password},
			map[string]string{"X-Forwarded-For": fmt.Sprintf("198.51.100.%d", i)}
	})
	close(stop)
	<-sampled
	counts := tally(t, statuses, retry, 201, 503)
	if counts[201] == 0 || counts[503] == 0 {
		t.Errorf("statuses %v: want some accounts created and the rest refused 503", counts)
	}
	// How many are created depends on how many hashes finish while the burst still arrives
	// (more on a fast machine); the queue's exact bound is TestHasherBounds' (accounts), and
	// what it protects, memory, is measured here.
	// At most HashWorkers hashes are live at once; garbage from finished ones may double
	// that before a collection. Unbounded, 150 live hashes took 2.8 GiB.
	bound := uint64(4*limits.HashWorkers)*hashBytes + 64<<20
	if grew := peak.Load() - min(peak.Load(), before.HeapInuse); grew > bound {
		t.Errorf("heap in use grew by %d MiB during the burst, want under %d MiB", grew>>20, bound>>20)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := after.HeapInuse - min(after.HeapInuse, before.HeapInuse); grew > 32<<20 {
		t.Errorf("heap in use after GC grew by %d MiB, want under 32 MiB", grew>>20)
	}
	t.Logf("statuses %v; heap in use %d MiB before, %d MiB peak, %d MiB after GC", counts, before.HeapInuse>>20, peak.Load()>>20, after.HeapInuse>>20)
}

// TestUnverifiedAccountGetsNoStreamKey: until its email is confirmed an account is not shown
// its stream key (at sign-up, by GET /api/me) and cannot get a new one; once verified it is.
func TestUnverifiedAccountGetsNoStreamKey(t *testing.T) {
	e := newEnv(t)
	reg := e.want(e.call("POST", "/api/auth/register", "", map[string]string{"username": "fresh", "email": "fresh@example.com", "password": password}), 201).json(t)
	ch := reg["user"].(map[string]any)["channel"].(map[string]any)
	if key, ok := ch["streamKey"]; ok {
		t.Errorf("sign-up of an unverified account shows its stream key %v", key)
	}
	e.want(e.call("POST", "/api/auth/verify", "", map[string]string{"code": e.mail.lastCode(t, "fresh@example.com")}), 200)
	u := e.login("fresh", "fresh@example.com", password)
	if u.streamKey == "" {
		t.Fatalf("the verified account's sign-in shows no stream key")
	}

	// An account that lost its verification (say, by an operator's hand) while signed in.
	if _, err := e.store.SQL().Exec(`UPDATE users SET email_verified_at = NULL WHERE id = ?`, u.id); err != nil {
		t.Fatal(err)
	}
	me := e.want(e.call("GET", "/api/me", u.token, nil), 200).json(t)
	if key, ok := me["channel"].(map[string]any)["streamKey"]; ok || me["emailVerified"] != false {
		t.Errorf("GET /api/me of an unverified account: streamKey %v, emailVerified %v", key, me["emailVerified"])
	}
	if got := e.want(e.call("POST", "/api/me/stream-key/reset", u.token, nil), 403).errorCode(t); got != "AccountNotVerified" {
		t.Errorf("stream key reset of an unverified account: %s, want AccountNotVerified", got)
	}
}
