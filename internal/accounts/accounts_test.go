package accounts

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/problem"
)

func code(err error) string {
	if err == nil {
		return ""
	}
	p, ok := problem.As(err)
	if !ok {
		return "not a problem: " + err.Error()
	}
	return p.Code
}

var usernameCases = []struct {
	in, want string
}{
	{"alice", ""},
	{"a.b_c.9", ""},
	{"ABCD", ""},
	{strings.Repeat("a", 20), ""},
	{"abc", "InvalidUsername"},
	{strings.Repeat("a", 21), "InvalidUsername"},
	{"al ice", "InvalidUsername"},
	{"al-ice", "InvalidUsername"},
	{"alice@x", "InvalidUsername"},
	{"élise", "InvalidUsername"},
	{"", "InvalidUsername"},
	{"health", "ReservedUsername"},
	{"Settings", "ReservedUsername"},
	{"MANAGER", "ReservedUsername"},
	{"healthz", "ReservedUsername"},
}

func TestValidateUsername(t *testing.T) {
	for _, tt := range usernameCases {
		if got := code(ValidateUsername(tt.in)); got != tt.want {
			t.Errorf("ValidateUsername(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

var emailCases = []struct {
	in, want string
}{
	{"a@example.com", ""},
	{" a@example.com ", ""},
	{"first.last+tag@sub.example.org", ""},
	{"a@localhost", "InvalidEmail"},
	{"a@", "InvalidEmail"},
	{"@example.com", "InvalidEmail"},
	{"A <a@example.com>", "InvalidEmail"},
	{"a@b@example.com", "InvalidEmail"},
	{"", "InvalidEmail"},
	{strings.Repeat("a", 250) + "@example.com", "InvalidEmail"},
}

func TestNormalizeEmail(t *testing.T) {
	for _, tt := range emailCases {
		got, err := normalizeEmail(tt.in)
		if code(err) != tt.want {
			t.Errorf("normalizeEmail(%q) = %q, want %q", tt.in, code(err), tt.want)
		}
		if err == nil && got != strings.TrimSpace(tt.in) {
			t.Errorf("normalizeEmail(%q) = %q", tt.in, got)
		}
	}
}

func TestEmailDomainAllowed(t *testing.T) {
	for _, tt := range []struct {
		email   string
		allowed []string
		want    bool
	}{
		{"a@example.com", nil, true},
		{"a@example.com", []string{"example.com"}, true},
		{"a@EXAMPLE.com", []string{"example.com"}, true},
		{"a@sub.example.com", []string{"example.com"}, false},
		{"a@other.com", []string{"example.com", "x.org"}, false},
	} {
		if got := emailDomainAllowed(tt.email, tt.allowed); got != tt.want {
			t.Errorf("emailDomainAllowed(%q, %v) = %v, want %v", tt.email, tt.allowed, got, tt.want)
		}
	}
}

var passwordCases = []struct {
	in   string
	want bool
}{
	{"Passw0rd!", true},
	{"Ab1~efgh", true},
	{"Ab1|efgh", true},
	{"Ab1!", false},
	{"password1!", false},
	{"PASSWORD1!", false},
	{"Password!!", false},
	{"Password11", false},
	{"Pass w0rd!", false},
	{strings.Repeat("Aa1!", 65), false},
}

func TestValidatePassword(t *testing.T) {
	for _, tt := range passwordCases {
		err := ValidatePassword("password", tt.in)
		if (err == nil) != tt.want {
			t.Errorf("ValidatePassword(%q) = %v, want ok=%v", tt.in, err, tt.want)
		}
		if err != nil && !errors.Is(err, problem.ErrInvalid) {
			t.Errorf("ValidatePassword(%q) error kind %v", tt.in, err)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	p := HashParams{MemoryKiB: 64, Time: 1, Threads: 1}
	h := hashPassword("Passw0rd!", p)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if h2 := hashPassword("Passw0rd!", p); h2 == h {
		t.Errorf("two hashes of one password are equal: salts are not random")
	}
	for _, tt := range []struct {
		pw   string
		want bool
	}{{"Passw0rd!", true}, {"passw0rd!", false}, {"", false}} {
		if ok, err := checkPassword(tt.pw, h); err != nil || ok != tt.want {
			t.Errorf("checkPassword(%q) = %v, %v; want %v", tt.pw, ok, err, tt.want)
		}
	}
	// A hash made with other parameters still verifies: they are read from the hash.
	if ok, _ := checkPassword("x", hashPassword("x", DefaultHashParams)); !ok {
		t.Errorf("hash with default parameters does not verify")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=x$AA$AA", "$argon2id$v=19$m=1,t=1,p=1$!!$AA"} {
		if _, err := checkPassword("x", bad); err == nil {
			t.Errorf("checkPassword accepted malformed hash %q", bad)
		}
	}
}

func TestThrottle(t *testing.T) {
	th := newThrottle(3, time.Minute)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if w := th.take("k", t0); w != 0 {
			t.Fatalf("attempt %d: wait %v before the limit", i, w)
		}
	}
	if w := th.take("k", t0.Add(10*time.Second)); w != 50*time.Second {
		t.Errorf("wait after limit = %v, want 50s", w)
	}
	if w := th.take("other", t0); w != 0 {
		t.Errorf("another key waits %v", w)
	}
	th.giveBack("k") // an attempt that did not count makes room for one more
	if w := th.take("k", t0); w != 0 {
		t.Errorf("wait after giving one back = %v", w)
	}
	if w := th.take("k", t0); w == 0 {
		t.Errorf("the given-back attempt was counted twice")
	}
	if w := th.take("k", t0.Add(time.Minute)); w != 0 {
		t.Errorf("wait after the window = %v", w)
	}
	th.reset("k")
	if w := th.take("k", t0); w != 0 {
		t.Errorf("wait after reset = %v", w)
	}
}

// TestThrottleConcurrent: of many concurrent attempts exactly the limit is taken.
func TestThrottleConcurrent(t *testing.T) {
	th := newThrottle(5, time.Minute)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var taken atomic.Int32
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if th.take("k", t0) == 0 {
				taken.Add(1)
			}
		})
	}
	wg.Wait()
	if got := taken.Load(); got != 5 {
		t.Errorf("%d of 100 concurrent attempts taken, want 5", got)
	}
}

func TestReserveAllOrNone(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	account, addr := newThrottle(1, time.Minute), newThrottle(10, time.Minute)
	if _, err := reserve(t0, "C", "m", slot{account, "a"}, slot{addr, "ip"}); err != nil {
		t.Fatal(err)
	}
	_, err := reserve(t0, "C", "m", slot{addr, "ip"}, slot{account, "a"})
	if p, ok := problem.As(err); !ok || p.Code != "C" || p.RetryAfter != time.Minute {
		t.Fatalf("reserve past the account's limit = %v, want a throttled problem with a minute's wait", err)
	}
	// The address's attempt taken before the account refused was given back: 9 remain.
	for i := range 9 {
		if w := addr.take("ip", t0); w != 0 {
			t.Fatalf("address attempt %d refused: the refused reservation kept its attempt", i)
		}
	}
	if w := addr.take("ip", t0); w == 0 {
		t.Errorf("address took more than its limit")
	}
}

// TestHasherBounds: no more than the workers hash at once, at most the queue waits, and
// everything past that is refused at once with a 503 problem carrying a Retry-After.
func TestHasherBounds(t *testing.T) {
	const workers, queue, callers = 2, 3, 20
	h := newHasher(workers, queue, time.Hour)
	release := make(chan struct{})
	var running, peak, ran atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			errs <- h.do(context.Background(), func() {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				<-release
				running.Add(-1)
				ran.Add(1)
			})
		})
	}
	// The refusals come back while the admitted ones are held.
	busy := 0
	for busy < callers-workers-queue {
		err := <-errs
		p, ok := problem.As(err)
		if !ok || !errors.Is(err, problem.ErrUnavailable) || p.RetryAfter <= 0 {
			t.Fatalf("refusal = %v, want an Unavailable problem with a Retry-After", err)
		}
		busy++
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("admitted hash: %v", err)
		}
	}
	if got := peak.Load(); got > workers {
		t.Errorf("%d hashes ran at once, want at most %d", got, workers)
	}
	if got := ran.Load(); got != workers+queue {
		t.Errorf("%d hashes ran, want %d (the workers and the queue)", got, workers+queue)
	}
}

// FuzzValidateUsername checks the validator against its definition on any input.
func FuzzValidateUsername(f *testing.F) {
	for _, tt := range usernameCases {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateUsername(s)
		okChars := len(s) >= 4 && len(s) <= 20 && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._") == ""
		if err == nil && !okChars {
			t.Fatalf("accepted %q", s)
		}
		if okChars && err != nil && code(err) != "ReservedUsername" {
			t.Fatalf("rejected %q: %v", s, err)
		}
	})
}

// FuzzNormalizeEmail: whatever is accepted has exactly one @, a dotted domain and no spaces.
func FuzzNormalizeEmail(f *testing.F) {
	for _, tt := range emailCases {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := normalizeEmail(s)
		if err != nil {
			return
		}
		at := strings.LastIndexByte(got, '@')
		if at <= 0 || !strings.Contains(got[at:], ".") || strings.ContainsAny(got, " \t\r\n<>") {
			t.Fatalf("accepted %q as %q", s, got)
		}
	})
}

// TestThrottleFull: a throttle holding maxThrottleKeys live windows refuses new keys rather
// than forget counts, keeps counting the keys it has, and makes room once windows expire.
func TestThrottleFull(t *testing.T) {
	th := newThrottle(3, time.Minute)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range maxThrottleKeys {
		th.keys[strconv.Itoa(i)] = &attempts{n: 1, start: t0}
	}
	if w := th.take("new", t0); w == 0 {
		t.Errorf("a full throttle took a new key")
	}
	if w := th.take("7", t0); w != 0 {
		t.Errorf("a full throttle refused a key it holds: %v", w)
	}
	if w := th.take("new", t0.Add(time.Minute)); w != 0 {
		t.Errorf("a new key after the windows expired: wait %v", w)
	}
	if len(th.keys) != 1 {
		t.Errorf("%d keys after the expired ones were dropped, want 1", len(th.keys))
	}
}

func TestAddrSlotGroupsIPv6By64(t *testing.T) {
	th := newThrottle(1, time.Minute)
	for _, tt := range []struct{ addr, want string }{
		{"203.0.113.9", "203.0.113.9"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:bbbb::2", "2001:db8:1:2::/64"},
		{"::ffff:203.0.113.9", "203.0.113.9"},
		{"not an address", "not an address"},
	} {
		got := addrSlot(th, tt.addr)
		if len(got) != 1 || got[0].key != tt.want {
			t.Errorf("addrSlot(%q) = %+v, want key %q", tt.addr, got, tt.want)
		}
	}
	if got := addrSlot(th, ""); got != nil {
		t.Errorf("addrSlot(\"\") = %+v, want none", got)
	}
}
