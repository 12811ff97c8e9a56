package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSoak runs `ledger serve` under a mixed load — writes, reads, past
// views, alert event streams, imports — for LEDGER_SOAK_DURATION (make soak:
// ten minutes; skipped when unset), sampling goroutines, memory, open files
// and latency every LEDGER_SOAK_EVERY (30 s). It fails on any 5xx answer,
// and when goroutines or open files grow, or the heap grows beyond what the
// ledger's own growth explains. The table it prints is the soak report of
// BENCHMARKS.md (LEDGER_SOAK_REPORT names a file to write it to).
func TestSoak(t *testing.T) {
	duration, err := time.ParseDuration(os.Getenv("LEDGER_SOAK_DURATION"))
	if err != nil || duration <= 0 {
		t.Skip("LEDGER_SOAK_DURATION not set (make soak)")
	}
	every := 30 * time.Second
	if d, err := time.ParseDuration(os.Getenv("LEDGER_SOAK_EVERY")); err == nil && d > 0 {
		every = d
	}
	url, stop := start(t, "--data", t.TempDir(), "--demo")
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	s := &soak{url: url, client: &http.Client{Timeout: 30 * time.Second}, ids: commitmentIDs(t, url)}
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	loop := func(name string, pause time.Duration, fn func(r *rand.Rand) (int, error)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(len(name)), uint64(time.Now().UnixNano())))
			for ctx.Err() == nil {
				began := time.Now()
				status, err := fn(r)
				s.record(name, time.Since(began), status, err, ctx.Err() != nil)
				if pause > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(pause):
					}
				}
			}
		}()
	}
	// New promises come at ten a second (a province's year in a few
	// hours), and three writers record fulfilments of them and of older
	// ones at up to fifty a second each: fifteen for each promise on
	// average, as a rebate paid monthly has over a year or so.
	loop("write", 100*time.Millisecond, s.makeCommitment)
	for range 3 {
		loop("write", 20*time.Millisecond, func(r *rand.Rand) (int, error) {
			id := s.pick(r)
			unit, value := s.unit(id), "0.01"
			if unit == "item" {
				value = "1"
			}
			return s.do("POST", "/api/v1/commitments/"+id+"/fulfillments", "pl_demo-supervisor_demo", "application/json",
				`{"quantity":{"value":"`+value+`","unit":"`+unit+`"},"fulfilled_on":"2026-11-01","evidence":"浸泡测试"}`)
		})
	}
	reads := []string{"/api/v1/commitments?limit=50", "/api/v1/counties", "/api/v1/counties/532301", "/api/v1/alerts", "/api/v1/reports/overdue?format=json"}
	for range 4 {
		loop("read", 0, func(r *rand.Rand) (int, error) {
			if r.IntN(3) == 0 {
				return s.do("GET", "/api/v1/commitments/"+s.pick(r)+"/history", "pl_demo-supervisor_demo", "", "")
			}
			return s.do("GET", reads[r.IntN(len(reads))], "pl_demo-supervisor_demo", "", "")
		})
	}
	began := time.Now()
	loop("past view", 200*time.Millisecond, func(r *rand.Rand) (int, error) {
		at := began.Add(time.Duration(r.Int64N(int64(time.Since(began)) + 1))).UTC().Format(time.RFC3339)
		return s.do("GET", "/api/v1/counties?as_of="+at, "pl_demo-auditor_demo", "", "")
	})
	for range 2 {
		loop("event stream", 0, func(r *rand.Rand) (int, error) { return s.stream(ctx, 5*time.Second) })
	}
	var imported atomic.Int64
	loop("import", 5*time.Second, func(r *rand.Rand) (int, error) {
		n := imported.Add(1)
		csv := "县市区,责任单位,项目名称,投资企业,统一社会信用代码,承诺类型,承诺事项,承诺数量,签约日期,兑现期限\n"
		for i := range 5 {
			csv += fmt.Sprintf("楚雄市,楚雄市财政局,浸泡导入项目%d-%d,浸泡企业,91350100M000100Y43,补贴,设备补助,%d万元,2026-03-15,2027-12-31\n", n, i, 10+i)
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", "台账.csv")
		_, _ = fw.Write([]byte(csv))
		_ = mw.Close()
		return s.do("POST", "/api/v1/imports", "pl_demo-532301_demo", mw.FormDataContentType(), body.String())
	})

	var samples []soakSample
	sample := func() {
		samples = append(samples, s.sample(time.Since(began)))
		t.Log(samples[len(samples)-1])
	}
	tick := time.NewTicker(every)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
			sample()
		}
	}
	tick.Stop()
	wg.Wait()
	sample()

	report := s.report(duration, samples)
	t.Log("\n" + report)
	if f := os.Getenv("LEDGER_SOAK_REPORT"); f != "" {
		if err := os.WriteFile(f, []byte(report), 0o644); err != nil {
			t.Error(err)
		}
	}
	if n := s.serverErrors.Load(); n > 0 {
		t.Errorf("%d answers were 5xx or failed: %s", n, s.firstError.Load())
	}
	if len(samples) < 3 {
		return // too short to judge a trend
	}
	first, last := samples[1], samples[len(samples)-2] // the first sample is the warm-up, the last is after the load
	if last.goroutines > first.goroutines+20 {
		t.Errorf("goroutines grew from %d to %d", first.goroutines, last.goroutines)
	}
	for _, load := range []string{"read", "write"} {
		if a, b := first.p99[load], last.p99[load]; b > 4*a+100*time.Millisecond {
			t.Errorf("%s p99 grew from %s to %s", load, a, b)
		}
	}
	if last.files > first.files+20 {
		t.Errorf("open files grew from %d to %d", first.files, last.files)
	}
	// The ledger grows as it is written to; what it keeps may grow with it, not faster.
	perEvent := float64(first.heap) / float64(max(first.events, 1))
	if allowed := uint64(perEvent*float64(last.events)*1.5) + 64<<20; last.heap > allowed {
		t.Errorf("the live heap grew from %d MiB (%d events) to %d MiB (%d events)", first.heap>>20, first.events, last.heap>>20, last.events)
	}
}

type soak struct {
	url          string
	client       *http.Client
	mu           sync.Mutex
	latencies    map[string][]time.Duration // since the last sample
	counts       map[string]int             // every answer, by load and status class
	serverErrors atomic.Int64
	firstError   atomic.Value
	units        sync.Map
	ids          []string // under mu
}

type soakSample struct {
	at                  time.Duration
	goroutines, files   int
	heap, rss           uint64
	commitments, events int
	requests            int
	p50, p99            map[string]time.Duration
}

func (s soakSample) String() string {
	return fmt.Sprintf("%6s goroutines %d, open files %d, live heap %d MiB, RSS %d MiB, %d commitments, %d events, %d requests; read p99 %s, write p99 %s",
		s.at.Round(time.Second), s.goroutines, s.files, s.heap>>20, s.rss>>20, s.commitments, s.events, s.requests, s.p99["read"], s.p99["write"])
}

func (s *soak) record(name string, d time.Duration, status int, err error, ending bool) {
	if ending && err != nil {
		return // cut by the end of the run
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.latencies == nil {
		s.latencies, s.counts = map[string][]time.Duration{}, map[string]int{}
	}
	s.latencies[name] = append(s.latencies[name], d)
	s.counts[fmt.Sprintf("%s %dxx", name, status/100)]++
	if err != nil || status >= 500 {
		s.serverErrors.Add(1)
		s.firstError.CompareAndSwap(nil, fmt.Sprintf("%s: %d %v", name, status, err))
	}
}

func (s *soak) do(method, path, token, contentType, body string) (int, error) {
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 500 {
		return res.StatusCode, fmt.Errorf("%s %s: %s", method, path, b)
	}
	return res.StatusCode, nil
}

// stream follows the alerts' event stream for a while, as a page does.
func (s *soak) stream(ctx context.Context, d time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/api/v1/alerts/stream", nil)
	req.Header.Set("Authorization", "Bearer pl_demo-supervisor_demo")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 200, nil
		}
		return 0, err
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
	}
	return res.StatusCode, nil
}

// makeCommitment makes a commitment and adds it to those the writers
// fulfil and the readers read, so that the load spreads over the ledger as
// it grows, as a county's does.
func (s *soak) makeCommitment(r *rand.Rand) (int, error) {
	body := fmt.Sprintf(`{"county":"532301","department":"楚雄市财政局","project":"浸泡项目%d","investor":{"name":"浸泡企业","credit_code":"91350100M000100Y43"},"kind":"subsidy","description":"设备补助","quantity":{"value":"%d","unit":"CNY"},"made_on":"2026-03-15","due":"2027-06-30"}`, r.Int64(), 10000+r.IntN(90000))
	req, _ := http.NewRequest("POST", s.url+"/api/v1/commitments", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer pl_demo-532301_demo")
	req.Header.Set("Content-Type", "application/json")
	res, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var c struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(res.Body).Decode(&c); err == nil && res.StatusCode == http.StatusCreated {
		s.mu.Lock()
		s.ids = append(s.ids, c.ID)
		s.mu.Unlock()
	}
	if res.StatusCode >= 500 {
		return res.StatusCode, fmt.Errorf("POST /api/v1/commitments: %d", res.StatusCode)
	}
	return res.StatusCode, nil
}

// pick is a commitment to write to or read.
func (s *soak) pick(r *rand.Rand) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[r.IntN(len(s.ids))]
}

// unit is the unit of a demo commitment's quantity.
func (s *soak) unit(id string) string {
	if u, ok := s.units.Load(id); ok {
		return u.(string)
	}
	unit := "CNY"
	req, _ := http.NewRequest("GET", s.url+"/api/v1/commitments/"+id, nil)
	req.Header.Set("Authorization", "Bearer pl_demo-supervisor_demo")
	if res, err := s.client.Do(req); err == nil {
		var c struct {
			Quantity struct {
				Unit string `json:"unit"`
			} `json:"quantity"`
		}
		if json.NewDecoder(res.Body).Decode(&c) == nil && c.Quantity.Unit != "" {
			unit = c.Quantity.Unit
		}
		res.Body.Close()
	}
	s.units.Store(id, unit)
	return unit
}

func (s *soak) sample(at time.Duration) soakSample {
	s.mu.Lock()
	lat := s.latencies
	s.latencies = map[string][]time.Duration{}
	s.mu.Unlock()
	smp := soakSample{at: at, goroutines: runtime.NumGoroutine(), p50: map[string]time.Duration{}, p99: map[string]time.Duration{}}
	for name, ds := range lat {
		slices.Sort(ds)
		smp.requests += len(ds)
		smp.p50[name], smp.p99[name] = ds[len(ds)/2], ds[len(ds)*99/100]
	}
	var ms runtime.MemStats
	runtime.GC() // what is kept, not what awaits collection
	runtime.ReadMemStats(&ms)
	smp.heap = ms.HeapAlloc
	smp.events = s.events()
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		smp.files = len(fds)
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				smp.rss = kb << 10
			}
		}
	}
	req, _ := http.NewRequest("GET", s.url+"/api/v1/counties", nil)
	req.Header.Set("Authorization", "Bearer pl_demo-supervisor_demo")
	if res, err := s.client.Do(req); err == nil {
		var v struct {
			Counties []struct {
				Commitments int `json:"commitments"`
			} `json:"counties"`
		}
		_ = json.NewDecoder(res.Body).Decode(&v)
		res.Body.Close()
		for _, c := range v.Counties {
			smp.commitments += c.Commitments
		}
	}
	return smp
}

// events is how many events the ledger has folded, from its metrics.
func (s *soak) events() int {
	req, _ := http.NewRequest("GET", s.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer pl_demo-supervisor_demo")
	res, err := s.client.Do(req)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && strings.HasPrefix(f[0], "ledger_projection_events_applied_total") {
			n, _ := strconv.ParseFloat(f[1], 64)
			return int(n)
		}
	}
	return 0
}

func (s *soak) report(d time.Duration, samples []soakSample) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Soak: %s of mixed load (new commitments at 10/s, fulfilments at up to 150/s, 4 readers as fast as they can, past views, 2 alert event streams, an import every 5 s), %s, %d cores\n\n", d, runtime.Version(), runtime.NumCPU())
	b.WriteString("| at | goroutines | open files | live heap MiB | RSS MiB | commitments | events | requests | read p50 / p99 | write p50 / p99 | past view p99 | import p99 |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	ms := func(d time.Duration) string {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
	}
	for _, s := range samples {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %d | %s / %s ms | %s / %s ms | %s ms | %s ms |\n", s.at.Round(time.Second), s.goroutines, s.files, s.heap>>20, s.rss>>20,
			s.commitments, s.events, s.requests, ms(s.p50["read"]), ms(s.p99["read"]), ms(s.p50["write"]), ms(s.p99["write"]), ms(s.p99["past view"]), ms(s.p99["import"]))
	}
	s.mu.Lock()
	keys := make([]string, 0, len(s.counts))
	for k := range s.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b.WriteString("\nAnswers:")
	for _, k := range keys {
		fmt.Fprintf(&b, " %s %d;", k, s.counts[k])
	}
	s.mu.Unlock()
	b.WriteString("\n")
	return b.String()
}

// commitmentIDs lists the demo's commitments.
func commitmentIDs(t *testing.T, url string) []string {
	t.Helper()
	status, b := call(t, "GET", url+"/api/v1/commitments?limit=500", "")
	if status != 200 {
		t.Fatalf("list: %d %s", status, b)
	}
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b, &page); err != nil || len(page.Items) == 0 {
		t.Fatalf("list: %v %s", err, b)
	}
	ids := make([]string, len(page.Items))
	for i, it := range page.Items {
		ids[i] = it.ID
	}
	return ids
}
