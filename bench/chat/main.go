// Command chat measures one chat room with many connections against the real binary, for
// `make bench`: send-to-delivery latency, deliveries per second, server CPU and memory per
// connection.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

var (
	binary   = flag.String("bin", "bin/livehouse", "livehouse binary")
	conns    = flag.Int("conns", 10_000, "connections in the room")
	rate     = flag.Int("rate", 10, "messages per second")
	duration = flag.Duration("duration", 30*time.Second, "how long messages are sent")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func freeAddr() string {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	return ln.Addr().String()
}

func proc(pid int, field string) float64 {
	raw, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, field+":") {
			v, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return v
		}
	}
	return 0
}

func cpu(pid int) float64 {
	raw, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100
}

func postJSON(url, token string, body, out any) error {
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(raw))
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
		return fmt.Errorf("%s: %d", url, res.StatusCode)
	}
	if out != nil {
		return json.NewDecoder(res.Body).Decode(out)
	}
	return nil
}

func run() error {
	dir, _ := os.MkdirTemp("", "livehouse-chatbench-")
	defer os.RemoveAll(dir)
	httpAddr := freeAddr()
	base := "http://" + httpAddr
	cmd := exec.Command(*binary, "serve")
	cmd.Env = append(os.Environ(), "LIVEHOUSE_DATA_DIR="+dir, "LIVEHOUSE_HTTP_ADDR="+httpAddr, "LIVEHOUSE_RTMP_ADDR="+freeAddr(),
		"LIVEHOUSE_AUTO_VERIFY=true", "LIVEHOUSE_LOG_LEVEL=error")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	for i := 0; ; i++ {
		if res, err := http.Get(base + "/healthz"); err == nil && res.StatusCode == 200 {
			res.Body.Close()
			break
		}
		if i > 200 {
			return errors.New("server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := postJSON(base+"/api/auth/register", "", map[string]string{"username": "chatbench", "email": "c@bench.example", "password": "Bench-passw0rd"}, nil); err != nil {
		return err
	}
	var login struct{ Token string }
	if err := postJSON(base+"/api/auth/login", "", map[string]string{"username": "chatbench", "password": "Bench-passw0rd"}, &login); err != nil {
		return err
	}
	token := func(session string) (string, error) {
		var t struct{ Token string }
		err := postJSON(base+"/api/chat/token", session, map[string]string{"channel": "chatbench"}, &t)
		return t.Token, err
	}
	wsURL := "ws://" + httpAddr + "/api/chat"
	dial := func(i int, tok string) (*websocket.Conn, error) {
		local := &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+i/250), byte(1+i%250))}
		client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: local}).DialContext}}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{tok}, HTTPClient: client})
		return ws, err
	}

	rss0 := proc(cmd.Process.Pid, "VmRSS")
	var mu sync.Mutex
	var lat []float64
	var delivered atomic.Int64
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	for i := range *conns {
		tok, err := token("")
		if err != nil {
			return err
		}
		ws, err := dial(i, tok)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		ws.SetReadLimit(1 << 20)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer ws.CloseNow()
			for {
				_, data, err := ws.Read(ctx)
				if err != nil {
					return
				}
				var f struct{ Type, Content string }
				if json.Unmarshal(data, &f) != nil || f.Type != "MESSAGE" {
					continue
				}
				sent, err := strconv.ParseInt(f.Content, 10, 64)
				if err != nil {
					continue
				}
				delivered.Add(1)
				d := float64(time.Now().UnixNano()-sent) / 1e6
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(2 * time.Second) // let the idle connections settle before reading memory
	rssIdle := proc(cmd.Process.Pid, "VmRSS")

	stok, err := token(login.Token)
	if err != nil {
		return err
	}
	sender, err := dial(*conns, stok)
	if err != nil {
		return err
	}
	go func() {
		for {
			if _, _, err := sender.Read(ctx); err != nil {
				return
			}
		}
	}()
	cpu0, t0 := cpu(cmd.Process.Pid), time.Now()
	tick := time.NewTicker(time.Second / time.Duration(*rate))
	for time.Since(t0) < *duration {
		<-tick.C
		msg, _ := json.Marshal(map[string]string{"Action": "SEND_MESSAGE", "Content": strconv.FormatInt(time.Now().UnixNano(), 10)})
		if err := sender.Write(ctx, websocket.MessageText, msg); err != nil {
			return err
		}
	}
	time.Sleep(2 * time.Second) // the last messages in flight
	elapsed := time.Since(t0)
	used := cpu(cmd.Process.Pid) - cpu0
	stop()
	wg.Wait()

	mu.Lock()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(p*float64(len(lat)-1))]
	}
	want := int64(*conns) * int64(*rate) * int64(duration.Seconds())
	fmt.Printf("chat: one room, %d connections (spread over 127.0.x.y), %d messages/s for %v: %d of about %d deliveries (%.0f/s), send-to-delivery p50 %.1f ms, p99 %.1f ms, server CPU %.0f%% of one core (%.0f deliveries per CPU-second), RSS %.1f KiB per idle connection\n",
		*conns, *rate, *duration, delivered.Load(), want, float64(delivered.Load())/elapsed.Seconds(), pct(0.5), pct(0.99),
		100*used/elapsed.Seconds(), float64(delivered.Load())/used, (rssIdle-rss0)/float64(*conns))
	mu.Unlock()
	return nil
}
