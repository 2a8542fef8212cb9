// Command chat measures one chat room with many connections against the real binary, for
// `make bench`: send-to-delivery latency, deliveries per second, server CPU, memory per idle
// connection, and the largest number of connections one node holds.
//
// The clients run in child processes (this program re-executed with -child), so no process
// exceeds the open-file cap and the server's figures are not mixed with the clients'; each
// child binds its connections to its own range of 127.0.x.y source addresses.
package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	_ "github.com/jackc/pgx/v5/stdlib"
	"golang.org/x/sys/unix"

	"github.com/livehouse/livehouse/bench/internal/harness"
)

var (
	binary   = flag.String("bin", "bin/livehouse", "livehouse binary")
	conns    = flag.Int("conns", 10_000, "connections in the room")
	rate     = flag.Int("rate", 10, "messages per second")
	duration = flag.Duration("duration", 30*time.Second, "how long messages are sent")
	procs    = flag.Int("procs", 4, "client processes")
	most     = flag.Int("max", 19_500, "then grow the room on one node towards this many idle connections (0: skip)")
	nodes    = flag.Int("nodes", 3, "then grow one room over this many nodes sharing PostgreSQL and NATS (needs LIVEHOUSE_TEST_POSTGRES_URL and LIVEHOUSE_TEST_NATS_URL)")
	perNode  = flag.Int("per-node", 19_000, "idle connections per node in the room across nodes")
	profile  = flag.String("cpuprofile", "", "write the server's CPU profile while messages are sent to this file")
	child    = flag.Bool("child", false, "run as a client process (internal)")
)

func main() {
	flag.Parse()
	run := parent
	if *child {
		run = clientProcess
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// job is what the parent tells a client process: connect these tokens, from source
// addresses starting at index First.
type job struct {
	URL    string
	Tokens []string
	First  int
	Since  int64 // count only messages sent from then on (Unix ns): a late joiner's history is not a delivery
}

// report is what a client process answers when told to stop: delivered messages and their
// latencies in a histogram of 100 µs buckets.
type report struct {
	Delivered int64
	Buckets   map[int]int64
	Failed    int
}

const bucket = 100 * time.Microsecond

func parent() error {
	debugAddr := harness.FreeAddr()
	srv, err := harness.Start(*binary, "LIVEHOUSE_DEBUG_ADDR="+debugAddr)
	if err != nil {
		return err
	}
	defer srv.Stop()
	session, _, _, err := srv.Channel("chatbench")
	if err != nil {
		return err
	}
	wsURL := "ws" + strings.TrimPrefix(srv.Base, "http") + "/api/chat"

	// The room: conns anonymous viewers over procs processes.
	t0 := time.Now()
	tokens, err := issueTokens(srv, "", *conns)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: %d tokens in %v\n", *conns, time.Since(t0).Round(time.Millisecond))
	heap0, rss0 := srv.LiveHeap(debugAddr), srv.RSSKiB()
	var clients []*clientProc
	defer func() {
		for _, c := range clients {
			c.kill()
		}
	}()
	per := (*conns + *procs - 1) / *procs
	for i := 0; i < *conns; i += per {
		c, err := startClients(job{URL: wsURL, Tokens: tokens[i:min(i+per, *conns)], First: i})
		if err != nil {
			return err
		}
		clients = append(clients, c)
	}
	if err := waitConnections(srv.Base, *conns); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: %d connections in %v\n", *conns, time.Since(t0).Round(time.Millisecond))
	heapIdle, rssIdle := srv.LiveHeap(debugAddr), srv.RSSKiB()

	// One sender, rate messages per second, each carrying its send time.
	stok, err := issueTokens(srv, session, 1)
	if err != nil {
		return err
	}
	sender, _, _, err := ws.Dialer{Protocols: []string{stok[0]}}.Dial(context.Background(), wsURL)
	if err != nil {
		return err
	}
	go io.Copy(io.Discard, sender) // its own echoes
	profiled := make(chan error, 1)
	if *profile != "" {
		go func() { profiled <- saveProfile(debugAddr, *profile, *duration) }()
	} else {
		profiled <- nil
	}
	fan0, err := histogram(srv.Base, "livehouse_chat_fanout_seconds")
	if err != nil {
		return err
	}
	cpu0, t0 := srv.CPUSeconds(), time.Now()
	tick := time.NewTicker(time.Second / time.Duration(*rate))
	sent := 0
	for time.Since(t0) < *duration {
		<-tick.C
		msg, _ := json.Marshal(map[string]string{"Action": "SEND_MESSAGE", "Content": strconv.FormatInt(time.Now().UnixNano(), 10)})
		if err := ws.WriteFrame(sender, ws.MaskFrame(ws.NewTextFrame(msg))); err != nil {
			return err
		}
		sent++
	}
	time.Sleep(2 * time.Second) // the last messages in flight; latencies are measured per message
	elapsed, used := time.Since(t0), srv.CPUSeconds()-cpu0
	sender.Close()
	fan1, err := histogram(srv.Base, "livehouse_chat_fanout_seconds")
	if err != nil {
		return err
	}
	if err := <-profiled; err != nil {
		return err
	}

	total := report{Buckets: map[int]int64{}}
	for _, c := range clients {
		r, err := c.stop()
		if err != nil {
			return err
		}
		total.Delivered += r.Delivered
		total.Failed += r.Failed
		for b, n := range r.Buckets {
			total.Buckets[b] += n
		}
	}
	clients = nil
	p50, p99 := percentile(total.Buckets, 0.5), percentile(total.Buckets, 0.99)
	fmt.Printf("chat: one room, %d connections from %d client processes (127.0.x.y), %d messages/s for %v (%d sent): "+
		"%d of %d deliveries (%.0f/s), send-to-delivery p50 %.1f ms, p99 %.1f ms; server CPU %.0f%% of one core, %.0f deliveries per CPU-second; "+
		"server fan-out (a frame reaching the node → its last socket write) ≤ %s for half the batches, ≤ %s for 99 %%; "+
		"per idle connection %.1f KiB RSS, %.1f KiB live heap\n",
		*conns, *procs, *rate, *duration, sent, total.Delivered, int64(sent)*int64(*conns), float64(total.Delivered)/elapsed.Seconds(),
		p50.Seconds()*1000, p99.Seconds()*1000, 100*used/elapsed.Seconds(), float64(total.Delivered)/used,
		fan1.since(fan0).quantile(0.5), fan1.since(fan0).quantile(0.99), (rssIdle-rss0)/float64(*conns), (heapIdle-heap0)/1024/float64(*conns))
	if total.Failed > 0 {
		return fmt.Errorf("%d client connections failed", total.Failed)
	}
	if *most > *conns {
		if err := waitFor(srv.Base, func(n int) bool { return n == 0 }); err != nil {
			return err
		}
		r, err := fill([]*harness.Server{srv}, *most)
		if err != nil {
			return err
		}
		heap := srv.LiveHeap(debugAddr)
		fmt.Printf("chat: largest room on one node: %d connections (%s), %d of them received a message sent to it; process RSS %.0f MiB "+
			"(%.1f KiB and %.1f KiB live heap per connection): at that rate 24 GiB would hold %.1f million, but this machine caps a process at 20,000 open files\n",
			r.held, r.limit, r.delivered, r.rss[0]/1024, (r.rss[0]-rss0)/float64(r.held), (heap-heap0)/1024/float64(r.held),
			24*1024*1024/((r.rss[0]-rss0)/float64(r.held))/1e6)
	}
	if *nodes > 1 {
		return clusterRoom()
	}
	return nil
}

// clusterRoom grows one room over several nodes sharing PostgreSQL and NATS, as a cluster
// does, past what one process's open-file cap allows.
func clusterRoom() error {
	pg, natsURL := os.Getenv("LIVEHOUSE_TEST_POSTGRES_URL"), os.Getenv("LIVEHOUSE_TEST_NATS_URL")
	if pg == "" || natsURL == "" {
		fmt.Println("chat: the room across nodes is skipped: set LIVEHOUSE_TEST_POSTGRES_URL and LIVEHOUSE_TEST_NATS_URL")
		return nil
	}
	admin, err := sql.Open("pgx", pg)
	if err != nil {
		return err
	}
	defer admin.Close()
	schema := fmt.Sprintf("lh_chatbench_%d", os.Getpid())
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		return err
	}
	defer admin.Exec("DROP SCHEMA " + schema + " CASCADE")
	u, err := url.Parse(pg)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	var servers []*harness.Server
	defer func() {
		for _, srv := range servers {
			srv.Stop()
		}
	}()
	for i := range *nodes {
		srv, err := harness.Start(*binary, "LIVEHOUSE_DATABASE_URL="+u.String(), "LIVEHOUSE_NATS_URL="+natsURL,
			"LIVEHOUSE_SECRET_KEY="+strings.Repeat("ab", 32), fmt.Sprintf("LIVEHOUSE_NODE_NAME=chatbench-%d", i), "LIVEHOUSE_NATS_SUBJECT_PREFIX="+schema)
		if err != nil {
			return err
		}
		servers = append(servers, srv)
	}
	if _, _, _, err := servers[0].Channel("chatbench"); err != nil {
		return err
	}
	r, err := fill(servers, *perNode)
	if err != nil {
		return err
	}
	var rss float64
	for _, v := range r.rss {
		rss += v
	}
	fmt.Printf("chat: one room across %d nodes sharing PostgreSQL and NATS: %d connections (%s), %d of them received a message sent on the first node; "+
		"RSS of the nodes together %.0f MiB (%.1f KiB per connection, the nodes' own baseline included)\n",
		*nodes, r.held, r.limit, r.delivered, rss/1024, rss/float64(r.held))
	return nil
}

// filled is what fill reached.
type filled struct {
	held      int       // connections the room held
	limit     string    // why it stopped there
	delivered int64     // connections that received the message sent at the end
	rss       []float64 // each node's resident memory, KiB, with the room full
}

// fill grows the "chatbench" room on every node to perNode idle connections (5,000 per client
// process), or until a node stops accepting, then sends one message from the first node and
// counts the connections it reaches.
func fill(nodes []*harness.Server, perNode int) (filled, error) {
	var clients []*clientProc
	defer func() {
		for _, c := range clients {
			c.kill()
		}
	}()
	r := filled{limit: "as many as asked for"}
	first, since := 20_000, time.Now().UnixNano()
	for _, srv := range nodes {
		wsURL := "ws" + strings.TrimPrefix(srv.Base, "http") + "/api/chat"
		for held := 0; held < perNode; {
			n := min(5_000, perNode-held)
			tokens, err := issueTokens(nodes[0], "", n)
			if err != nil {
				return r, err
			}
			c, err := startClients(job{URL: wsURL, Tokens: tokens, First: first, Since: since})
			if err != nil {
				return r, err
			}
			clients, first = append(clients, c), first+n
			if err := waitConnections(srv.Base, held+n); err != nil {
				r.limit = "a node stopped accepting: " + err.Error()
				break
			}
			held += n
		}
		got, _ := connections(srv.Base)
		r.held += got
		r.rss = append(r.rss, srv.RSSKiB())
	}
	session, err := nodes[0].Login("chatbench")
	if err != nil {
		return r, err
	}
	stok, err := issueTokens(nodes[0], session, 1)
	if err != nil {
		return r, err
	}
	sender, _, _, err := ws.Dialer{Protocols: []string{stok[0]}}.Dial(context.Background(), "ws"+strings.TrimPrefix(nodes[0].Base, "http")+"/api/chat")
	if err != nil {
		return r, err
	}
	defer sender.Close()
	msg, _ := json.Marshal(map[string]string{"Action": "SEND_MESSAGE", "Content": strconv.FormatInt(time.Now().UnixNano(), 10)})
	if err := ws.WriteFrame(sender, ws.MaskFrame(ws.NewTextFrame(msg))); err != nil {
		return r, err
	}
	time.Sleep(5 * time.Second) // the one message's fan-out over every node
	for _, c := range clients {
		rep, err := c.stop()
		if err != nil {
			return r, err
		}
		r.delivered += rep.Delivered
	}
	clients = nil
	return r, nil
}

// saveProfile writes the server's CPU profile over d to file.
func saveProfile(debugAddr, file string, d time.Duration) error {
	res, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", debugAddr, int(d.Seconds())))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, res.Body)
	return err
}

// issueTokens asks for n chat tokens (anonymous when session is empty), 8 at a time.
func issueTokens(srv *harness.Server, session string, n int) ([]string, error) {
	tokens := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				var t struct{ Token string }
				if err := srv.PostJSON("/api/chat/token", session, map[string]string{"channel": "chatbench"}, &t); err != nil {
					errs[w] = err
					return
				}
				tokens[i] = t.Token
			}
		})
	}
	wg.Wait()
	return tokens, errors.Join(errs...)
}

// connections reads the server's open chat connections from its metrics.
func connections(base string) (int, error) {
	v, err := harness.Metric(base, "livehouse_chat_connections")
	return int(v), err
}

// waitConnections waits until the server holds n connections.
func waitConnections(base string, n int) error {
	return waitFor(base, func(got int) bool { return got >= n })
}

// waitFor waits until the server's connection count satisfies ok, for up to two minutes.
func waitFor(base string, ok func(int) bool) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got, err := connections(base)
		if err == nil && ok(got) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server holds %d connections", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cumulative is a Prometheus histogram's cumulative bucket counts by upper bound.
type cumulative map[string]float64

// histogram reads a histogram's buckets from base + /metrics.
func histogram(base, name string) (cumulative, error) {
	res, err := http.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	h := cumulative{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name+`_bucket{le="`)
		if !ok {
			continue
		}
		le, count, _ := strings.Cut(rest, `"} `)
		h[le], _ = strconv.ParseFloat(count, 64)
	}
	if len(h) == 0 {
		return nil, fmt.Errorf("%s not in %s/metrics", name, base)
	}
	return h, nil
}

func (h cumulative) since(before cumulative) cumulative {
	d := cumulative{}
	for le, n := range h {
		d[le] = n - before[le]
	}
	return d
}

// quantile is the upper bound of the bucket that holds quantile q.
func (h cumulative) quantile(q float64) string {
	bounds := make([]float64, 0, len(h))
	for le := range h {
		if v, err := strconv.ParseFloat(le, 64); err == nil {
			bounds = append(bounds, v)
		}
	}
	slices.Sort(bounds)
	total := h["+Inf"]
	for _, b := range bounds {
		if h[strconv.FormatFloat(b, 'g', -1, 64)] >= q*total {
			return fmt.Sprintf("%g ms", b*1000)
		}
	}
	return "more than " + fmt.Sprintf("%g ms", bounds[len(bounds)-1]*1000)
}

func percentile(buckets map[int]int64, p float64) time.Duration {
	var total int64
	top := 0
	for b, n := range buckets {
		total += n
		top = max(top, b)
	}
	want := int64(p * float64(total))
	var seen int64
	for b := 0; b <= top; b++ {
		if seen += buckets[b]; seen > want {
			return time.Duration(b) * bucket
		}
	}
	return time.Duration(top) * bucket
}

// clientProc is a running client process.
type clientProc struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startClients(j job) (*clientProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-child")
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &clientProc{cmd: cmd, in: in, out: bufio.NewReader(out)}
	if err := json.NewEncoder(in).Encode(j); err != nil {
		c.kill()
		return nil, err
	}
	return c, nil
}

// stop asks the process for its report.
func (c *clientProc) stop() (report, error) {
	var r report
	c.in.Close()
	err := json.NewDecoder(c.out).Decode(&r)
	c.cmd.Wait()
	return r, err
}

func (c *clientProc) kill() {
	c.cmd.Process.Kill()
	c.cmd.Wait()
}

// clientProcess connects the job's tokens, records every MESSAGE's latency until its
// standard input closes, then writes its report. It reads with one epoll loop rather than a
// goroutine per connection, so the generator takes as little of the machine as it can.
func clientProcess() error {
	var j job
	if err := json.NewDecoder(os.Stdin).Decode(&j); err != nil {
		return err
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	rec := &recorder{buckets: make([]int64, int(time.Minute/bucket)), since: j.Since}
	conns := map[int32]*clientConn{}
	failed := 0
	for i, tok := range j.Tokens {
		n := j.First + i
		a := n / 250 // 250 connections per source address
		local := &net.TCPAddr{IP: net.IPv4(127, byte(1+a/250), byte(1+a%250), byte(1+n%250))}
		d := ws.Dialer{Protocols: []string{tok}, Timeout: 30 * time.Second, NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return (&net.Dialer{LocalAddr: local}).DialContext(ctx, network, addr)
		}}
		nc, br, _, err := d.Dial(context.Background(), j.URL)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench client %d: %v\n", n, err)
			failed++
			continue
		}
		c := &clientConn{nc: nc}
		if br != nil && br.Buffered() > 0 {
			early, _ := br.Peek(br.Buffered())
			c.partial = append(c.partial, early...)
		}
		raw, _ := nc.(syscall.Conn).SyscallConn()
		raw.Control(func(fd uintptr) { c.fd = int(fd) })
		conns[int32(c.fd)] = c
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(c.fd)}); err != nil {
			return err
		}
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		events := make([]unix.EpollEvent, 512)
		buf := make([]byte, 64<<10)
		for {
			select {
			case <-done:
				return
			default:
			}
			n, err := unix.EpollWait(epfd, events, 200)
			if err != nil && !errors.Is(err, unix.EINTR) {
				return
			}
			for _, ev := range events[:max(n, 0)] {
				c := conns[ev.Fd]
				for {
					k, err := unix.Read(c.fd, buf)
					if k <= 0 || err != nil {
						if k == 0 && err == nil {
							unix.EpollCtl(epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
						}
						break
					}
					c.consume(buf[:k], rec)
					if k < len(buf) {
						break
					}
				}
			}
		}
	}()
	io.Copy(io.Discard, os.Stdin) // until the parent closes it
	close(done)
	<-stopped
	r := report{Delivered: rec.delivered, Buckets: map[int]int64{}, Failed: failed}
	for b, n := range rec.buckets {
		if n > 0 {
			r.Buckets[b] = n
		}
	}
	for _, c := range conns {
		c.nc.Close()
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// recorder counts messages and their latencies; only the client's loop touches it until the
// loop has stopped.
type recorder struct {
	delivered int64
	buckets   []int64
	since     int64
}

// clientConn is one client connection's reading state.
type clientConn struct {
	nc      net.Conn
	fd      int
	partial []byte
}

var marker = []byte(`"Content":"`)

// consume parses the frames in data, timing each message by the send time its content
// carries.
func (c *clientConn) consume(data []byte, rec *recorder) {
	if len(c.partial) > 0 {
		data = append(c.partial, data...)
		c.partial = nil
	}
	for len(data) > 0 {
		r := bytes.NewReader(data)
		h, err := ws.ReadHeader(r)
		start := len(data) - r.Len()
		if err != nil || len(data) < start+int(h.Length) {
			c.partial = append([]byte(nil), data...)
			return
		}
		payload := data[start : start+int(h.Length)]
		data = data[start+int(h.Length):]
		switch h.OpCode {
		case ws.OpPing:
			ws.WriteFrame(c.nc, ws.MaskFrame(ws.NewPongFrame(payload)))
			continue
		case ws.OpText:
		default:
			continue
		}
		at := bytes.Index(payload, marker)
		if at < 0 {
			continue
		}
		rest := payload[at+len(marker):]
		end := bytes.IndexByte(rest, '"')
		sent, err := strconv.ParseInt(string(rest[:max(end, 0)]), 10, 64)
		if err != nil || sent < rec.since {
			continue
		}
		b := int(time.Duration(time.Now().UnixNano()-sent) / bucket)
		rec.delivered++
		rec.buckets[min(max(b, 0), len(rec.buckets)-1)]++
	}
}
