// Command relay measures scale-out LL-HLS for `make bench`: two livehouse nodes on one
// PostgreSQL database and one NATS server, node A ingesting a live stream and node B relaying
// it, and the shipped nginx edge (deploy/nginx) in front of node B. It prints each figure
// with how it was measured:
//
//   - upstream requests to the ingesting node per viewer-second, with simulated LL-HLS
//     viewers (blocking reload for the next part, then that part, in a loop) on node B and
//     through nginx, against the viewers' own request rate (what they would send node A
//     directly);
//   - the ingesting node's CPU meanwhile, against the same time with no viewers;
//   - player latency in Chromium with hls.js, direct from the ingesting node, through node B
//     and through nginx in front of node B, joins taking turns in the same run;
//   - the latency a relay hop adds to a part's availability: the same part's blocking reload
//     returning on node B minus on node A, followed side by side.
//
// It needs PostgreSQL and NATS (LIVEHOUSE_TEST_POSTGRES_URL and LIVEHOUSE_TEST_NATS_URL, as
// the tests; skipped without them), ffmpeg, and nginx for the edge figures.
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/livehouse/livehouse/bench/internal/harness"
	"github.com/livehouse/livehouse/bench/internal/viewer"
)

var (
	binary   = flag.String("bin", "bin/livehouse", "livehouse binary")
	viewersF = flag.String("viewers", "1000,5000", "simulated LL-HLS viewers, one measurement per count")
	duration = flag.Duration("duration", 30*time.Second, "how long each viewer measurement runs")
	samples  = flag.Int("samples", 100, "parts followed for the hop latency")
	figures  = flag.String("figures", "hop,cpu,player,upstream", "which figures to take: hop, cpu (no viewers), player, upstream")
	player   = flag.Duration("player-warmup", 5*time.Second, "playback before each join's player latency is sampled")
	joins    = flag.Int("player-joins", 10, "fresh players (joins) per path for the player latency")
	perJoin  = flag.Int("player-samples", 4, "player latency samples per join, a second apart")
	nginxBin = flag.String("nginx", "/usr/sbin/nginx", "nginx binary")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench relay:", err)
		os.Exit(1)
	}
}

func run() error {
	pg, natsURL := os.Getenv("LIVEHOUSE_TEST_POSTGRES_URL"), os.Getenv("LIVEHOUSE_TEST_NATS_URL")
	if pg == "" || natsURL == "" {
		fmt.Println("relay: skipped (LIVEHOUSE_TEST_POSTGRES_URL and LIVEHOUSE_TEST_NATS_URL are needed)")
		return nil
	}
	admin, err := sql.Open("pgx", pg)
	if err != nil {
		return err
	}
	defer admin.Close()
	schema := fmt.Sprintf("lh_relaybench_%d_%d", os.Getpid(), rand.Uint64()%1e9)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		return err
	}
	defer admin.Exec("DROP SCHEMA " + schema + " CASCADE")
	u, _ := url.Parse(pg)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	cluster := []string{"LIVEHOUSE_DATABASE_URL=" + u.String(), "LIVEHOUSE_NATS_URL=" + natsURL, "LIVEHOUSE_NATS_SUBJECT_PREFIX=" + schema}

	pub := harness.FFmpeg("-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "60", "-b:v", "800k", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "96k", "-f", "flv")
	a, err := harness.StartLive(*binary, "relaybench", pub, append(cluster, "LIVEHOUSE_NODE_NAME=bench-a")...)
	if err != nil {
		return fmt.Errorf("node A: %w", err)
	}
	defer a.Stop()
	b, err := harness.Start(*binary, append(cluster, "LIVEHOUSE_NODE_NAME=bench-b")...)
	if err != nil {
		return fmt.Errorf("node B: %w", err)
	}
	defer b.Stop()
	path := "/hls/" + a.ChannelID + "/video1_stream.m3u8"

	want := map[string]bool{}
	for _, f := range strings.Split(*figures, ",") {
		want[strings.TrimSpace(f)] = true
	}
	if want["hop"] {
		if err := hopLatency(a.Base+path, b.Base+path, a.ChannelID); err != nil {
			return fmt.Errorf("hop latency: %w", err)
		}
	}
	if want["cpu"] {
		cpu0, t0 := a.CPUSeconds(), time.Now()
		time.Sleep(*duration)
		fmt.Printf("ingesting node, no viewers anywhere: %.1f %% of one core over %.0f s\n", 100*(a.CPUSeconds()-cpu0)/time.Since(t0).Seconds(), time.Since(t0).Seconds())
	}
	edge, stop, err := startNginx(strings.TrimPrefix(b.Base, "http://"))
	if err != nil {
		fmt.Printf("relay: nginx figures skipped: %v\n", err)
	} else {
		defer stop()
	}
	if want["player"] {
		if err := playerLatency(a, b, edge); err != nil {
			fmt.Printf("player latency: %v (the other figures go on)\n", err)
		}
	}
	if !want["upstream"] {
		return nil
	}
	for _, n := range strings.Split(*viewersF, ",") {
		viewers, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil || viewers <= 0 {
			return fmt.Errorf("bad -viewers %q", *viewersF)
		}
		if err := upstreamRate("node B (relaying)", b.Base, b, a, viewers); err != nil {
			return err
		}
		if edge != "" {
			if err := upstreamRate("nginx in front of node B", edge, b, a, viewers); err != nil {
				return err
			}
		}
	}
	return nil
}

// hopLatency follows the media playlist on the ingesting node and on the relaying node side
// by side, and compares when each listed the same part.
func hopLatency(direct, relayed, channelID string) error {
	var mu sync.Mutex
	atA, atB := map[time.Time]time.Time{}, map[time.Time]time.Time{}
	follow := func(u string, into map[time.Time]time.Time) error {
		n := 0
		return harness.FollowParts(u+"?token="+harness.Token(channelID), func(end, at time.Time) bool {
			mu.Lock()
			into[end] = at
			mu.Unlock()
			n++
			return n < *samples+10
		})
	}
	var wg sync.WaitGroup
	var errA, errB error
	wg.Go(func() { errA = follow(direct, atA) })
	wg.Go(func() { errB = follow(relayed, atB) })
	wg.Wait()
	if err := errorsJoin(errA, errB); err != nil {
		return err
	}
	var d []float64
	for end, a := range atA {
		if b, ok := atB[end]; ok {
			d = append(d, float64(b.Sub(a).Microseconds())/1000)
		}
	}
	if len(d) < *samples/2 {
		return fmt.Errorf("only %d parts seen on both nodes", len(d))
	}
	fmt.Printf("relay hop: a part listed on the relaying node minus on the ingesting node (blocking reloads side by side, %d parts): p50 %.1f ms, p95 %.1f ms\n",
		len(d), harness.Percentile(d, 0.5), harness.Percentile(d, 0.95))
	return nil
}

func errorsJoin(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// upstreamRate runs the simulated viewers against base and counts the relaying node's
// requests to the ingesting node meanwhile (its livehouse_hls_relay_upstream_requests_total).
func upstreamRate(name, base string, relay *harness.Server, origin *harness.Live, viewers int) error {
	channelID := origin.ChannelID
	prefix := base + "/hls/" + channelID + "/"
	before, err := harness.Metric(relay.Base, "livehouse_hls_relay_upstream_requests_total")
	if err != nil {
		return err
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 4 * viewers, MaxConnsPerHost: 0, DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	var requests, failures atomic.Int64
	stop := time.Now().Add(*duration)
	t0, cpu0 := time.Now(), origin.CPUSeconds()
	var wg sync.WaitGroup
	for range viewers {
		wg.Go(func() {
			viewer.Viewer{Client: client, Base: prefix, Token: harness.Token(channelID), Observe: func(_ time.Duration, ok bool) {
				requests.Add(1)
				if !ok {
					failures.Add(1)
				}
			}}.Play(stop)
		})
	}
	wg.Wait()
	elapsed := time.Since(t0).Seconds()
	originCPU := 100 * (origin.CPUSeconds() - cpu0) / elapsed
	after, err := harness.Metric(relay.Base, "livehouse_hls_relay_upstream_requests_total")
	if err != nil {
		return err
	}
	viewerSeconds := float64(viewers) * elapsed
	fmt.Printf("upstream, %s: %d viewers for %.0f s made %.1f requests/viewer-second (%d failed) — what they would send the ingesting node directly; "+
		"the ingesting node got %.0f, i.e. %.5f per viewer-second, and used %.1f %% of one core\n",
		name, viewers, elapsed, float64(requests.Load())/viewerSeconds, failures.Load(), after-before, (after-before)/viewerSeconds, originCPU)
	return nil
}

// playerLatency samples wall clock minus the playing frame's program-date-time in Chromium,
// on the channel page of the ingesting node with its HLS requests sent direct to it, to the
// relaying node, and to the edge in front of the relaying node; fresh players (joins) take
// turns between the paths, so that each sees the same moments of the stream and the
// machine. It prints a table.
func playerLatency(a *harness.Live, b *harness.Server, edge string) error {
	// Every path but the first sends the page's HLS requests through Playwright's request
	// interception to an origin; the first leaves them alone, to show what that costs.
	paths := []struct{ name, base string }{
		{"node A, not intercepted", "-"}, {"node A (ingesting)", a.Base}, {"node B (relaying from A)", b.Base},
	}
	if edge != "" {
		paths = append(paths, struct{ name, base string }{"nginx in front of node B", edge})
	}
	bases := make([]string, len(paths))
	for i, p := range paths {
		bases[i] = p.base
	}
	res, err := harness.MeasurePlayerLatency(a.Base+"/relaybench", *player, *perJoin, *joins, bases...)
	if err != nil {
		return err
	}
	fmt.Printf("player latency in Chromium with hls.js (wall clock minus the playing frame's PDT; %d joins per path taking turns, each a fresh page sampled %d times a second apart after %v of playback):\n",
		*joins, *perJoin, *player)
	fmt.Printf("  %-26s %8s %8s %22s %15s\n", "HLS from", "p50", "p95", "join medians min–max", "no playingDate")
	for i, p := range paths {
		ms, medians := res[i].All(), res[i].JoinMedians()
		if len(ms) == 0 {
			fmt.Printf("  %-26s no sample had a playingDate (%d missing)\n", p.name, res[i].Missing)
			continue
		}
		fmt.Printf("  %-26s %5.0f ms %5.0f ms %14.0f–%.0f ms %15d\n", p.name, harness.Percentile(ms, 0.5), harness.Percentile(ms, 0.95),
			harness.Percentile(medians, 0), harness.Percentile(medians, 1), res[i].Missing)
	}
	return nil
}

// startNginx runs deploy/nginx/livehouse-edge.conf in front of the given node.
func startNginx(node string) (base string, stop func(), err error) {
	if _, err := os.Stat(*nginxBin); err != nil {
		return "", nil, fmt.Errorf("nginx is not installed (make system-deps installs it)")
	}
	raw, err := os.ReadFile("deploy/nginx/livehouse-edge.conf")
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "livehouse-edge-")
	if err != nil {
		return "", nil, err
	}
	addr := harness.FreeAddr()
	conf := strings.NewReplacer("@LISTEN@", addr, "@UPSTREAMS@", "server "+node+";", "@CACHE_DIR@", dir).Replace(string(raw))
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o600); err != nil {
		return "", nil, err
	}
	global := "daemon off;"
	if os.Geteuid() == 0 {
		global += " user root;"
	}
	cmd := exec.Command(*nginxBin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-g", global)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop = func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		os.RemoveAll(dir)
	}
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr, stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("nginx did not listen")
}
