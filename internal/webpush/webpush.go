// Package webpush sends Web Push messages: the payload encrypted for the browser as RFC 8291
// says (aes128gcm, RFC 8188), the request signed for the push service with a VAPID JWT
// (RFC 8292), POSTed to the subscription's endpoint (RFC 8030). Written on crypto/ecdh,
// crypto/ecdsa and crypto/hkdf.
package webpush

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Subscription is a browser's push subscription: the endpoint and its keys, base64url.
type Subscription struct {
	Endpoint string
	P256DH   string // the browser's P-256 public key, uncompressed (65 bytes)
	Auth     string // the 16-byte authentication secret
}

// ErrGone is returned for a subscription the push service no longer has (404 or 410): the
// caller deletes it.
var ErrGone = errors.New("push subscription expired or unsubscribed")

// MaxPayload is the largest plaintext sent: one record of 4096 bytes, the size every push
// service must accept (RFC 8291 §4), less the header, the padding delimiter and the tag.
const MaxPayload = 4096 - 86 - 1 - 16

// recordSize is the aes128gcm record size put in the header.
const recordSize = 4096

// Config configures a client.
type Config struct {
	Key     *ecdsa.PrivateKey // the VAPID key (P-256)
	Subject string            // mailto: or https: contact for the push service (RFC 8292 §2.1)
	TTL     time.Duration     // how long the push service keeps an undelivered message
	// AllowPrivate lets requests go to loopback and private addresses, and over http: for a
	// push service under test. Off, an endpoint a user registered cannot make the server
	// reach into its own network.
	AllowPrivate bool
	Now          func() time.Time // nil: time.Now
}

// Client sends Web Push messages.
type Client struct {
	cfg  Config
	pub  string // the VAPID public key, base64url
	http *http.Client
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Key == nil || cfg.Key.Curve != elliptic.P256() {
		return nil, errors.New("webpush: the VAPID key must be a P-256 key")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TTL <= 0 {
		cfg.TTL = time.Hour
	}
	pub, err := PublicKey(cfg.Key)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if !cfg.AllowPrivate {
		dialer.Control = refusePrivate
	}
	transport := &http.Transport{
		DialContext: dialer.DialContext, TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: 20 * time.Second,
		MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second, ForceAttemptHTTP2: true,
	}
	return &Client{cfg: cfg, pub: pub, http: &http.Client{Transport: transport, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// PublicKeyString is the VAPID public key browsers subscribe with (applicationServerKey).
func (c *Client) PublicKeyString() string { return c.pub }

// refusePrivate refuses connections to addresses a push service never has: loopback,
// private, link-local, unspecified and multicast. It runs after name resolution, on the
// address actually dialled.
func refusePrivate(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return fmt.Errorf("webpush: refusing to connect to %s, not a public address", host)
	}
	return nil
}

// Push encrypts payload for the subscription and POSTs it to the push service.
func (c *Client) Push(ctx context.Context, sub Subscription, payload []byte) error {
	u, err := url.Parse(sub.Endpoint)
	if err != nil || u.Host == "" || !(u.Scheme == "https" || (u.Scheme == "http" && c.cfg.AllowPrivate)) {
		return fmt.Errorf("webpush: endpoint is not an https URL")
	}
	body, err := Encrypt(sub, payload)
	if err != nil {
		return err
	}
	jwt, err := c.vapidJWT(u.Scheme + "://" + u.Host)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webpush: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Encoding", "aes128gcm")
	req.Header.Set("TTL", strconv.Itoa(int(c.cfg.TTL.Seconds())))
	req.Header.Set("Urgency", "high")
	req.Header.Set("Authorization", "vapid t="+jwt+", k="+c.pub)
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("webpush: sending to the push service: %w", err)
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	switch {
	case res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusGone:
		return ErrGone
	case res.StatusCode < 200 || res.StatusCode > 299:
		return fmt.Errorf("webpush: the push service answered %d: %s", res.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil
}

// vapidJWT signs the RFC 8292 token for the push service at aud (its origin), valid 12 h.
func (c *Client) vapidJWT(aud string) (string, error) {
	header := b64(mustJSON(map[string]string{"typ": "JWT", "alg": "ES256"}))
	claims := b64(mustJSON(map[string]any{"aud": aud, "exp": c.cfg.Now().Add(12 * time.Hour).Unix(), "sub": c.cfg.Subject}))
	signing := header + "." + claims
	sum := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, c.cfg.Key, sum[:])
	if err != nil {
		return "", fmt.Errorf("webpush: signing the VAPID token: %w", err)
	}
	sig := make([]byte, 64) // JWS ES256: r and s, 32 bytes each, big-endian
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signing + "." + b64(sig), nil
}

// Encrypt is RFC 8291's message encryption: a fresh ECDH key pair and salt per message,
// one aes128gcm record. The body it returns starts with the RFC 8188 header (salt, record
// size, the server's public key as key id).
func Encrypt(sub Subscription, payload []byte) ([]byte, error) {
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("webpush: payload of %d bytes is over %d", len(payload), MaxPayload)
	}
	uaRaw, err := decode(sub.P256DH)
	if err != nil {
		return nil, fmt.Errorf("webpush: p256dh: %w", err)
	}
	uaPublic, err := ecdh.P256().NewPublicKey(uaRaw)
	if err != nil {
		return nil, fmt.Errorf("webpush: p256dh: %w", err)
	}
	authSecret, err := decode(sub.Auth)
	if err != nil || len(authSecret) != 16 {
		return nil, errors.New("webpush: auth must be 16 bytes")
	}
	asPrivate, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	cek, nonce, err := keys(asPrivate, uaPublic, asPrivate.PublicKey().Bytes(), uaRaw, authSecret, salt)
	if err != nil {
		return nil, err
	}
	gcm, err := newGCM(cek)
	if err != nil {
		return nil, err
	}
	plain := append(append([]byte{}, payload...), 0x02) // the last record's delimiter, no padding
	asPub := asPrivate.PublicKey().Bytes()
	header := make([]byte, 0, 21+len(asPub))
	header = append(header, salt...)
	header = binary.BigEndian.AppendUint32(header, recordSize)
	header = append(header, byte(len(asPub)))
	header = append(header, asPub...)
	return gcm.Seal(header, nonce, plain, nil), nil
}

// keys derives the content-encryption key and nonce (RFC 8291 §3.4, RFC 8188 §2.2). priv is
// this side's key, peer the other's; asPub and uaPub are the server's and the browser's public
// keys, which go into the key info in that order whichever side computes it.
func keys(priv *ecdh.PrivateKey, peer *ecdh.PublicKey, asPub, uaPub, authSecret, salt []byte) (cek, nonce []byte, err error) {
	shared, err := priv.ECDH(peer)
	if err != nil {
		return nil, nil, fmt.Errorf("webpush: ecdh: %w", err)
	}
	info := "WebPush: info\x00" + string(uaPub) + string(asPub)
	ikm, err := hkdf.Key(sha256.New, shared, authSecret, info, 32)
	if err != nil {
		return nil, nil, err
	}
	if cek, err = hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16); err != nil {
		return nil, nil, err
	}
	if nonce, err = hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12); err != nil {
		return nil, nil, err
	}
	return cek, nonce, nil
}

// Decrypt is the browser's side of Encrypt, with the browser's private key and auth secret:
// it reads one aes128gcm record and returns the payload. Tests use it as a push service's
// browser would.
func Decrypt(uaPrivate *ecdh.PrivateKey, authSecret, body []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("webpush: body shorter than its header")
	}
	salt, idLen := body[:16], int(body[20])
	if len(body) < 21+idLen {
		return nil, errors.New("webpush: body shorter than its key id")
	}
	asPub := body[21 : 21+idLen]
	peer, err := ecdh.P256().NewPublicKey(asPub)
	if err != nil {
		return nil, fmt.Errorf("webpush: key id: %w", err)
	}
	cek, nonce, err := keys(uaPrivate, peer, asPub, uaPrivate.PublicKey().Bytes(), authSecret, salt)
	if err != nil {
		return nil, err
	}
	gcm, err := newGCM(cek)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, body[21+idLen:], nil)
	if err != nil {
		return nil, fmt.Errorf("webpush: decrypting: %w", err)
	}
	end := bytes.LastIndexByte(plain, 0x02) // strip the padding (zeros) and the delimiter
	if end < 0 || len(bytes.Trim(plain[end+1:], "\x00")) != 0 {
		return nil, errors.New("webpush: no last-record delimiter")
	}
	return plain[:end], nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// PublicKey is key's public half as browsers take it: the uncompressed point, base64url.
func PublicKey(key *ecdsa.PrivateKey) (string, error) {
	raw, err := key.PublicKey.Bytes()
	if err != nil {
		return "", fmt.Errorf("webpush: %w", err)
	}
	return b64(raw), nil
}

// ParseKey reads a VAPID private key given as its 32-byte scalar, base64url (what web-push
// tools print as the private key).
func ParseKey(s string) (*ecdsa.PrivateKey, error) {
	raw, err := decode(s)
	if err != nil {
		return nil, fmt.Errorf("webpush: the VAPID private key is not base64url: %w", err)
	}
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
	if err != nil {
		return nil, fmt.Errorf("webpush: the VAPID private key: %w", err)
	}
	return key, nil
}

// LoadOrCreateKey reads the VAPID key from a PEM file (PKCS #8), creating the file with a new
// key on first use.
func LoadOrCreateKey(path string) (*ecdsa.PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) { // another process made it meanwhile
			return LoadOrCreateKey(path)
		}
		if err != nil {
			return nil, fmt.Errorf("creating %s: %w", path, err)
		}
		err = pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("writing %s: %w", path, err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM key", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%s is not a P-256 key", path)
	}
	return key, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func decode(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // maps of strings and numbers always marshal
	}
	return b
}
