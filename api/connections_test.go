package api_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"promiseledger/api"
	"promiseledger/audit"
	"promiseledger/internal/connlimit"
)

// syncBuffer is a log the server writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// shortTimeouts are far shorter than the pauses of the tests that use them.
var shortTimeouts = api.Timeouts{ReadHeader: 300 * time.Millisecond, Read: 300 * time.Millisecond, Write: 300 * time.Millisecond, Idle: 300 * time.Millisecond}

// closedByServer reports whether the server closes c before the test's
// generous deadline; it reads and discards what comes first.
func closedByServer(t *testing.T, c net.Conn) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

func TestTimeouts_IdleConnectionsAreClosed(t *testing.T) {
	h := newHarnessSetup(t, setup{api: func(c *api.Config) { c.Timeouts = shortTimeouts }})
	addr := strings.TrimPrefix(h.url, "http://")

	// A connection that never sends a request.
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	// One that sends half a request's headers.
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := io.WriteString(slow, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	// One kept alive after a request, and left idle.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if _, err := io.WriteString(idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil || res.StatusCode != 200 || res.Close {
		t.Fatalf("a kept-alive request: %v %v", res, err)
	}

	for name, c := range map[string]net.Conn{"silent": silent, "half a header": slow, "idle after a request": idle} {
		if !closedByServer(t, c) {
			t.Errorf("the %s connection was held open", name)
		}
	}
}

func TestTimeouts_EventStreamOutlastsThem(t *testing.T) {
	h := newHarnessSetup(t, setup{api: func(c *api.Config) { c.Timeouts.Read, c.Timeouts.Write = shortTimeouts.Read, shortTimeouts.Write }})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.url+"/api/v1/alerts/stream", nil)
	req.Header.Set("Authorization", "Bearer "+h.auth)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	lines := bufio.NewScanner(res.Body)
	if !lines.Scan() || lines.Text() != "retry: 3000" {
		t.Fatalf("stream began with %q", lines.Text())
	}

	// Well past both timeouts, an alert is raised: an overdue promise.
	time.Sleep(4 * shortTimeouts.Write)
	h.must(201, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31"))
	for lines.Scan() {
		if lines.Text() == "event: alert" {
			return
		}
	}
	t.Fatalf("the stream ended before the alert: %v", lines.Err())
}

// slowRecords reads the real stream, pausing before each message, so that
// an answer built from it lasts longer than the timeouts under test.
type slowRecords struct {
	records api.Records
	pause   time.Duration
}

func (s slowRecords) Records(ctx context.Context, fn func(audit.Record) error) error {
	return s.records.Records(ctx, func(r audit.Record) error {
		time.Sleep(s.pause)
		return fn(r)
	})
}

func TestTimeouts_ExportAndVerifyOutlastThem(t *testing.T) {
	h := newHarnessSetup(t, setup{api: func(c *api.Config) {
		c.Timeouts.Read, c.Timeouts.Write = shortTimeouts.Read, shortTimeouts.Write
		c.Records = slowRecords{records: c.Records, pause: shortTimeouts.Write / 2}
	}})
	for i := 0; i < 8; i++ { // 8 events: 4 times the timeouts to read
		h.must(201, "POST", "/api/v1/commitments", commitment("532301", "subsidy", "100", "CNY", "2025-01-01", "2026-01-01"))
	}
	auditor := h.as("auditor")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.url+"/api/v1/audit/export", nil)
	req.Header.Set("Authorization", "Bearer "+auditor.auth)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("export: %d %v, after %d bytes", res.StatusCode, err, len(body))
	}
	if n := strings.Count(string(body), "\n"); n != 8 {
		t.Fatalf("export: %d lines, want 8", n)
	}
	if r := auditor.must(200, "GET", "/api/v1/audit/verify", nil); r.body["ok"] != true {
		t.Fatalf("verify: %s", r.raw)
	}
}

// TestConnections_IdleFloodFromOneAddress: one address opening far more idle
// connections than it may hold gets its cap, the rest refused at once with a
// 503, in one log line; everyone else is still answered.
func TestConnections_IdleFloodFromOneAddress(t *testing.T) {
	const flood, perAddr = 300, 50
	log := &syncBuffer{}
	h := newHarnessSetup(t, setup{conns: &connlimit.Config{Max: 1000, MaxPerAddr: perAddr, Refusal: connlimit.HTTPRefusal,
		Log: slog.New(slog.NewTextHandler(log, nil))}})
	addr := strings.TrimPrefix(h.url, "http://")

	// 127.0.0.0/8 is all loopback: the flood comes from 127.0.0.2, the
	// test's own requests from 127.0.0.1.
	attacker := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 5 * time.Second}
	conns := make([]net.Conn, 0, flood)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for i := 0; i < flood; i++ {
		c, err := attacker.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	waitFor(t, func() bool { return h.conns.Stats().RefusedPerAddr == flood-perAddr })

	// Another client is answered.
	h.must(200, "GET", "/api/v1/counties", nil)

	// The flood holds its cap; the rest were told 503 and closed. (Read
	// all at once: once its deadline has passed, a read does not even look.)
	type read struct {
		b   []byte
		err error
	}
	reads := make(chan read, flood)
	deadline := time.Now().Add(time.Second)
	for _, c := range conns {
		go func() {
			_ = c.SetReadDeadline(deadline)
			b, err := io.ReadAll(c)
			reads <- read{b, err}
		}()
	}
	var refused, open int
	for range conns {
		r := <-reads
		var ne net.Error
		switch {
		case errors.As(r.err, &ne) && ne.Timeout() && len(r.b) == 0:
			open++
		case r.err == nil && strings.HasPrefix(string(r.b), "HTTP/1.1 503 "):
			refused++
		default:
			t.Fatalf("an attacking connection read %q, %v", r.b, r.err)
		}
	}
	if open != perAddr || refused != flood-perAddr {
		t.Fatalf("%d held open and %d refused, want %d and %d", open, refused, perAddr, flood-perAddr)
	}
	if n := strings.Count(log.String(), "connection refused"); n != 1 || !strings.Contains(log.String(), "addr=127.0.0.2") {
		t.Fatalf("%d log lines for %d refusals, want 1 naming the address:\n%s", n, flood-perAddr, log.String())
	}
	m := h.as("auditor").must(200, "GET", "/metrics", nil)
	if want := fmt.Sprintf(`ledger_http_connections_refused_total{reason="per_address"} %d`, flood-perAddr); !strings.Contains(string(m.raw), want) {
		t.Fatalf("/metrics lacks %s:\n%s", want, grep(string(m.raw), "connections"))
	}

	// Once the flood stops, the address is served again.
	for _, c := range conns {
		_ = c.Close()
	}
	waitFor(t, func() bool { return h.conns.Stats().Open <= 1 }) // the test's own kept-alive connection
	client := &http.Client{Transport: &http.Transport{DialContext: attacker.DialContext}}
	defer client.CloseIdleConnections()
	res, err := client.Get(h.url + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("from 127.0.0.2 after the flood: %v %v", res, err)
	}
	res.Body.Close()
}
