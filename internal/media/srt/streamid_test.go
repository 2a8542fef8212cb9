package srt

import "testing"

var streamIDCases = []struct {
	id, key string // key "" = refused
}{
	{"publish:sk_abc123", "sk_abc123"},
	{"#!::r=sk_abc123,m=publish", "sk_abc123"},
	{"#!::m=publish,r=live/sk_abc123", "sk_abc123"},
	{"#!::r=sk_abc123,m=request", ""},
	{"#!::r=sk_abc123", ""},
	{"#!::r", ""},
	{"read:sk_abc123", ""},
	{"sk_abc123", ""},
	{"publish:", ""},
	{"publish:sk/abc", ""},
	{"publish:sk abc", ""},
	{"publish:sk_\x00", ""},
	{"publish:" + string(make([]byte, 200)), ""},
	{"", ""},
}

func TestStreamKey(t *testing.T) {
	for _, c := range streamIDCases {
		got, err := streamKey(c.id)
		if c.key == "" {
			if err == nil {
				t.Errorf("streamKey(%q) = %q, want refused", c.id, got)
			}
			continue
		}
		if err != nil || got != c.key {
			t.Errorf("streamKey(%q) = %q, %v; want %q", c.id, got, err, c.key)
		}
	}
}

// FuzzStreamKey: any stream id either gives a key without separators or control
// characters, or is refused; never a panic.
func FuzzStreamKey(f *testing.F) {
	for _, c := range streamIDCases {
		f.Add(c.id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		key, err := streamKey(id)
		if err != nil {
			return
		}
		if key == "" || len(key) > maxKeyBytes {
			t.Fatalf("streamKey(%q) = %q", id, key)
		}
		for _, c := range []byte(key) {
			if c <= ' ' || c >= 0x7f || c == '/' {
				t.Fatalf("streamKey(%q) = %q holds %q", id, key, c)
			}
		}
	})
}
