package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/accounts"
)

// The account benchmarks run the whole HTTP stack against SQLite on disk, with the real
// argon2id parameters (accounts.DefaultHashParams: 19 MiB, t=2, p=1).

func BenchmarkRegister(b *testing.B) {
	e := newEnv(b, autoVerify(true), hashParams(accounts.DefaultHashParams))
	i := 0
	start := time.Now()
	for b.Loop() {
		name := fmt.Sprintf("user%06d", i)
		i++
		e.want(e.call("POST", "/api/auth/register", "", map[string]string{"username": name, "email": name + "@example.com", "password": password}), 201)
	}
	b.ReportMetric(float64(i)/time.Since(start).Seconds(), "registers/s")
}

func BenchmarkLogin(b *testing.B) {
	e := newEnv(b, autoVerify(true), hashParams(accounts.DefaultHashParams))
	e.want(e.call("POST", "/api/auth/register", "", map[string]string{"username": "bench", "email": "bench@example.com", "password": password}), 201)
	n := 0
	start := time.Now()
	for b.Loop() {
		e.want(e.call("POST", "/api/auth/login", "", map[string]string{"username": "bench", "password": password}), 200)
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "logins/s")
}

// BenchmarkGetMe measures GET /api/me from 16 concurrent clients of 50 accounts and reports
// the latency percentiles besides ns/op (which is the inverse of throughput here).
func BenchmarkGetMe(b *testing.B) {
	e := newEnv(b, autoVerify(true))
	var tokens []string
	for i := range 50 {
		tokens = append(tokens, e.signUp(fmt.Sprintf("viewer%02d", i)).token)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(8) // 8 × GOMAXPROCS goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		i := 0
		for pb.Next() {
			req, _ := http.NewRequest("GET", e.srv.URL+"/api/me", nil)
			req.Header.Set("Authorization", "Bearer "+tokens[i%len(tokens)])
			i++
			t0 := time.Now()
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			res.Body.Close()
			mine = append(mine, time.Since(t0))
			if res.StatusCode != 200 {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}
