package clientaddr

import (
	"net/netip"
	"testing"
)

func TestKey(t *testing.T) {
	for _, tt := range []struct{ name, addr, want string }{
		{"IPv4 alone", "192.0.2.7", "192.0.2.7"},
		{"another IPv4", "192.0.2.8", "192.0.2.8"},
		{"IPv6 by its /64", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"IPv6 in the same /64", "2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"IPv6 in the next /64", "2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"IPv6 with a zone", "fe80::1:2%eth0", "fe80::/64"},
		{"IPv4-mapped IPv6 is the IPv4", "::ffff:192.0.2.7", "192.0.2.7"},
		{"IPv6 loopback", "::1", "::/64"},
		{"garbage", "not an address", "not an address"},
		{"an address with a port", "192.0.2.7:443", "192.0.2.7:443"},
		{"empty", "", ""},
	} {
		if got := Key(tt.addr); got != tt.want {
			t.Errorf("%s: Key(%q) = %q, want %q", tt.name, tt.addr, got, tt.want)
		}
	}
}

func FuzzKey(f *testing.F) {
	for _, s := range []string{"192.0.2.7", "2001:db8:1:2:3:4:5:6", "::ffff:192.0.2.7", "fe80::1%eth0", "not an address", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		// A key is an IPv4 address or a /64 prefix (no address), or the text given: a
		// second pass leaves it as it is.
		if k := Key(addr); Key(k) != k {
			t.Errorf("Key(Key(%q)) = %q, want %q", addr, Key(k), k)
		}
	})
}

// TestBlockIsKeysRule: Block counts every address as Key does.
func TestBlockIsKeysRule(t *testing.T) {
	addrs := []string{"192.0.2.7", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2:ffff::1", "2001:db8:1:3::1", "fe80::1:2%eth0", "::ffff:192.0.2.7", "::1"}
	for _, a := range addrs {
		for _, b := range addrs {
			sameKey := Key(a) == Key(b)
			sameBlock := Block(netip.MustParseAddr(a)) == Block(netip.MustParseAddr(b))
			if sameKey != sameBlock {
				t.Errorf("%s and %s: the same key %v, the same block %v", a, b, sameKey, sameBlock)
			}
		}
	}
	if Block(netip.Addr{}).IsValid() {
		t.Error("Block of an invalid address is valid")
	}
}
