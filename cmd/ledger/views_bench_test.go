package main

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkViewsUnderLoad measures, on a ledger made by ledger gen
// (LEDGER_BENCH_COMMITMENTS commitments, default 300) served by ledger
// serve, the latency of GET /api/v1/counties and of GET one commitment
// while 64 clients write commitments through HTTP as fast as they can.
func BenchmarkViewsUnderLoad(b *testing.B) {
	n := 300
	if v, err := strconv.Atoi(os.Getenv("LEDGER_BENCH_COMMITMENTS")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	if out, err := ledgerCmd(b, "gen", "--data", dir, "--commitments", strconv.Itoa(n)); err != nil {
		b.Fatalf("gen: %v\n%s", err, out)
	}
	url, stop := start(b, "--data", dir, "--demo", "--max-conns-per-addr", "0")
	defer stop()
	get := func(path string) time.Duration {
		req, _ := http.NewRequest("GET", url+path, nil)
		req.Header.Set("Authorization", "Bearer "+demoSupervisor)
		t0 := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("%s: %d", path, res.StatusCode)
		}
		return time.Since(t0)
	}
	_, body := call(b, "GET", url+"/api/v1/commitments?limit=1", "")
	id := strings.Split(strings.Split(string(body), `"id":"`)[1], `"`)[0]
	var writes atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				c := fmt.Sprintf(`{"county":"532301","department":"财政局","project":"负载%d-%d","investor":{"name":"企业","registered":false},"kind":"subsidy","description":"补助","quantity":{"value":"100","unit":"CNY"},"made_on":"2024-01-02","due":"2025-01-02"}`, w, i)
				req, _ := http.NewRequest("POST", url+"/api/v1/commitments", strings.NewReader(c))
				req.Header.Set("Authorization", "Bearer "+demoSupervisor)
				req.Header.Set("Content-Type", "application/json")
				if res, err := http.DefaultClient.Do(req); err == nil {
					res.Body.Close()
					if res.StatusCode == 201 {
						writes.Add(1)
					}
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond) // the load under way
	var counties, one []time.Duration
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		counties = append(counties, get("/api/v1/counties"))
		one = append(one, get("/api/v1/commitments/"+id))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	close(done)
	wg.Wait()
	pct := func(d []time.Duration, p float64) float64 {
		slices.Sort(d)
		return float64(d[min(len(d)-1, int(float64(len(d))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(counties, 0.5), "counties-p50-ms")
	b.ReportMetric(pct(counties, 0.99), "counties-p99-ms")
	b.ReportMetric(pct(one, 0.5), "commitment-p50-ms")
	b.ReportMetric(pct(one, 0.99), "commitment-p99-ms")
	b.ReportMetric(float64(writes.Load())/(elapsed.Seconds()+0.2), "writes/s")
}
