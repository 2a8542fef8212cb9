package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livehouse/livehouse/bench/internal/harness"
	"github.com/livehouse/livehouse/bench/internal/viewer"
)

var (
	perProcess = flag.Int("viewers-per-process", 1000, "simulated viewers per load-generating child process in the egress scenario")
	viewerSet  = flag.String("viewer-set", "", "internal: run as an egress child, FIRST,COUNT,PLAYLIST-BASE-URL,STOP-UNIX-NANOS")
)

// viewerResult is what an egress child reports to its parent on stdout.
type viewerResult struct {
	Requests, Failures int64
	Latencies          []float32 // milliseconds, blocking waits included
}

// egress simulates n LL-HLS viewers (package viewer) on one stream, each holding a blocking
// playlist reload for the next part and then fetching that part, as hls.js does at the live
// edge. The viewers run in child processes of viewers-per-process each (this program re-run
// with -viewer-set), so that no generator process nears the open-files limit, and the kernel
// spreads their work over the cores; their CPU is reported next to the server's.
func egress(n int) error {
	file, err := sample()
	if err != nil {
		return err
	}
	s, err := harness.StartLive(*binary, "egressbench", copyOf(file))
	if err != nil {
		return err
	}
	defer s.Stop()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	base := s.Base + "/hls/" + s.ChannelID + "/"
	stop := time.Now().Add(*duration)
	var children []*exec.Cmd
	var outs []*bytes.Buffer
	cpu0, t0 := s.CPUSeconds(), time.Now()
	for first := 0; first < n; first += *perProcess {
		count := min(*perProcess, n-first)
		cmd := exec.Command(self, "-viewer-set", fmt.Sprintf("%d,%d,%s,%d", first, count, base, stop.UnixNano()))
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, os.Stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		children, outs = append(children, cmd), append(outs, out)
	}
	var total viewerResult
	var generatorCPU float64
	for i, cmd := range children {
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("viewer process: %w", err)
		}
		generatorCPU += (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
		var r viewerResult
		if err := json.Unmarshal(outs[i].Bytes(), &r); err != nil {
			return fmt.Errorf("viewer process output: %w", err)
		}
		total.Requests += r.Requests
		total.Failures += r.Failures
		total.Latencies = append(total.Latencies, r.Latencies...)
	}
	elapsed := time.Since(t0)
	cpu := s.CPUSeconds() - cpu0
	lat := make([]float64, len(total.Latencies))
	for i, l := range total.Latencies {
		lat[i] = float64(l)
	}
	fmt.Printf("LL-HLS egress with %d simulated viewers on one stream (blocking reload for the next part, then the newest part, in a loop; %d generator processes on the same cores; %v): "+
		"%.0f requests/s, p50 %.1f ms, p99 %.1f ms (blocking waits included), %d failed, server CPU %.0f%% of one core, generators %.0f%%\n",
		n, len(children), elapsed.Round(time.Second), float64(total.Requests)/elapsed.Seconds(), harness.Percentile(lat, 0.5), harness.Percentile(lat, 0.99),
		total.Failures, 100*cpu/elapsed.Seconds(), 100*generatorCPU/elapsed.Seconds())
	return nil
}

// viewers runs an egress child: viewers first…first+count-1 until the stop time, then prints
// a viewerResult.
func viewers(set string) error {
	parts := strings.SplitN(set, ",", 4)
	if len(parts) != 4 {
		return fmt.Errorf("bad -viewer-set %q", set)
	}
	first, _ := strconv.Atoi(parts[0])
	count, _ := strconv.Atoi(parts[1])
	base := parts[2]
	channelID := path.Base(strings.TrimSuffix(base, "/")) // base is …/hls/{channelId}/
	stopNanos, _ := strconv.ParseInt(parts[3], 10, 64)
	stop := time.Unix(0, stopNanos)

	var requests, failures atomic.Int64
	var mu sync.Mutex
	var lat []float32
	var wg sync.WaitGroup
	for i := first; i < first+count; i++ {
		wg.Go(func() {
			// Viewers spread over source addresses 127.0.x.y so no one address runs out of ports.
			local := &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+i/250), byte(1+i%250))}
			client := &http.Client{Transport: &http.Transport{
				DialContext:         (&net.Dialer{LocalAddr: local, Timeout: 10 * time.Second}).DialContext,
				MaxIdleConnsPerHost: 2,
			}, Timeout: 30 * time.Second}
			var mine []float32
			viewer.Viewer{Client: client, Base: base, Token: harness.Token(channelID), Observe: func(took time.Duration, ok bool) {
				requests.Add(1)
				if !ok {
					failures.Add(1)
					return
				}
				mine = append(mine, float32(took.Microseconds())/1000)
			}}.Play(stop)
			client.CloseIdleConnections()
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return json.NewEncoder(os.Stdout).Encode(viewerResult{Requests: requests.Load(), Failures: failures.Load(), Latencies: lat})
}
