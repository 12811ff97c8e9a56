//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"promiseledger/events"
	"promiseledger/jsstore"
)

// The crash test: the real ledger binary, killed with SIGKILL at random
// moments while writers append through the HTTP API, retrying every request
// that got no answer with its idempotency key. Afterwards every
// acknowledged append must be in the stream exactly once, the views after
// a restart from the checkpoint must equal a rebuild from event one, and
// `ledger audit verify` must pass.
//
//	LEDGER_CRASH_KILLS=200 go test -count=1 -v -run '^TestCrash_SIGKILLUnderWrites$' -timeout 60m ./cmd/ledger/
//
// LEDGER_CRASH_SEED replays the kill schedule and the writers' choices of a
// failed run (the interleaving of processes is the machine's);
// LEDGER_CRASH_DIR, an empty or new folder, keeps the ledgers' logs, the
// log of acknowledged appends and the data folder for a look afterwards.

// crashCounties are the counties the county writers record in, one token each.
var crashCounties = []string{"532301", "532322", "532323"}

const (
	crashWritersPerCounty = 2
	crashQuantity         = 1000 // mu promised by each commitment
)

func TestCrash_SIGKILLUnderWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test builds the binary and kills it many times")
	}
	kills := crashEnvInt(t, "LEDGER_CRASH_KILLS", 20)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("LEDGER_CRASH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("LEDGER_CRASH_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (replay with LEDGER_CRASH_SEED=%d), %d kills", seed, seed, kills)
	rng := rand.New(rand.NewPCG(seed, 0))

	work := t.TempDir()
	if d := os.Getenv("LEDGER_CRASH_DIR"); d != "" { // kept afterwards: the logs, the acknowledgements, the data
		if entries, err := os.ReadDir(d); err == nil && len(entries) > 0 {
			t.Fatalf("LEDGER_CRASH_DIR=%s: the folder is not empty", d)
		}
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
		work = d
	}
	t.Logf("the ledgers' logs, the acknowledgements (acks.jsonl) and the data folder are in %s", work)
	bin := buildLedger(t, work)
	data := filepath.Join(work, "data")

	// Tokens made on the folder before the first start, by the binary
	// itself: an admin (reads, metrics), a supervisor (orders) and one
	// county office per county written.
	token := func(args ...string) string {
		out, err := exec.Command(bin, append([]string{"token", "add", "--data", data}, args...)...).Output()
		if err != nil {
			t.Fatalf("token add %v: %v\n%s", args, err, exitStderr(err))
		}
		return strings.TrimSpace(string(out))
	}
	admin := token("--role", "admin", "--name", "crash-admin")
	tokens := map[string]string{"supervisor": token("--role", "supervisor", "--name", "crash-supervisor")}
	for _, c := range crashCounties {
		tokens[c] = token("--role", "county", "--county", c, "--name", "crash-"+c)
	}

	l := &ledgerProc{t: t, bin: bin, data: data, logs: work, addr: freeAddr(t)}
	t.Cleanup(l.abandon)
	base := "http://" + l.addr

	ackLog, err := os.Create(filepath.Join(work, "acks.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer ackLog.Close()
	h := &crashHarness{base: base, log: ackLog, client: &http.Client{
		Timeout:   60 * time.Second, // the ledger waits at most 30 s for its views
		Transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true},
	}}

	l.start()
	l.waitReady(60 * time.Second)

	// Writers hammer from now until told to stop, across every kill.
	stop := make(chan struct{})
	hard, cancelHard := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancelHard(); wg.Wait() })
	n := 0
	for _, c := range crashCounties {
		for range crashWritersPerCounty {
			n++
			w := &crashWriter{h: h, name: fmt.Sprintf("w%d-%s", n, c), county: c, token: tokens[c], rng: rand.New(rand.NewPCG(seed, uint64(n))), seed: seed}
			wg.Go(func() { w.run(hard, stop, t) })
		}
	}
	sup := &crashWriter{h: h, name: "supervisor", token: tokens["supervisor"], rng: rand.New(rand.NewPCG(seed, 99)), seed: seed}
	wg.Go(func() { sup.run(hard, stop, t) })

	// The kill loop. Most kills hit a running ledger; some hit it while
	// it starts (recovering the stream, catching up), some while it stops
	// cleanly (draining, saving its checkpoint, sealing).
	var duringStart, duringStop int
	for first := true; l.kills < kills; first = false {
		switch r := rng.IntN(10); {
		case r < 2 && !first: // while starting: before or after ready, whichever comes
			time.Sleep(time.Duration(rng.IntN(800)) * time.Millisecond)
			if l.kill() {
				duringStart++
			}
		case r < 4: // during a clean stop
			l.waitReady(60 * time.Second)
			time.Sleep(time.Duration(200+rng.IntN(1500)) * time.Millisecond)
			l.signal(syscall.SIGTERM)
			time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
			if l.kill() {
				duringStop++
			}
		default:
			l.waitReady(60 * time.Second)
			time.Sleep(time.Duration(200+rng.IntN(1800)) * time.Millisecond)
			l.kill()
		}
		if t.Failed() {
			t.FailNow()
		}
		l.start()
	}
	l.waitReady(60 * time.Second)

	// The writers finish what they were doing, against the last ledger.
	close(stop)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	acks := readAcks(t, ackLog.Name())
	if len(acks) == 0 {
		t.Fatal("no append was acknowledged")
	}

	// Requests retried long after, by the last ledger killed, by one
	// restarted from its checkpoint and by one after a rebuild, are
	// answered with their first result and append nothing (the stream is
	// read when they are done).
	resend := func() {
		t.Helper()
		for range 30 {
			a := acks[rng.IntN(len(acks))]
			status, b, _, _, err := h.post(hard, tokens[a.Token], a.Path, a.Body, a.Key)
			if err != nil || status != http.StatusCreated {
				t.Fatalf("resending %s: %d %v %s", a.Key, status, err, b)
			}
			if got := ackOf(t, a.Op, b); got.Commitment != a.Commitment || got.Version != a.Version || got.Event != a.Event {
				t.Errorf("resending %s answered commitment %s version %d event %s; first answer commitment %s version %d event %s",
					a.Key, got.Commitment, got.Version, got.Event, a.Commitment, a.Version, a.Event)
			}
		}
	}
	live := crashSnapshot(t, h, admin)
	resend()
	l.stopCleanly(60 * time.Second)

	// The views: restarted from the checkpoint, then after a rebuild.
	l.start()
	l.waitReady(60 * time.Second)
	restarted := crashSnapshot(t, h, admin)
	if m := regexp.MustCompile(`ledger_projection_restored_sequence\{projection="commitments"\} (\d+)`).FindStringSubmatch(h.get(t, admin, "/metrics")); m == nil || m[1] == "0" {
		t.Errorf("the restart did not start from a checkpoint: %v", m)
	}
	resend()
	l.stopCleanly(60 * time.Second)
	if out, err := exec.Command(bin, "rebuild", "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("ledger rebuild: %v\n%s", err, out)
	}
	l.start()
	l.waitReady(60 * time.Second)
	rebuilt := crashSnapshot(t, h, admin)
	resend()
	l.stopCleanly(60 * time.Second)

	stream := readStream(t, data)
	checkAcks(t, acks, stream)
	checkViews(t, acks, live)
	for _, s := range []struct {
		name string
		got  map[string]string
	}{{"after a restart from the checkpoint", restarted}, {"after ledger rebuild", rebuilt}} {
		for path, want := range live {
			if got := s.got[path]; got != want {
				t.Errorf("GET %s %s differs from the live ledger's:\n%s", path, s.name, firstDiff(want, got))
			}
		}
	}

	out, err := exec.Command(bin, "audit", "verify", "--data", data).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok: every event") {
		t.Errorf("ledger audit verify: %v\n%s", err, out)
	}

	after := slices.Sorted(slices.Values(l.readyAfterKill))
	t.Logf("kills %d (%d while starting, %d while stopping cleanly); acknowledged appends %d (%d in the stream); retries %d (%d answers 5xx/429); time to ready after a kill: min %s, median %s, max %s (%d measured)",
		l.kills, duringStart, duringStop, len(acks), len(stream.events), h.retries.Load(), h.busy.Load(),
		after[0].Round(time.Millisecond), after[len(after)/2].Round(time.Millisecond), after[len(after)-1].Round(time.Millisecond), len(after))
	t.Logf("retried requests whose first attempt was stored before the kill (answered from it): %d", replayed(acks, stream))
	l.logSummary()
}

// replayed counts the retried requests whose event was recorded before
// their first attempt failed: the ledger answered the retry from it.
func replayed(acks []crashAck, s crashStream) int {
	at := map[string]time.Time{}
	for _, ev := range s.events {
		at[ev.IdempotencyKey] = ev.RecordedAt
	}
	n := 0
	for _, a := range acks {
		if !a.FailedAt.IsZero() && at[a.Key].Before(a.FailedAt) {
			n++
		}
	}
	return n
}

// ledgerProc is the ledger binary serving on one folder and address,
// started again after every kill.
type ledgerProc struct {
	t              *testing.T
	bin, data      string
	logs, addr     string
	gen, kills     int
	killed         bool            // the last ledger was ended by SIGKILL
	readyAfterKill []time.Duration // from the start after a kill to ready
	cmd            *exec.Cmd
	started        time.Time
	exited         chan struct{}
	state          *os.ProcessState
}

func (l *ledgerProc) logFile() string {
	return filepath.Join(l.logs, fmt.Sprintf("serve-%03d.log", l.gen))
}

func (l *ledgerProc) start() {
	l.t.Helper()
	l.gen++
	out, err := os.Create(l.logFile())
	if err != nil {
		l.t.Fatal(err)
	}
	cmd := exec.Command(l.bin, "serve", "--data", l.data, "--http", l.addr,
		"--rate", "1000000", "--burst", "1000000", "--seal-every", "25", "--max-conns-per-addr", "0")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		l.t.Fatalf("start ledger: %v", err)
	}
	exited := make(chan struct{})
	l.cmd, l.started, l.exited, l.state = cmd, time.Now(), exited, nil
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(exited)
	}()
}

// waitReady polls /readyz until it answers 200, and notes how long the
// ledger took from its start when it was started after a kill.
func (l *ledgerProc) waitReady(timeout time.Duration) {
	l.t.Helper()
	c := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case <-l.exited:
			l.t.Fatalf("the ledger stopped before it was ready: %v\n%s", l.cmd.ProcessState, l.tail())
		default:
		}
		res, err := c.Get("http://" + l.addr + "/readyz")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			if l.killed {
				l.readyAfterKill = append(l.readyAfterKill, time.Since(l.started))
				l.killed = false
			}
			return
		}
		if bytes.Contains(b, []byte("damage")) {
			l.t.Fatalf("the ledger's data is damaged: %s\n%s", b, l.tail())
		}
	}
	l.t.Fatalf("the ledger was not ready within %s\n%s", timeout, l.tail())
}

func (l *ledgerProc) signal(sig os.Signal) {
	l.t.Helper()
	if err := l.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		l.t.Fatalf("signal %v: %v", sig, err)
	}
}

// kill sends SIGKILL and waits for the process to end. It reports whether
// the kill ended it: a ledger asked to stop may have stopped already, but
// one that ended by itself otherwise is a failure.
func (l *ledgerProc) kill() bool {
	l.t.Helper()
	select {
	case <-l.exited:
		if st := l.cmd.ProcessState; st.Success() {
			return false
		}
		l.t.Fatalf("the ledger ended by itself: %v\n%s", l.cmd.ProcessState, l.tail())
	default:
	}
	l.signal(syscall.SIGKILL)
	<-l.exited
	ws, ok := l.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		if l.cmd.ProcessState.Success() {
			return false // it had stopped cleanly just before
		}
		l.t.Fatalf("the ledger ended by itself: %v\n%s", l.cmd.ProcessState, l.tail())
	}
	l.kills++
	l.killed = true
	return true
}

// stopCleanly sends SIGTERM and requires a clean exit.
func (l *ledgerProc) stopCleanly(timeout time.Duration) {
	l.t.Helper()
	l.signal(syscall.SIGTERM)
	select {
	case <-l.exited:
	case <-time.After(timeout):
		l.t.Fatalf("the ledger did not stop within %s\n%s", timeout, l.tail())
	}
	if !l.cmd.ProcessState.Success() {
		l.t.Fatalf("the ledger's clean stop failed: %v\n%s", l.cmd.ProcessState, l.tail())
	}
}

// abandon kills a ledger left running by a failed test.
func (l *ledgerProc) abandon() {
	if l.cmd == nil {
		return
	}
	select {
	case <-l.exited:
	default:
		_ = l.cmd.Process.Kill()
		<-l.exited
	}
}

// logSummary logs how the ledgers' projections started, and every warning
// and error they logged, counted.
func (l *ledgerProc) logSummary() {
	l.t.Helper()
	msg := regexp.MustCompile(`level=(WARN|ERROR) msg=("(?:[^"\\]|\\.)*"|\S+)`)
	count := map[string]int{}
	restored, rebuilt := 0, 0
	for gen := 1; gen <= l.gen; gen++ {
		b, _ := os.ReadFile(filepath.Join(l.logs, fmt.Sprintf("serve-%03d.log", gen)))
		restored += bytes.Count(b, []byte(`msg="projection restored from checkpoint"`))
		rebuilt += bytes.Count(b, []byte(`msg="no checkpoint: projection rebuilds from event one"`))
		for _, m := range msg.FindAllSubmatch(b, -1) {
			count[string(m[1])+" "+string(m[2])]++
		}
	}
	l.t.Logf("%d starts: the projection restored a checkpoint in %d, found none in %d", l.gen, restored, rebuilt)
	for _, m := range slices.Sorted(maps.Keys(count)) {
		l.t.Logf("the ledgers logged %d× %s", count[m], m)
	}
}

// tail is the end of the current ledger's log.
func (l *ledgerProc) tail() string {
	b, _ := os.ReadFile(l.logFile())
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return fmt.Sprintf("--- %s:\n%s", l.logFile(), b)
}

// crashHarness is what the writers share: the ledger's address, the client,
// the log of acknowledged appends, and the counts.
type crashHarness struct {
	base    string
	client  *http.Client
	mu      sync.Mutex
	log     *os.File
	pool    []string // commitments made so far, for the supervisor
	retries atomic.Int64
	busy    atomic.Int64
}

// crashAck is one acknowledged append, as the log file keeps it.
type crashAck struct {
	Writer     string `json:"writer"`
	Token      string `json:"token"` // county code, or "supervisor"
	Op         string `json:"op"`    // make, fulfil or order
	Key        string `json:"key"`
	Path       string `json:"path"`
	Body       string `json:"body"`
	Commitment string `json:"commitment"`
	Event      string `json:"event,omitempty"` // the fulfilment's or the order's id: its event's
	Version    int    `json:"version"`         // the commitment's version right after the event
	Quantity   int    `json:"quantity,omitempty"`
	Attempts   int    `json:"attempts"`
	// FailedAt is when the first attempt failed, for a retried request.
	FailedAt time.Time `json:"failed_at,omitzero"`
}

func (h *crashHarness) record(a crashAck) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if a.Op == "make" {
		h.pool = append(h.pool, a.Commitment)
	}
	_, err = h.log.Write(append(b, '\n'))
	return err
}

func (h *crashHarness) pick(rng *rand.Rand) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.pool) == 0 {
		return ""
	}
	return h.pool[rng.IntN(len(h.pool))]
}

// post sends one request until it gets an answer: a connection refused or
// reset, a timeout, 429 or 503 (not damaged) is sent again, with the same
// idempotency key, until the ledger answers or ctx ends.
func (h *crashHarness) post(ctx context.Context, token, path, body, key string) (status int, answer []byte, attempts int, failedAt time.Time, err error) {
	fail := func() {
		if failedAt.IsZero() {
			failedAt = time.Now()
		}
	}
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		attempts++
		if attempts > 1 {
			h.retries.Add(1)
			select {
			case <-ctx.Done():
				return 0, nil, attempts, failedAt, ctx.Err()
			case <-time.After(wait):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.base+path, strings.NewReader(body))
		if err != nil {
			return 0, nil, attempts, failedAt, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		res, err := h.client.Do(req)
		if err != nil {
			fail()
			continue // the ledger is down, or died while answering
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			fail()
			continue
		}
		switch {
		case res.StatusCode == http.StatusServiceUnavailable && bytes.Contains(b, []byte(`"damaged"`)):
			return res.StatusCode, b, attempts, failedAt, nil
		case res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable:
			h.busy.Add(1)
			fail()
			continue
		}
		return res.StatusCode, b, attempts, failedAt, nil
	}
}

func (h *crashHarness) get(t *testing.T, token, path string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := h.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v %s", path, res.StatusCode, err, b)
	}
	return string(b)
}

// crashWriter appends through the API, one request at a time, each
// acknowledged before the next: a county office makes commitments and
// records fulfilments of its own; the supervisor issues orders on anyone's,
// racing the offices on the same commitments.
type crashWriter struct {
	h      *crashHarness
	name   string
	county string // "" for the supervisor
	token  string
	rng    *rand.Rand
	seed   uint64
	ops    int
	mine   []*owned
}

type owned struct {
	id          string
	outstanding int
}

func (w *crashWriter) run(ctx context.Context, stop <-chan struct{}, t *testing.T) {
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		if err := w.step(ctx); err != nil {
			if ctx.Err() == nil {
				t.Errorf("writer %s: %v", w.name, err)
			}
			return
		}
	}
}

func (w *crashWriter) step(ctx context.Context) error {
	w.ops++
	a := crashAck{Writer: w.name, Token: w.county, Key: fmt.Sprintf("crash-%d-%s-%d", w.seed, w.name, w.ops)}
	var target *owned
	switch {
	case w.county == "":
		id := w.h.pick(w.rng)
		if id == "" {
			time.Sleep(20 * time.Millisecond)
			return nil
		}
		a.Token, a.Op, a.Commitment = "supervisor", "order", id
		a.Path = "/api/v1/commitments/" + id + "/supervision-orders"
		deadline := time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, 90).Format(time.DateOnly)
		a.Body = fmt.Sprintf(`{"deadline": %q, "note": "崩溃测试督办 %s"}`, deadline, a.Key)
	default:
		if len(w.mine) > 0 && w.rng.IntN(10) >= 3 {
			target = w.mine[max(0, len(w.mine)-20)+w.rng.IntN(min(len(w.mine), 20))]
			if a.Quantity = 1 + w.rng.IntN(3); target.outstanding < a.Quantity {
				target = nil
			}
		}
		if target == nil {
			a.Op, a.Quantity, a.Path = "make", 0, "/api/v1/commitments"
			due := "2030-12-31"
			if w.rng.IntN(2) == 0 {
				due = "2021-06-30" // overdue: the alert engine has work too
			}
			a.Body = fmt.Sprintf(`{"county": %q, "department": "招商合作局", "project": "崩溃测试项目 %s",
				"investor": {"name": "楚雄某某硅材料有限公司", "credit_code": "91350100M000100Y43"},
				"kind": "land", "description": "保障项目用地", "quantity": {"value": "%d", "unit": "mu"},
				"made_on": "2020-03-15", "due": %q, "reference": %q}`, w.county, a.Key, crashQuantity, due, a.Key)
		} else {
			a.Op, a.Commitment = "fulfil", target.id
			a.Path = "/api/v1/commitments/" + target.id + "/fulfillments"
			a.Body = fmt.Sprintf(`{"quantity": {"value": "%d", "unit": "mu"}, "fulfilled_on": "2020-10-01", "evidence": %q}`, a.Quantity, a.Key)
		}
	}
	status, b, attempts, failedAt, err := w.h.post(ctx, w.token, a.Path, a.Body, a.Key)
	if err != nil {
		return err
	}
	if status != http.StatusCreated {
		return fmt.Errorf("%s %s (key %s, attempt %d): %d %s", a.Op, a.Path, a.Key, attempts, status, b)
	}
	got, err := parseAck(a.Op, b)
	if err != nil {
		return fmt.Errorf("%s (key %s): %w: %s", a.Op, a.Key, err, b)
	}
	if a.Commitment != "" && got.Commitment != a.Commitment {
		return fmt.Errorf("%s on %s (key %s) answered commitment %s", a.Op, a.Commitment, a.Key, got.Commitment)
	}
	a.Commitment, a.Event, a.Version, a.Attempts, a.FailedAt = got.Commitment, got.Event, got.Version, attempts, failedAt
	switch a.Op {
	case "make":
		w.mine = append(w.mine, &owned{id: a.Commitment, outstanding: crashQuantity})
	case "fulfil":
		target.outstanding -= a.Quantity
	}
	return w.h.record(a)
}

// parseAck reads what an answer says about the event just appended: the
// commitment, its version after the event, and the id of a new fulfilment
// or order (the last of its list: the answer shows the commitment as the
// event left it).
func parseAck(op string, b []byte) (crashAck, error) {
	var c struct {
		ID           string `json:"id"`
		Version      int    `json:"version"`
		Fulfillments []struct {
			ID string `json:"id"`
		} `json:"fulfillments"`
		Orders []struct {
			ID string `json:"id"`
		} `json:"supervision_orders"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return crashAck{}, err
	}
	a := crashAck{Commitment: c.ID, Version: c.Version}
	switch {
	case op == "fulfil" && len(c.Fulfillments) > 0:
		a.Event = c.Fulfillments[len(c.Fulfillments)-1].ID
	case op == "order" && len(c.Orders) > 0:
		a.Event = c.Orders[len(c.Orders)-1].ID
	case op != "make":
		return a, errors.New("the answer lists no " + op)
	}
	if a.Commitment == "" || a.Version < 1 {
		return a, errors.New("the answer names no commitment or version")
	}
	return a, nil
}

func ackOf(t *testing.T, op string, b []byte) crashAck {
	t.Helper()
	a, err := parseAck(op, b)
	if err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return a
}

func readAcks(t *testing.T, path string) []crashAck {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var acks []crashAck
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var a crashAck
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("ack log: %v", err)
		}
		acks = append(acks, a)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return acks
}

// crashStream is the ledger's stream as read directly from the folder.
type crashStream struct {
	events []events.Event // every event, in stream order (seals left out)
	last   uint64
}

// readStream opens the stopped ledger's folder with an embedded server of
// its own and reads every message of the stream.
func readStream(t *testing.T, data string) crashStream {
	t.Helper()
	emb, err := jsstore.StartEmbedded(jsstore.EmbeddedConfig{Dir: data, SyncAlways: true})
	if err != nil {
		t.Fatalf("open the folder: %v", err)
	}
	defer emb.Shutdown()
	nc, err := emb.Connect("crash test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := jsstore.Attach(ctx, nc, jsstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CheckDense(ctx); err != nil {
		t.Fatalf("the stream: %v", err)
	}
	var s crashStream
	if s.last, err = st.LastSequence(ctx); err != nil {
		t.Fatal(err)
	}
	done := errors.New("read to the end")
	next := uint64(1)
	err = st.Follow(ctx, 0, func(ev events.Event) error {
		if ev.Sequence != next {
			return fmt.Errorf("sequence %d after %d", ev.Sequence, next-1)
		}
		next++
		if ev.Type != "" {
			s.events = append(s.events, ev)
		}
		if ev.Sequence >= s.last {
			return done
		}
		return nil
	})
	if s.last > 0 && !errors.Is(err, done) {
		t.Fatalf("reading the stream: %v", err)
	}
	return s
}

// checkAcks requires every acknowledged append in the stream exactly once,
// as its answer described it, and nothing in the stream that was not
// acknowledged (every request was retried until it was).
func checkAcks(t *testing.T, acks []crashAck, s crashStream) {
	t.Helper()
	byKey := map[string][]events.Event{}
	ids := map[string]bool{}
	position := map[uint64]int{} // sequence → the event's place in its commitment's history
	count := map[string]int{}
	for _, ev := range s.events {
		if ids[ev.ID] {
			t.Errorf("event id %s appears twice in the stream", ev.ID)
		}
		ids[ev.ID] = true
		count[ev.CommitmentID]++
		position[ev.Sequence] = count[ev.CommitmentID]
		if ev.IdempotencyKey == "" {
			t.Errorf("event %s at sequence %d (%s) has no idempotency key: no writer sent it", ev.ID, ev.Sequence, ev.Type)
			continue
		}
		byKey[ev.IdempotencyKey] = append(byKey[ev.IdempotencyKey], ev)
	}
	acked := map[string]bool{}
	wantType := map[string]events.Type{"make": events.CommitmentMadeType, "fulfil": events.FulfillmentRecordedType, "order": events.SupervisionOrderedType}
	for _, a := range acks {
		if acked[a.Key] {
			t.Errorf("key %s acknowledged twice in the log", a.Key)
		}
		acked[a.Key] = true
		evs := byKey[a.Key]
		switch {
		case len(evs) == 0:
			t.Errorf("LOST: acknowledged %s %s (key %s, commitment %s version %d) is not in the stream", a.Op, a.Event, a.Key, a.Commitment, a.Version)
			continue
		case len(evs) > 1:
			t.Errorf("DOUBLE: key %s appended %d times, at sequences %v", a.Key, len(evs), seqs(evs))
		}
		ev := evs[0]
		if ev.CommitmentID != a.Commitment || ev.Type != wantType[a.Op] || (a.Event != "" && ev.ID != a.Event) || position[ev.Sequence] != a.Version {
			t.Errorf("key %s: acknowledged as %s of commitment %s, event %s, version %d; the stream holds %s of %s, event %s, the commitment's event number %d (sequence %d)",
				a.Key, a.Op, a.Commitment, a.Event, a.Version, ev.Type, ev.CommitmentID, ev.ID, position[ev.Sequence], ev.Sequence)
		}
	}
	for key, evs := range byKey {
		if !acked[key] {
			t.Errorf("key %s is in the stream (sequences %v) but was never acknowledged", key, seqs(evs))
		}
	}
}

func seqs(evs []events.Event) []uint64 {
	var out []uint64
	for _, e := range evs {
		out = append(out, e.Sequence)
	}
	return out
}

// crashSnapshot is what the views answer: every county, each county
// written in, and every commitment, less the instants of the answers.
func crashSnapshot(t *testing.T, h *crashHarness, token string) map[string]string {
	t.Helper()
	asOf := regexp.MustCompile(`"as_of":"[^"]*"`)
	snap := map[string]string{}
	paths := []string{"/api/v1/counties"}
	for _, c := range crashCounties {
		paths = append(paths, "/api/v1/counties/"+c)
	}
	for _, p := range paths {
		snap[p] = asOf.ReplaceAllString(h.get(t, token, p), "")
	}
	for cursor, page := "", 1; ; page++ {
		p := "/api/v1/commitments?limit=500"
		if cursor != "" {
			p += "&cursor=" + cursor
		}
		b := h.get(t, token, p)
		snap[fmt.Sprintf("/api/v1/commitments (page %d)", page)] = asOf.ReplaceAllString(b, "")
		var next struct {
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal([]byte(b), &next); err != nil {
			t.Fatal(err)
		}
		if cursor = next.NextCursor; cursor == "" {
			return snap
		}
	}
}

// checkViews requires the live views to show what was acknowledged: every
// commitment made, at the version its events make, with what its
// fulfilments add up to and the orders issued on it.
func checkViews(t *testing.T, acks []crashAck, snap map[string]string) {
	t.Helper()
	type want struct {
		version, fulfilled, orders int
	}
	wants := map[string]*want{}
	for _, a := range acks {
		w := wants[a.Commitment]
		if w == nil {
			w = &want{}
			wants[a.Commitment] = w
		}
		w.version++
		switch a.Op {
		case "fulfil":
			w.fulfilled += a.Quantity
		case "order":
			w.orders++
		}
	}
	seen := 0
	for path, b := range snap {
		if !strings.HasPrefix(path, "/api/v1/commitments") {
			continue
		}
		var page struct {
			Items []struct {
				ID        string `json:"id"`
				Version   int    `json:"version"`
				Fulfilled struct {
					Value string `json:"value"`
				} `json:"fulfilled"`
				Orders []json.RawMessage `json:"supervision_orders"`
			} `json:"items"`
		}
		if err := json.Unmarshal([]byte(b), &page); err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Items {
			seen++
			w := wants[c.ID]
			if w == nil {
				t.Errorf("commitment %s is in the views but was never acknowledged", c.ID)
				continue
			}
			f, ok := new(big.Rat).SetString(c.Fulfilled.Value)
			if !ok || c.Version != w.version || f.Cmp(big.NewRat(int64(w.fulfilled), 1)) != 0 || len(c.Orders) != w.orders {
				t.Errorf("commitment %s: version %d, fulfilled %s mu, %d orders; acknowledged: version %d, %d mu, %d orders",
					c.ID, c.Version, c.Fulfilled.Value, len(c.Orders), w.version, w.fulfilled, w.orders)
			}
		}
	}
	if seen != len(wants) {
		t.Errorf("the views list %d commitments, %d were acknowledged", seen, len(wants))
	}
}

func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return fmt.Sprintf("from byte %d:\nwant %.300s\ngot  %.300s", i, a[max(i-100, 0):], b[max(i-100, 0):])
}

// buildLedger builds the real binary, with the go command that runs the test.
func buildLedger(t *testing.T, dir string) string {
	t.Helper()
	goCmd, err := exec.LookPath("go") // go test puts its own GOROOT/bin first on PATH
	if err != nil {
		t.Skip("no go command on PATH to build the ledger with")
	}
	bin := filepath.Join(dir, "ledger")
	start := time.Now()
	if out, err := exec.Command(goCmd, "build", "-o", bin, "promiseledger/cmd/ledger").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built %s in %s", bin, time.Since(start).Round(time.Millisecond))
	return bin
}

// freeAddr is a loopback address free now, for every start of the ledger.
// Its port is below every system's ephemeral range (Linux 32768–60999,
// BSD and macOS 49152–65535), so that no outgoing connection takes it
// while the ledger is down between a kill and its restart.
func freeAddr(t *testing.T) string {
	t.Helper()
	for range 100 {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000)))
		if err != nil {
			continue
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	t.Fatal("no free port between 20000 and 32000")
	return ""
}

func crashEnvInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}

func exitStderr(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}
