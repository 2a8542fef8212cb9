// Command chat measures one chat room with many connections against the real binary, for
// `make bench`: send-to-delivery latency, deliveries per second, server CPU and memory per
// connection.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/livehouse/livehouse/bench/internal/harness"
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

func run() error {
	srv, err := harness.Start(*binary)
	if err != nil {
		return err
	}
	defer srv.Stop()
	session, _, _, err := srv.Channel("chatbench")
	if err != nil {
		return err
	}
	token := func(session string) (string, error) {
		var t struct{ Token string }
		err := srv.PostJSON("/api/chat/token", session, map[string]string{"channel": "chatbench"}, &t)
		return t.Token, err
	}
	wsURL := "ws" + strings.TrimPrefix(srv.Base, "http") + "/api/chat"
	dial := func(i int, tok string) (*websocket.Conn, error) {
		local := &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+i/250), byte(1+i%250))}
		client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: local}).DialContext}}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{tok}, HTTPClient: client})
		return ws, err
	}

	rss0 := srv.RSSKiB()
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
	rssIdle := srv.RSSKiB()

	stok, err := token(session)
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
	cpu0, t0 := srv.CPUSeconds(), time.Now()
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
	used := srv.CPUSeconds() - cpu0
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
