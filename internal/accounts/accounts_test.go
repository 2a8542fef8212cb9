package accounts

import (
	"errors"
	"strings"
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
		if w := th.wait("k", t0); w != 0 {
			t.Fatalf("attempt %d: wait %v before the limit", i, w)
		}
		th.fail("k", t0)
	}
	if w := th.wait("k", t0.Add(10*time.Second)); w != 50*time.Second {
		t.Errorf("wait after limit = %v, want 50s", w)
	}
	if w := th.wait("other", t0); w != 0 {
		t.Errorf("another key waits %v", w)
	}
	if w := th.wait("k", t0.Add(time.Minute)); w != 0 {
		t.Errorf("wait after the window = %v", w)
	}
	th.fail("k", t0)
	th.reset("k")
	if w := th.wait("k", t0); w != 0 {
		t.Errorf("wait after reset = %v", w)
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
