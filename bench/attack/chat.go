package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livehouse/livehouse/bench/internal/harness"
)

// bigMessage sends n messages of 500 three-byte code points with 8 attributes of 1,800 bytes
// (14 KB, under the 16 KB frame cap) at 8 a second, and counts those the room took.
func bigMessages(ctx context.Context, e *env, n int, prefix string) (accepted int, refusals *statuses, err error) {
	refusals = &statuses{}
	tok, err := chatToken(http.DefaultClient, e, e.session)
	if err != nil {
		return 0, refusals, err
	}
	c, err := dialChat(ctx, e, tok, nil, 0)
	if err != nil {
		return 0, refusals, err
	}
	defer c.Close()
	attrs := map[string]string{}
	for k := range 8 {
		attrs[fmt.Sprintf("a%d", k)] = strings.Repeat(strconv.Itoa(k), 1800)
	}
	content := strings.Repeat("€", 500)
	var ok atomic.Int64
	answered := make(chan struct{}, n)
	go func() {
		for {
			f, _, err := c.read()
			if err != nil {
				return
			}
			if !strings.HasPrefix(f.RequestID, prefix) {
				continue
			}
			if f.Type == "MESSAGE" {
				ok.Add(1)
			} else {
				refusals.add(f.ErrorCode, nil)
			}
			answered <- struct{}{}
		}
	}()
	t := time.NewTicker(time.Second / 8)
	defer t.Stop()
	for i := range n {
		<-t.C
		if err := c.send(fmt.Sprintf("%s%d", prefix, i), content, attrs); err != nil {
			return int(ok.Load()), refusals, fmt.Errorf("sending: %w", err)
		}
	}
	wait := time.After(5 * time.Second)
	for range n {
		select {
		case <-answered:
			continue
		case <-wait:
		}
		break
	}
	return int(ok.Load()), refusals, nil
}

// chatNoRead (4): the room's history filled with max-size messages, then 4,000 anonymous
// sockets (10 per source address, 4 KiB receive buffers) that never read, while more such
// messages go out.
func chatNoRead(ctx context.Context, e *env, r *result) error {
	accepted, refused, err := bigMessages(ctx, e, 50, "hist-")
	if err != nil {
		return err
	}
	// What a joiner is sent: the history, read for 2 s.
	histBytes := 0
	if tok, err := chatToken(http.DefaultClient, e, ""); err == nil {
		if c, err := dialChat(ctx, e, tok, nil, 0); err == nil {
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			for {
				_, n, err := c.read()
				if err != nil {
					break
				}
				histBytes += n
			}
			c.Close()
		}
	}
	r.note("50 max-size messages with 14 KB of attributes: %d taken into the room, refused %s; a joiner is sent %d KB", accepted, refused.String(), histBytes/1000)

	const n = 4000
	conns := make([]*chatConn, n)
	var refusedAt statuses
	var firstErr atomic.Value
	parallel(ctx, n, 64, func(i int) {
		ip := src(40, i/10)
		tok, err := chatToken(clientFor(ip), e, "")
		if err == nil {
			conns[i], err = dialChat(ctx, e, tok, ip, 4096)
		}
		if err != nil {
			refusedAt.add(0, err)
			firstErr.CompareAndSwap(nil, err.Error())
		}
	})
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	opened := n - refusedAt.total()
	more, moreRefused, err := bigMessages(ctx, e, 20, "more-")
	if err != nil {
		return err
	}
	time.Sleep(5 * time.Second) // what the server holds for the sockets, while it holds it
	held, _ := harness.Metric(e.Base, "livehouse_chat_connections")
	growth := e.smp.growthMiB()
	r.check(growth < 400, "%d of %d sockets opened; 20 more messages: %d taken, %d refused, %d unanswered within 5 s; server still holds %.0f chat connections; RSS %+.0f MiB (bound 400: 100 KiB a socket)",
		opened, n, more, moreRefused.total(), 20-more-moreRefused.total(), held, growth)
	if fe, _ := firstErr.Load().(string); fe != "" {
		r.note("first refusal: %.100s", fe)
	}
	return nil
}

// clientFor keeps one HTTP client per source address.
func clientFor(ip net.IP) *http.Client {
	clientsMu.Lock()
	defer clientsMu.Unlock()
	c := clients[ip.String()]
	if c == nil {
		c = clientFrom(ip)
		clients[ip.String()] = c
	}
	return c
}

var (
	clientsMu sync.Mutex
	clients   = map[string]*http.Client{}
)

// chatIdleOneAddress (5a): idle anonymous chat sockets from one source address, 2,500 per
// client process, until the server refuses one (a token or a socket) or the address has
// 24,000.
func chatIdleOneAddress(ctx context.Context, e *env, r *result) error {
	ip := src(50, 0)
	c := clientFrom(ip)
	c.Timeout = 10 * time.Second // a server out of descriptors leaves new connections unanswered
	defer c.CloseIdleConnections()
	var procs []*holder
	defer func() {
		for _, p := range procs {
			p.kill()
		}
	}()
	held, refused, why := 0, false, ""
	t0 := time.Now()
	for held < 24_000 && !refused && ctx.Err() == nil {
		// Batches small enough to be dialled well within a token's minute.
		tokens := make([]string, 2000)
		var tokErr atomic.Value
		parallel(ctx, len(tokens), 32, func(i int) {
			t, err := chatToken(c, e, "")
			if err != nil {
				tokErr.CompareAndSwap(nil, err.Error())
				return
			}
			tokens[i] = t
		})
		var got []string
		for _, t := range tokens {
			if t != "" {
				got = append(got, t)
			}
		}
		if te, _ := tokErr.Load().(string); te != "" {
			refused, why = true, "token refused: "+te
		}
		if len(got) == 0 {
			break
		}
		p, rep, err := startHolder(holdJob{URL: "ws" + strings.TrimPrefix(e.Base, "http") + "/api/chat", Tokens: got, IP: ip.String()})
		if err != nil {
			return err
		}
		procs = append(procs, p)
		held += rep.Connected
		if rep.Failed > 0 {
			refused = true
			if why == "" {
				why = "socket refused: " + rep.FirstErr
			}
		}
		fmt.Fprintf(os.Stderr, "attack 5a: %d sockets held, server fds %d, %v\n", held, e.FDs(), time.Since(t0).Round(time.Second))
	}
	limit := e.FDLimit()
	peak := e.smp.peakFDs()
	bounded := refused && limit > 0 && float64(peak) < 0.9*float64(limit)
	r.check(bounded, "%d sockets held from one address; refused: %v (%.140s); server fds peaked at %d of its limit %d (bound: refused below 90 %%)",
		held, refused, why, peak, limit)
	return nil
}

// holdJob is what a socket-holding child process is told: open these tokens' chat sockets
// from this address.
type holdJob struct {
	URL    string
	Tokens []string
	IP     string
}

// holdReport is what it answers once it has tried them all.
type holdReport struct {
	Connected, Failed int
	FirstErr          string
}

// holder is a running socket-holding child process.
type holder struct {
	cmd *exec.Cmd
	in  io.WriteCloser
}

func startHolder(j holdJob) (*holder, holdReport, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, holdReport{}, err
	}
	cmd := exec.Command(self, "-child")
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return nil, holdReport{}, err
	}
	h := &holder{cmd: cmd, in: in}
	if err := json.NewEncoder(in).Encode(j); err != nil {
		h.kill()
		return nil, holdReport{}, err
	}
	var rep holdReport
	if err := json.NewDecoder(bufio.NewReader(out)).Decode(&rep); err != nil {
		h.kill()
		return nil, holdReport{}, fmt.Errorf("socket holder: %w", err)
	}
	return h, rep, nil
}

func (h *holder) kill() {
	h.in.Close()
	h.cmd.Process.Kill()
	h.cmd.Wait()
}

// holdSockets is the child process: it opens the job's sockets (64 at a time, giving up after
// 20 failures in a row), reports, and holds them until its standard input closes.
func holdSockets() error {
	var j holdJob
	if err := json.NewDecoder(os.Stdin).Decode(&j); err != nil {
		return err
	}
	ip := net.ParseIP(j.IP)
	e := &env{Server: &harness.Server{Base: "http" + strings.TrimPrefix(strings.TrimSuffix(j.URL, "/api/chat"), "ws")}}
	var mu sync.Mutex
	var rep holdReport
	var conns []*chatConn
	var inARow atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	parallel(ctx, len(j.Tokens), 64, func(i int) {
		c, err := dialChat(ctx, e, j.Tokens[i], ip, 0)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			rep.Failed++
			if rep.FirstErr == "" {
				rep.FirstErr = err.Error()
			}
			if inARow.Add(1) >= 20 {
				cancel()
			}
			return
		}
		inARow.Store(0)
		rep.Connected++
		conns = append(conns, c)
	})
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		return err
	}
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
	return nil
}

// chatFairness (9a): one account opens 100 sockets and sends as fast as each may, while
// another user sends 10 messages, one every 400 ms.
func chatFairness(ctx context.Context, e *env, r *result) error {
	flooder, err := register(http.DefaultClient, e.Server, "flooder1", "flooder1@attack.example")
	if err != nil {
		return err
	}
	other, err := register(http.DefaultClient, e.Server, "fairuser1", "fairuser1@attack.example")
	if err != nil {
		return err
	}
	const n = 100
	var socks []*chatConn
	var refused statuses
	var firstErr string
	for i := range n {
		ip := src(91, i)
		tok, err := chatToken(clientFor(ip), e, flooder)
		var c *chatConn
		if err == nil {
			c, err = dialChat(ctx, e, tok, ip, 0)
		}
		if err != nil {
			refused.add(0, err)
			if firstErr == "" {
				firstErr = err.Error()
			}
			continue
		}
		socks = append(socks, c)
	}
	defer func() {
		for _, c := range socks {
			c.Close()
		}
	}()
	// Each socket sends twice what its own limit allows, the sockets' ticks spread over the
	// period, so the room's shared budget is asked for all the time.
	var floodSent, floodOK atomic.Int64
	var floodRefused statuses
	floodCtx, stopFlood := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for k, c := range socks {
		prefix := fmt.Sprintf("flood%d-", k)
		go func() {
			for {
				f, _, err := c.read()
				if err != nil {
					return
				}
				switch {
				case !strings.HasPrefix(f.RequestID, prefix):
				case f.Type == "MESSAGE":
					floodOK.Add(1)
				default:
					floodRefused.add(f.ErrorCode, nil)
				}
			}
		}()
		wg.Go(func() {
			select {
			case <-floodCtx.Done():
				return
			case <-time.After(time.Duration(k) * time.Second / 20 / n):
			}
			t := time.NewTicker(time.Second / 20)
			defer t.Stop()
			for i := 0; floodCtx.Err() == nil; i++ {
				select {
				case <-floodCtx.Done():
					return
				case <-t.C:
				}
				if c.send(prefix+strconv.Itoa(i), "flood", nil) != nil {
					return
				}
				floodSent.Add(1)
			}
		})
	}
	time.Sleep(time.Second) // the flood is under way
	tok, err := chatToken(http.DefaultClient, e, other)
	if err != nil {
		stopFlood()
		wg.Wait()
		return err
	}
	oc, err := dialChat(ctx, e, tok, src(92, 0), 0)
	if err != nil {
		stopFlood()
		wg.Wait()
		return err
	}
	defer oc.Close()
	var mine statuses
	got := make(chan struct{}, 10)
	go func() {
		for {
			f, _, err := oc.read()
			if err != nil {
				return
			}
			if !strings.HasPrefix(f.RequestID, "fair-") {
				continue
			}
			if f.Type == "MESSAGE" {
				mine.add(200, nil)
			} else {
				mine.add(f.ErrorCode, nil)
			}
			got <- struct{}{}
		}
	}()
	for i := range 10 {
		if err := oc.send(fmt.Sprintf("fair-%d", i), fmt.Sprintf("hello %d", i), nil); err != nil {
			break
		}
		time.Sleep(400 * time.Millisecond) // the other user's pace
	}
	wait := time.After(5 * time.Second)
	for range 10 {
		select {
		case <-got:
			continue
		case <-wait:
		}
		break
	}
	stopFlood()
	wg.Wait()
	msg := fmt.Sprintf("flooder: %d of %d sockets opened", len(socks), n)
	if firstErr != "" {
		msg += fmt.Sprintf(" (first refusal: %.80s)", firstErr)
	}
	r.note("%s; flood: %d sent, %d taken, refused %s", msg, floodSent.Load(), floodOK.Load(), floodRefused.String())
	r.check(mine.get("200") == 10, "the other user's 10 messages: %d taken (answers %s)", mine.get("200"), mine.String())
	return nil
}
