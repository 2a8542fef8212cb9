// Package clientaddr says what a per-address limit counts a client by: the one place of the
// rule, for the per-address caps of connections (HTTP, RTMP, SRT), viewers, WHEP, stages and
// chat and for the accounts' throttles. A domain package (accounts) imports no net/http, so
// this one imports only net/netip.
package clientaddr

import "net/netip"

// Key is what a per-address limit counts a client by: its IPv4 address (an IPv4-mapped IPv6
// address is the IPv4 one it maps, so that a client counts once over either socket family),
// or the /64 of an IPv6 address, the block one subscriber or host commonly holds whole, so
// that walking the addresses of one's own /64 gets no one a fresh count. Text that is no
// address (a Unix socket's, say) stays as it is.
func Key(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64) // cannot fail: 64 bits fit an IPv6 address
		return p.String()
	}
	return ip.String()
}

// Block is Key's rule for an address already parsed (a listener's connection caps count by
// it): the IPv4 address, an IPv4-mapped one unmapped, or an IPv6 address's /64 as the
// first address of that block, its zone dropped. An invalid address stays invalid.
func Block(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64) // cannot fail: 64 bits fit an IPv6 address
		return p.Addr()
	}
	return ip
}
