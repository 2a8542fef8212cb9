package products

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// AWS Signature Version 4, as much of it as a JSON POST to one API needs: no presigning, no
// chunked payloads, no session tokens. It is a few dozen lines, so it is written here rather
// than pulled in with an SDK; sigv4_test.go holds it to AWS's published test vectors.

const (
	sigAlgorithm  = "AWS4-HMAC-SHA256"
	amzDateLayout = "20060102T150405Z"
)

// signer signs requests for one service in one region with one key pair.
type signer struct {
	accessKey, secretKey string
	region, service      string
}

// sign sets X-Amz-Date and Authorization on req. Every header already on req is signed, and
// Host; body must be exactly the bytes that will be sent.
func (s signer) sign(req *http.Request, body []byte, now time.Time) {
	amzDate := now.UTC().Format(amzDateLayout)
	day := amzDate[:8]
	req.Header.Set("X-Amz-Date", amzDate)
	canonical, signed := canonicalRequest(req, body)
	scope := day + "/" + s.region + "/" + s.service + "/aws4_request"
	toSign := sigAlgorithm + "\n" + amzDate + "\n" + scope + "\n" + hexSHA256([]byte(canonical))
	sig := hex.EncodeToString(hmacSHA256(signingKey(s.secretKey, day, s.region, s.service), []byte(toSign)))
	req.Header.Set("Authorization", sigAlgorithm+" Credential="+s.accessKey+"/"+scope+", SignedHeaders="+signed+", Signature="+sig)
}

// canonicalRequest is the request in SigV4's canonical form, and the list of signed headers.
func canonicalRequest(req *http.Request, body []byte) (canonical, signedHeaders string) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	values := map[string][]string{"host": {host}}
	for name, vs := range req.Header {
		name = strings.ToLower(name)
		if name == "authorization" {
			continue
		}
		values[name] = append(values[name], vs...)
	}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)
	var headers strings.Builder
	for _, name := range names {
		trimmed := make([]string, len(values[name]))
		for i, v := range values[name] {
			trimmed[i] = strings.Join(strings.Fields(v), " ")
		}
		headers.WriteString(name + ":" + strings.Join(trimmed, ",") + "\n")
	}
	signedHeaders = strings.Join(names, ";")
	path := req.URL.Path
	if path == "" {
		path = "/"
	}
	canonical = strings.Join([]string{
		req.Method,
		uriEncode(path, false),
		canonicalQuery(req.URL.Query()),
		headers.String(),
		signedHeaders,
		hexSHA256(body),
	}, "\n")
	return canonical, signedHeaders
}

// canonicalQuery sorts the parameters by name, then value, each encoded.
func canonicalQuery(q url.Values) string {
	var pairs []string
	for name, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, uriEncode(name, true)+"="+uriEncode(v, true))
		}
	}
	slices.Sort(pairs)
	return strings.Join(pairs, "&")
}

// uriEncode percent-encodes everything but RFC 3986's unreserved characters, and slashes
// unless encodeSlash.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// signingKey derives the day's key for the scope from the secret key.
func signingKey(secret, day, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), []byte(day))
	k = hmacSHA256(k, []byte(region))
	k = hmacSHA256(k, []byte(service))
	return hmacSHA256(k, []byte("aws4_request"))
}

func hmacSHA256(key, data []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(data)
	return h.Sum(nil)
}

func hexSHA256(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
