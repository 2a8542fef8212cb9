package httpapi_test

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/accounts"
	"github.com/livehouse/livehouse/internal/httpapi"
)

func bodyTimeout(d time.Duration) envOption {
	return func(_ *accounts.Config, h *httpapi.Config) { h.BodyTimeout = d }
}

// TestSlowBodyIsCutOff: a client that sends a request body one byte now and then (slowloris)
// is closed by the server, for any route, instead of holding its connection forever.
func TestSlowBodyIsCutOff(t *testing.T) {
	e := newEnv(t, bodyTimeout(200*time.Millisecond))
	for _, path := range []string{"/api/auth/login", "/api/no-such-route"} {
		t.Run(path, func(t *testing.T) {
			c, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			head := "POST " + path + " HTTP/1.1\r\nHost: livehouse.test\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
			if _, err := io.WriteString(c, head); err != nil {
				t.Fatal(err)
			}
			// Send nothing more: the server must close the connection. The deadline here is
			// only a safety net, far beyond the body timeout.
			c.SetReadDeadline(time.Now().Add(time.Minute))
			_, err = io.ReadAll(c)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the server kept a stalled request body open")
			}
		})
	}
}

// TestBodyTimeoutSparesCompleteBodies: requests whose bodies arrive whole are served as usual.
func TestBodyTimeoutSparesCompleteBodies(t *testing.T) {
	e := newEnv(t, bodyTimeout(200*time.Millisecond))
	u := e.signUp("steady") // sign-up and login send bodies
	e.want(e.call("PUT", "/api/me/assets/avatar", u.token, imageBody(pngBytes(t, 64, 64))), 200)
}

// deepPNGHeader is the start of a 16-bit RGBA PNG declaring w×h (8 bytes a pixel): all the
// server reads before refusing it.
func deepPNGHeader(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32([]byte("IHDR"), w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 16, 6, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ihdr)-4))
	b = append(b, ihdr...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(ihdr))
}

// TestDecompressionBombRefused: a picture under the pixel limit whose decoding would take
// hundreds of megabytes (16-bit 6000×6000) is refused with 413 before it is decoded.
func TestDecompressionBombRefused(t *testing.T) {
	e := newEnv(t)
	u := e.signUp("bomber")
	res := e.want(e.call("PUT", "/api/me/assets/banner", u.token, imageBody(deepPNGHeader(6000, 6000))), 413)
	if code := res.errorCode(t); code != "ImageTooComplex" {
		t.Errorf("code %q, want ImageTooComplex", code)
	}
}
