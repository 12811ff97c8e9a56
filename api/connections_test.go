package api_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"promiseledger/api"
	"promiseledger/audit"
)

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
