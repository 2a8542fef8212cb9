// Command attack tries the attacks of issue 15 against the real binary, for `make attack` and
// `make bench`. Each attack gets a fresh server (temp data dir, free loopback ports, dev
// defaults) with one channel live from ffmpeg; while it runs, the program samples the server's
// resident memory and open descriptors from /proc and plays the channel as a normal viewer
// would (LL-HLS with blocking reloads and every new part, plus a chat reader). It prints a
// table: each attack, the bound it hit or what happened instead (HELD / NOT HELD), the peak
// RSS and descriptors, and whether the normal viewer was served throughout.
//
// Every attack is bounded in count and time and runs on loopback only; sockets are spread
// over 127.x.y.z source addresses, and past a few thousand they are held by child processes
// (this program re-executed with -child), so the attacker never runs out of descriptors
// before the server does.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"time"
)

var (
	binPath    = flag.String("bin", "bin/livehouse", "livehouse binary")
	only       = flag.String("only", "", "comma-separated attacks to run, e.g. 1,5a,9b (empty: all)")
	perAccount = flag.Int("login-per-account", 5, "failed sign-ins one account may take before 429 (the server's per-account throttle)")
	perAddress = flag.Int("login-per-address", 30, "failed sign-ins one address may make before 429 (the server's per-address throttle)")
	budget     = flag.Duration("budget", 100*time.Second, "the longest any one attack may run")
	child      = flag.Bool("child", false, "run as a socket-holding client process (internal)")
)

// attack is one row of the table.
type attack struct {
	n, name string
	run     func(ctx context.Context, e *env, r *result) error
}

var attacks = []attack{
	{"1", "GET /hls/{live}/x%25zz.m3u8 and names holding NUL", crashNames},
	{"2", "3,000 distinct long *.m3u8 names", manyNames},
	{"3", "100 wrong passwords on one account; 60 from one address; 150 concurrent sign-ups", loginRaces},
	{"4", "chat history of max-size messages + 4,000 anonymous sockets that never read", chatNoRead},
	{"5a", "idle chat sockets from one address until refused", chatIdleOneAddress},
	{"5b", "300 slow-body POSTs (one byte every 10 s)", slowBodies},
	{"6", "16-bit 6000×6000 PNG avatars, 8 concurrent", pngBombs},
	{"7", "104 RTMP connections sending 10 MiB each without a key", rtmpPreAuth},
	{"8", "banned viewer: playback with/without token; chat token and socket from before the ban", bans},
	{"9a", "one account's 100 sockets flood a room while another user sends 10", chatFairness},
	{"9b", "3,000 forged viewer sessions (+1,000 minted by the channel route)", forgedViewers},
	{"10", "password change racing an email change, ×20", lostUpdates},
	{"11", "password reset: known vs unknown email (median of 25); mails per recipient", resetTiming},
}

func main() {
	flag.Parse()
	if *child {
		if err := holdSockets(); err != nil {
			fmt.Fprintln(os.Stderr, "attack child:", err)
			os.Exit(1)
		}
		return
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		fmt.Fprintln(os.Stderr, "attack: ffmpeg is needed (make system-deps installs it)")
		os.Exit(1)
	}
	// Nothing the server does may hang the program: every request has a deadline.
	http.DefaultClient.Timeout = 60 * time.Second
	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	var results []result
	t0 := time.Now()
	for _, a := range attacks {
		if len(want) > 0 && !want[a.n] {
			continue
		}
		fmt.Fprintf(os.Stderr, "attack %s: %s\n", a.n, a.name)
		r := runOne(a)
		fmt.Fprintf(os.Stderr, "attack %s: %s — %s (%v)\n", a.n, r.verdict(), r.outcome(), r.took.Round(time.Second))
		results = append(results, r)
	}
	printTable(os.Stdout, results, time.Since(t0))
}

// runOne runs an attack on a fresh live server with a viewer and a sampler beside it. It never
// panics: whatever goes wrong becomes the row's ERROR.
func runOne(a attack) (r result) {
	r = result{n: a.n, name: a.name, held: true}
	t0 := time.Now()
	defer func() {
		if p := recover(); p != nil {
			r.err = fmt.Errorf("the attack program panicked: %v\n%s", p, debug.Stack())
		}
		r.took = time.Since(t0)
	}()
	e, err := startLive("attack" + a.n)
	if err != nil {
		r.err = fmt.Errorf("starting a live server: %w", err)
		return r
	}
	defer e.stop()
	v := startViewer(e)
	// The viewer is served for a moment before the attack starts, so a failure to serve it at
	// all is not blamed on the attack.
	time.Sleep(2 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), *budget)
	err = a.run(ctx, e, &r)
	cancel()
	if err != nil {
		r.err = err
	}
	// The viewer goes on a little past the attack: a server that falls over at the end of it
	// shows here.
	time.Sleep(2 * time.Second)
	r.viewer = v.stop()
	r.rss0, r.rssPeak, r.fd0, r.fdPeak, r.fdLimit = e.smp.stop()
	if !e.Alive() {
		r.fail("the server process died")
	}
	return r
}
