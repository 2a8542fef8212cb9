// Package imageproxy fetches pictures from other sites (a streamer's product images) so the web
// app shows them from its own origin: the page's Content-Security-Policy can stay
// `img-src 'self'`, viewers' addresses are not handed to third parties, and what reaches a
// browser is a picture we decoded and encoded afresh, never the bytes another site sent.
//
// The fetch is the dangerous part (server-side request forgery): only http and https, only to
// public addresses — the check runs on the address actually dialled, after DNS and after every
// redirect, so a name that resolves to 127.0.0.1 or a redirect to the metadata service is
// refused — with a size cap, a deadline, a bound on concurrent fetches and a bounded cache.
package imageproxy

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/livehouse/livehouse/internal/images"
)

// Errors a fetch ends with; Fetch wraps them with the detail.
var (
	ErrBadURL      = errors.New("not an absolute http or https URL")
	ErrNotAllowed  = errors.New("the address is not a public one")
	ErrTooLarge    = errors.New("the image is too large")
	ErrNotImage    = errors.New("not a JPEG, PNG or WebP image")
	ErrUnavailable = errors.New("the image could not be fetched")
	ErrBusy        = errors.New("too many image fetches at once")
)

// Config bounds the proxy. Zero fields take the defaults.
type Config struct {
	MaxBytes    int64         // the largest body read from the other site (default 4 MiB)
	CacheBytes  int           // the cache's size, re-encoded images (default 32 MiB)
	CacheTTL    time.Duration // how long a fetched image is kept (default 1 h)
	Timeout     time.Duration // the whole fetch, redirects included (default 5 s)
	Concurrency int           // fetches under way at once (default 8)
	MaxEdge     int           // images are scaled down to fit MaxEdge×MaxEdge (default 800)
	// AllowAddr decides which dialled addresses are allowed; nil allows public ones only.
	// Tests pass one that allows loopback.
	AllowAddr func(netip.Addr) bool
	Now       func() time.Time
}

// Proxy fetches and caches images.
type Proxy struct {
	cfg    Config
	client *http.Client
	slots  chan struct{}

	mu    sync.Mutex
	cache map[string]*list.Element
	order *list.List // most recently used first
	size  int
	// inflight collapses concurrent requests for one URL into one fetch.
	inflight map[string]*call
}

type call struct {
	done chan struct{}
	res  *images.Result
	err  error
}

type entry struct {
	url     string
	res     *images.Result
	expires time.Time
}

// New returns a proxy.
func New(cfg Config) *Proxy {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 4 << 20
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = 32 << 20
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = time.Hour
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.MaxEdge <= 0 {
		cfg.MaxEdge = 800
	}
	if cfg.AllowAddr == nil {
		cfg.AllowAddr = Public
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	allow := cfg.AllowAddr
	dialer := &net.Dialer{
		Timeout: cfg.Timeout,
		// Control sees the address about to be connected to, after DNS: the one place the
		// check cannot be raced by a name that resolves differently the second time.
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !allow(ap.Addr().Unmap()) {
				return fmt.Errorf("%w: %s", ErrNotAllowed, address)
			}
			return nil
		},
	}
	transport := &http.Transport{
		Proxy:                 nil, // never through an environment proxy, which would dial for us unchecked
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConns:          16,
		IdleConnTimeout:       30 * time.Second,
	}
	client := &http.Client{
		Transport: transport,
		Timeout:   cfg.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return ErrBadURL
			}
			return nil
		},
	}
	return &Proxy{
		cfg: cfg, client: client, slots: make(chan struct{}, cfg.Concurrency),
		cache: map[string]*list.Element{}, order: list.New(), inflight: map[string]*call{},
	}
}

// Public reports whether an address is on the public internet: not loopback, private (RFC
// 1918, unique local), link-local (cloud metadata services live there), CGNAT, multicast,
// unspecified or reserved.
func Public(a netip.Addr) bool {
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range reserved {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64 can reach IPv4 private space
	netip.MustParsePrefix("2001:db8::/32"),
}

// check parses rawURL and refuses what may never be fetched, before any network use.
func (p *Proxy) check(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || len(rawURL) > 2048 {
		return nil, ErrBadURL
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil && !p.cfg.AllowAddr(a.Unmap()) {
		return nil, fmt.Errorf("%w: %s", ErrNotAllowed, host)
	}
	if h := strings.ToLower(host); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return nil, fmt.Errorf("%w: %s", ErrNotAllowed, host)
	}
	return u, nil
}

// Fetch returns the image at rawURL, re-encoded, from the cache when it is there.
func (p *Proxy) Fetch(ctx context.Context, rawURL string) (*images.Result, error) {
	if _, err := p.check(rawURL); err != nil {
		return nil, err
	}
	key := rawURL
	p.mu.Lock()
	if el, ok := p.cache[key]; ok {
		e := el.Value.(*entry)
		if p.cfg.Now().Before(e.expires) {
			p.order.MoveToFront(el)
			p.mu.Unlock()
			return e.res, nil
		}
		p.removeLocked(el)
	}
	if c, ok := p.inflight[key]; ok {
		p.mu.Unlock()
		select {
		case <-c.done:
			return c.res, c.err
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		}
	}
	c := &call{done: make(chan struct{})}
	p.inflight[key] = c
	p.mu.Unlock()

	c.res, c.err = p.fetch(ctx, rawURL)
	p.mu.Lock()
	delete(p.inflight, key)
	if c.err == nil {
		p.addLocked(key, c.res)
	}
	p.mu.Unlock()
	close(c.done)
	return c.res, c.err
}

func (p *Proxy) fetch(ctx context.Context, rawURL string) (*images.Result, error) {
	select {
	case p.slots <- struct{}{}:
		defer func() { <-p.slots }()
	default:
		return nil, ErrBusy
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, ErrBadURL
	}
	req.Header.Set("Accept", "image/webp,image/png,image/jpeg")
	req.Header.Set("User-Agent", "Livehouse-image-proxy")
	res, err := p.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrNotAllowed) {
			return nil, fmt.Errorf("fetching image: %w", ErrNotAllowed)
		}
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: status %d", ErrUnavailable, res.StatusCode)
	}
	if ct := strings.ToLower(res.Header.Get("Content-Type")); ct != "" && !strings.HasPrefix(ct, "image/") && !strings.HasPrefix(ct, "application/octet-stream") {
		return nil, fmt.Errorf("%w: content type %q", ErrNotImage, ct)
	}
	if res.ContentLength > p.cfg.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, res.ContentLength)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, p.cfg.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if int64(len(body)) > p.cfg.MaxBytes {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, p.cfg.MaxBytes)
	}
	img, err := images.Process(ctx, body, images.Spec{MaxWidth: p.cfg.MaxEdge, MaxHeight: p.cfg.MaxEdge})
	if errors.Is(err, images.ErrTooLarge) || errors.Is(err, images.ErrTooComplex) {
		return nil, fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	if errors.Is(err, images.ErrBusy) || ctx.Err() != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotImage, err)
	}
	return img, nil
}

func (p *Proxy) addLocked(key string, res *images.Result) {
	if len(res.Data) > p.cfg.CacheBytes {
		return
	}
	if el, ok := p.cache[key]; ok {
		p.removeLocked(el)
	}
	p.cache[key] = p.order.PushFront(&entry{url: key, res: res, expires: p.cfg.Now().Add(p.cfg.CacheTTL)})
	p.size += len(res.Data)
	for p.size > p.cfg.CacheBytes {
		p.removeLocked(p.order.Back())
	}
}

func (p *Proxy) removeLocked(el *list.Element) {
	e := el.Value.(*entry)
	p.order.Remove(el)
	delete(p.cache, e.url)
	p.size -= len(e.res.Data)
}

// Cached reports how many images the cache holds and their total size.
func (p *Proxy) Cached() (count, bytes int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.cache), p.size
}
