// Package harness runs the livehouse binary for the benchmarks: a fresh data dir, free
// ports, API helpers, and the process's CPU time and memory.
package harness

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/livehouse/livehouse/internal/playback"
)

// Server is a livehouse process on a fresh data dir.
type Server struct {
	Base  string // http://127.0.0.1:port
	RTMP  string // 127.0.0.1:port
	RTMPS string // 127.0.0.1:port (TLS, self-signed)
	SRT   string // 127.0.0.1:port (UDP)
	cmd   *exec.Cmd
	dir   string
}

// Secret is the secret_key of the servers the benchmarks start, so that they can mint the
// playback tokens every HLS request needs.
var Secret = strings.Repeat("be", 32)

var tokens = func() *playback.Signer {
	b, _ := hex.DecodeString(Secret)
	s, err := playback.NewSigner(b, nil)
	if err != nil {
		panic(err)
	}
	return s
}()

// Token mints a viewer's playback token for a channel (a new playback session each call),
// good for an hour: a benchmark outlasts the players' two-minute tokens.
func Token(channelID string) string {
	return tokens.Mint(playback.Claims{ChannelID: channelID, Expires: time.Now().Add(time.Hour)})
}

// ManyAccounts are the settings of a server one benchmark signs up many accounts on, all from
// loopback: the per-address sign-up limit (20 an hour by default) lifted to its maximum. Not
// in Start's defaults: bench/attack measures that limit.
var ManyAccounts = []string{"LIVEHOUSE_AUTH_SIGN_UPS_PER_ADDRESS=1000000"}

// FreeUDPAddr returns a loopback UDP address nobody listens on right now.
func FreeUDPAddr() string {
	c, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer c.Close()
	return c.LocalAddr().String()
}

// FreeAddr returns a loopback address nobody listens on right now.
func FreeAddr() string {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	return ln.Addr().String()
}

// Start runs binary serve and waits for /healthz; env adds KEY=value settings.
func Start(binary string, env ...string) (*Server, error) {
	dir, err := os.MkdirTemp("", "livehouse-bench-")
	if err != nil {
		return nil, err
	}
	s := &Server{Base: "http://" + FreeAddr(), RTMP: FreeAddr(), RTMPS: FreeAddr(), SRT: FreeUDPAddr(), dir: dir}
	s.cmd = exec.Command(binary, "serve")
	s.cmd.Env = append(os.Environ(), "LIVEHOUSE_SECRET_KEY="+Secret, "LIVEHOUSE_DATA_DIR="+dir, "LIVEHOUSE_HTTP_ADDR="+strings.TrimPrefix(s.Base, "http://"),
		"LIVEHOUSE_RTMP_ADDR="+s.RTMP, "LIVEHOUSE_PUBLIC_URL="+s.Base, "LIVEHOUSE_AUTO_VERIFY=true", "LIVEHOUSE_WEBRTC_ADDR=127.0.0.1:0",
		"LIVEHOUSE_RTMPS_ADDR="+s.RTMPS, "LIVEHOUSE_SRT_ADDR="+s.SRT)
	// The load comes from loopback, thousands of connections from one address: lift the
	// connection caps (a caller's env, appended after, may set them again; a benchmark that
	// signs many accounts up passes ManyAccounts).
	s.cmd.Env = append(s.cmd.Env, "LIVEHOUSE_MAX_CONNECTIONS=0", "LIVEHOUSE_MAX_CONNECTIONS_PER_ADDRESS=0",
		"LIVEHOUSE_RTMP_MAX_CONNECTIONS=0", "LIVEHOUSE_RTMP_MAX_CONNECTIONS_PER_ADDRESS=0",
		"LIVEHOUSE_SRT_MAX_CONNECTIONS=0", "LIVEHOUSE_SRT_MAX_CONNECTIONS_PER_ADDRESS=0")
	if os.Getenv("LIVEHOUSE_LOG_LEVEL") == "" { // quiet unless the caller asks for more
		s.cmd.Env = append(s.cmd.Env, "LIVEHOUSE_LOG_LEVEL=error")
	}
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	for range 200 {
		if res, err := http.Get(s.Base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return s, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	return nil, errors.New("server did not become healthy")
}

// Stop interrupts the server, waits for it (killing it if it has not stopped within 30 s)
// and removes its data.
func (s *Server) Stop() {
	s.cmd.Process.Signal(os.Interrupt)
	kill := time.AfterFunc(30*time.Second, func() { s.cmd.Process.Kill() })
	s.cmd.Wait()
	kill.Stop()
	os.RemoveAll(s.dir)
}

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// CPUSeconds is the process's user+system CPU time so far, from /proc.
func (s *Server) CPUSeconds() float64 {
	user, sys := s.CPUSplit()
	return user + sys
}

// CPUSplit is the server's CPU time so far in user space and in the kernel (its system
// calls: sockets, files, fsync), in seconds.
func (s *Server) CPUSplit() (user, sys float64) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return utime / 100, stime / 100 // clock ticks; USER_HZ is 100 on Linux
}

// RSSKiB is the process's resident memory.
func (s *Server) RSSKiB() float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "VmRSS:") {
			kb, _ := strconv.ParseFloat(strings.Fields(sc.Text())[1], 64)
			return kb
		}
	}
	return 0
}

// PostJSON posts body to path (with a Bearer token if given) and decodes the answer into out.
func (s *Server) PostJSON(path, token string, body, out any) error {
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", s.Base+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("%s: %d %s", path, res.StatusCode, b)
	}
	if out != nil {
		return json.NewDecoder(res.Body).Decode(out)
	}
	return nil
}

// Channel signs up a streamer and returns its session token, stream key and channel id.
func (s *Server) Channel(name string) (session, key, id string, err error) {
	if err := s.PostJSON("/api/auth/register", "", map[string]string{"username": name, "email": name + "@bench.example", "password": benchPassword}, nil); err != nil {
		return "", "", "", err
	}
	return s.login(name)
}

const benchPassword = "Bench-passw0rd"

// Login signs in a user Channel made (on any node of its cluster) and returns a session token.
func (s *Server) Login(name string) (session string, err error) {
	session, _, _, err = s.login(name)
	return session, err
}

func (s *Server) login(name string) (session, key, id string, err error) {
	var login struct {
		Token string
		User  struct {
			Channel struct{ StreamKey, ID string }
		}
	}
	if err := s.PostJSON("/api/auth/login", "", map[string]string{"username": name, "password": benchPassword}, &login); err != nil {
		return "", "", "", err
	}
	return login.Token, login.User.Channel.StreamKey, login.User.Channel.ID, nil
}

// SessionEvents lists the names of the events of the streamer's newest session.
func (s *Server) SessionEvents(token string) ([]string, error) {
	get := func(path string, out any) error {
		req, _ := http.NewRequest(http.MethodGet, s.Base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		return json.NewDecoder(res.Body).Decode(out)
	}
	var list struct{ Sessions []struct{ ID string } }
	if err := get("/api/me/sessions", &list); err != nil || len(list.Sessions) == 0 {
		return nil, err
	}
	var session struct{ Events []struct{ Name string } }
	if err := get("/api/me/sessions/"+list.Sessions[0].ID, &session); err != nil {
		return nil, err
	}
	var names []string
	for _, e := range session.Events {
		names = append(names, e.Name)
	}
	return names, nil
}
