package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// demoSupervisor is the demo data set's well-known supervisor token.
const demoSupervisor = "pl_demo-supervisor_demo"

// start runs `ledger serve` in-process and returns its URL and a stop
// function that shuts it down and returns run's error.
func start(t testing.TB, args ...string) (string, func() error) {
	t.Helper()
	url, _, stop := startOutput(t, args...)
	return url, stop
}

// startOutput is start, also returning what serve prints.
func startOutput(t testing.TB, args ...string) (string, *syncBuffer, func() error) {
	t.Helper()
	url, stdout, _, stop := launch(t, append([]string{"--rate", "100000", "--burst", "100000"}, args...)...)
	waitHTTPReady(t, url)
	return url, stdout, stop
}

// launch runs `ledger serve` in-process and returns once it listens, ready
// or not, with what it prints and a stop function that returns run's error.
func launch(t testing.TB, args ...string) (url string, stdout, stderr *syncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	url, done, err := serveInProcess(ctx, append([]string{"--http", "127.0.0.1:0"}, args...), func(string) string { return "" }, stdout, stderr)
	if err != nil {
		cancel()
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	return url, stdout, stderr, func() error { cancel(); return <-done }
}

func waitHTTPReady(t testing.TB, url string) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if res, err := http.Get(url + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("never ready")
}

// call sends a request with the demo supervisor's token.
func call(t testing.TB, method, url, body string) (int, []byte) {
	t.Helper()
	return callAs(t, demoSupervisor, method, url, body)
}

// callAs sends a request with token and returns the status and the body.
func callAs(t testing.TB, token, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// snapshot is everything the API shows of the ledger, less the instant of
// the answer itself.
func snapshot(t *testing.T, url string) string {
	t.Helper()
	var parts []string
	for _, path := range []string{"/api/v1/commitments?limit=500", "/api/v1/counties/532301", "/readyz"} {
		status, b := call(t, "GET", url+path, "")
		if status != 200 {
			t.Fatalf("GET %s: %d %s", path, status, b)
		}
		// The instant of the answer is not the ledger's state.
		b = regexp.MustCompile(`"as_of":"[^"]*"`).ReplaceAll(b, nil)
		parts = append(parts, string(b))
	}
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(parts[0]), &page); err != nil {
		t.Fatal(err)
	}
	for _, it := range page.Items {
		status, b := call(t, "GET", url+"/api/v1/commitments/"+it.ID+"/history", "")
		if status != 200 {
			t.Fatalf("history: %d %s", status, b)
		}
		parts = append(parts, string(b))
	}
	return strings.Join(parts, "\n")
}

func TestRun_ServeStopStartSameState(t *testing.T) {
	dir := t.TempDir()
	url, stop := start(t, "--data", dir, "--demo")

	status, b := call(t, "POST", url+"/api/v1/commitments", `{
		"county": "532301", "department": "楚雄市自然资源局", "project": "年产10GW单晶硅棒项目",
		"investor": {"name": "楚雄某某硅材料有限公司", "credit_code": "91350100M000100Y43"},
		"kind": "land", "description": "保障项目用地300亩", "quantity": {"value": "300", "unit": "mu"},
		"made_on": "2020-03-15", "due": "2020-12-31", "reference": "楚投促协〔2020〕17号"}`)
	if status != 201 {
		t.Fatalf("make: %d %s", status, b)
	}
	var c struct{ ID string }
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	status, b = call(t, "POST", url+"/api/v1/commitments/"+c.ID+"/fulfillments",
		`{"quantity": {"value": "120", "unit": "mu"}, "fulfilled_on": "2020-10-01", "evidence": "土地出让合同 CX2020-33"}`)
	if status != 201 || !strings.Contains(string(b), `"status":"partially_fulfilled"`) {
		t.Fatalf("fulfil: %d %s", status, b)
	}
	before := snapshot(t, url)
	if list, _, _ := strings.Cut(before, "\n"); strings.Count(list, `"investor":`) != 51 {
		t.Fatalf("want the 50 demo commitments and ours: %.300s", before)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	// Again on the same folder, loading the demo again: identical state.
	url, stop = start(t, "--data", dir, "--demo")
	after := snapshot(t, url)
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if before != after {
		i := 0
		for i < len(before) && i < len(after) && before[i] == after[i] {
			i++
		}
		t.Fatalf("state changed across a restart, from byte %d:\nbefore %.300s\nafter  %.300s", i, before[max(i-200, 0):], after[max(i-200, 0):])
	}
}

func TestRun_Usage(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"ledger"}, func(string) string { return "" }, &out, &errOut); err == nil {
		t.Fatal("no command accepted")
	}
	if err := run(context.Background(), []string{"ledger", "serve", "--sync", "sometimes"}, func(string) string { return "" }, &out, &errOut); err == nil || !strings.Contains(err.Error(), "--sync") {
		t.Fatalf("bad --sync: %v", err)
	}
	if err := run(context.Background(), []string{"ledger", "help"}, func(string) string { return "" }, &out, &errOut); err != nil || !strings.Contains(out.String(), "ledger serve") {
		t.Fatalf("help: %v", err)
	}
}

func TestRun_RebuildThenRestartFromItsCheckpoint(t *testing.T) {
	dir := t.TempDir()
	url, stop := start(t, "--data", dir, "--demo")
	before := snapshot(t, url)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"ledger", "rebuild", "--data", dir}, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("rebuild: %v\n%s", err, errOut.String())
	}
	if !regexp.MustCompile(`^rebuilt commitments: \d+ events, 50 commitments in .*; checkpoint saved at sequence \d+\n$`).MatchString(out.String()) {
		t.Fatalf("rebuild said %q", out.String())
	}
	if !strings.Contains(errOut.String(), "msg=rebuilding") {
		t.Fatalf("no progress lines when not on a terminal: %s", errOut.String())
	}
	url, stop = start(t, "--data", dir, "--demo")
	after := snapshot(t, url)
	_, metrics := call(t, "GET", url+"/metrics", "")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Fatal("state changed across rebuild and restart")
	}
	if regexp.MustCompile(`ledger_projection_restored_sequence\{projection="commitments"\} 0\n`).Match(metrics) {
		t.Fatal("the restart did not start from the rebuilt checkpoint")
	}
}

func ledgerCmd(t testing.TB, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"ledger"}, args...), func(string) string { return "" }, &out, &errOut)
	if err != nil {
		return out.String(), fmt.Errorf("%w\n%s", err, errOut.String())
	}
	return out.String(), nil
}

func TestRun_TokenCommands(t *testing.T) {
	dir := t.TempDir()
	out, err := ledgerCmd(t, "token", "add", "--data", dir, "--role", "county", "--county", "532301", "--name", "楚雄市投资促进局", "--expires", "2099-12-31")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^pl_[a-z0-9]+_[A-Za-z0-9]+\n$`).MatchString(out) {
		t.Fatalf("token add printed %q, want only a token", out)
	}
	bearer := strings.TrimSpace(out)
	if _, err := ledgerCmd(t, "token", "add", "--data", dir, "--role", "auditor", "--name", "楚雄市投资促进局"); err == nil {
		t.Fatal("a second token with the same name was added")
	}
	if _, err := ledgerCmd(t, "token", "add", "--data", dir, "--role", "county", "--name", "no county"); err == nil || !strings.Contains(err.Error(), "county") {
		t.Fatalf("county role without --county: %v", err)
	}

	url, stop := start(t, "--data", dir)
	get := func(token string) int {
		req, _ := http.NewRequest("GET", url+"/api/v1/commitments", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := get(bearer); got != 200 {
		t.Fatalf("with the token: %d", got)
	}
	if got := get(""); got != 401 {
		t.Fatalf("without a token: %d", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	list, err := ledgerCmd(t, "token", "list", "--data", dir)
	if err != nil || !strings.Contains(list, "楚雄市投资促进局") || !strings.Contains(list, "active") || strings.Contains(list, bearer) {
		t.Fatalf("list: %v\n%s", err, list)
	}
	if _, err := ledgerCmd(t, "token", "revoke", "--data", dir, "楚雄市投资促进局"); err != nil {
		t.Fatal(err)
	}
	url, stop = start(t, "--data", dir)
	if got := get(bearer); got != 401 {
		t.Fatalf("revoked token: %d", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestRun_TokenRevokeKeepsAnAdmin: `ledger token revoke` refuses to revoke
// the last admin token, as the API does: the registry keeps the rule.
func TestRun_TokenRevokeKeepsAnAdmin(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"admin", "州投促局管理员"} {
		if _, err := ledgerCmd(t, "token", "add", "--data", dir, "--role", "admin", "--name", name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ledgerCmd(t, "token", "revoke", "--data", dir, "admin"); err != nil {
		t.Fatalf("revoking one of two admins: %v", err)
	}
	out, err := ledgerCmd(t, "token", "revoke", "--data", dir, "州投促局管理员")
	if err == nil || !strings.Contains(err.Error(), "last admin") || strings.Contains(out, "revoked") {
		t.Fatalf("revoking the last admin: %v, printed %q", err, out)
	}
	list, err := ledgerCmd(t, "token", "list", "--data", dir)
	if err != nil || !regexp.MustCompile(`州投促局管理员\s+admin\s.*active`).MatchString(list) {
		t.Fatalf("the last admin is not active: %v\n%s", err, list)
	}
}

func TestRun_FirstStartCreatesAnAdminToken(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"ledger", "serve", "--data", dir, "--http", "127.0.0.1:0"}, func(string) string { return "" }, stdout, io.Discard)
	}()
	admin := regexp.MustCompile(`admin token was created.*\n\s+(pl_\S+)\n`)
	for i := 0; i < 3000 && !servingURL.MatchString(stdout.String()); i++ { // up to 30 s
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if admin.FindStringSubmatch(stdout.String()) == nil {
		t.Fatalf("no admin token printed:\n%s", stdout.String())
	}
	// The second start prints none.
	ctx, cancel = context.WithCancel(context.Background())
	stdout2 := &syncBuffer{}
	go func() {
		done <- run(ctx, []string{"ledger", "serve", "--data", dir, "--http", "127.0.0.1:0"}, func(string) string { return "" }, stdout2, io.Discard)
	}()
	for i := 0; i < 3000 && !servingURL.MatchString(stdout2.String()); i++ { // up to 30 s
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout2.String(), "pl_") {
		t.Fatalf("a second start printed a token:\n%s", stdout2.String())
	}
}

func TestRun_AlertsAndReportCommands(t *testing.T) {
	url, stop := start(t, "--data", t.TempDir(), "--demo")
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	// The engine evaluates the demo at start; wait for its first alerts.
	var out string
	for i := 0; i < 2000; i++ {
		var err error
		if out, err = ledgerCmd(t, "alerts", "--url", url, "--token", demoSupervisor); err != nil {
			t.Fatal(err)
		}
		if strings.Count(out, "\n") >= 20 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(out, "逾期 overdue") || !strings.Contains(out, "[发出 raised]") {
		t.Fatalf("alerts:\n%s", out)
	}
	county, err := ledgerCmd(t, "alerts", "--url", url, "--token", "pl_demo-532322_demo")
	if err != nil || strings.Contains(county, "532301") || strings.Contains(county, "escalated") {
		t.Fatalf("a county office's alerts: %v\n%s", err, county)
	}
	report, err := ledgerCmd(t, "report", "overdue", "--url", url, "--token", demoSupervisor, "--format", "csv")
	if err != nil || !strings.HasPrefix(report, "\ufeff县市区代码,县市区,逾期天数") || strings.Count(report, "\n") < 10 {
		t.Fatalf("report: %v\n%s", err, report)
	}
	if _, err := ledgerCmd(t, "alerts", "--url", url, "--token", "pl_nobody_nothing"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a bad token: %v", err)
	}
}

func TestRun_AuditCommands(t *testing.T) {
	dir := t.TempDir()
	url, stop := start(t, "--data", dir, "--demo", "--seal-every", "1")
	_, b := call(t, "GET", url+"/api/v1/commitments?limit=1", "")
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	_ = json.Unmarshal(b, &page)
	_, hb := call(t, "GET", url+"/api/v1/commitments/"+page.Items[0].ID+"/history", "")
	var hist struct {
		Events []struct {
			ID string `json:"id"`
		} `json:"events"`
	}
	_ = json.Unmarshal(hb, &hist)
	var status int
	var proof []byte
	for i := 0; i < 600; i++ { // the sealer seals within a second or two
		if status, proof = call(t, "GET", url+"/api/v1/commitments/"+page.Items[0].ID+"/proof?event="+hist.Events[0].ID, ""); status == 200 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status != 200 {
		t.Fatalf("proof: %d %s", status, proof)
	}
	proofFile := dir + "/proof.json"
	if err := os.WriteFile(proofFile, proof, 0o600); err != nil {
		t.Fatal(err)
	}
	export, err := ledgerCmd(t, "audit", "export", "--url", url, "--token", demoSupervisor)
	if err != nil {
		t.Fatal(err)
	}
	exportFile := dir + "/export.jsonl"
	if err := os.WriteFile(exportFile, []byte(export), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil { // seals what is left
		t.Fatal(err)
	}

	pub, err := ledgerCmd(t, "audit", "pubkey", "--data", dir)
	if err != nil || len(strings.TrimSpace(pub)) != 44 {
		t.Fatalf("pubkey %q: %v", pub, err)
	}
	pub = strings.TrimSpace(pub)
	out, err := ledgerCmd(t, "audit", "check-proof", proofFile, "--pubkey", pub)
	if err != nil || !strings.HasPrefix(out, "ok: event "+hist.Events[0].ID) {
		t.Fatalf("check-proof: %v\n%s", err, out)
	}
	out, err = ledgerCmd(t, "audit", "verify", "--data", dir)
	if err != nil || !strings.Contains(out, "ok: every event") || !strings.Contains(out, " 0 events after the last seal") {
		t.Fatalf("verify the stopped ledger: %v\n%s", err, out)
	}
	out, err = ledgerCmd(t, "audit", "verify", "--file", exportFile, "--pubkey", pub)
	if err != nil || !strings.Contains(out, "ok: every event") {
		t.Fatalf("verify the export: %v\n%s", err, out)
	}
	// A changed export fails, and says where.
	tampered := strings.Replace(export, `"value":"750000.00"`, `"value":"2000000.00"`, 1)
	if err := os.WriteFile(exportFile, []byte(tampered), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = ledgerCmd(t, "audit", "verify", "--file", exportFile, "--pubkey", pub)
	if err == nil || !strings.Contains(out, "PROBLEM altered at sequence") {
		t.Fatalf("a tampered export: %v\n%s", err, out)
	}
}

func TestRun_ServeCapsConnectionsPerAddress(t *testing.T) {
	url, stop := start(t, "--data", t.TempDir(), "--demo", "--max-conns-per-addr", "4")
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	// Ten idle connections from 127.0.0.2 (all of 127.0.0.0/8 is loopback).
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 5 * time.Second}
	for i := 0; i < 10; i++ {
		c, err := d.Dial("tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	// Six were refused; the test, from 127.0.0.1, is still answered.
	var metrics []byte
	for i := 0; i < 500; i++ {
		status, b := call(t, "GET", url+"/metrics", "")
		if status != 200 {
			t.Fatalf("/metrics: %d %s", status, b)
		}
		if metrics = b; strings.Contains(string(metrics), `ledger_http_connections_refused_total{reason="per_address"} 6`) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("six refusals were never counted:\n%s", metrics)
}

var metricsURL = regexp.MustCompile(`metrics without a token on (http://[0-9.:]+/metrics)`)

func TestRun_MetricsNeedATokenButOnTheMetricsListener(t *testing.T) {
	url, stdout, stop := startOutput(t, "--data", t.TempDir(), "--demo", "--metrics-listen", "127.0.0.1:0")
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	get := func(url string) (int, string) {
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if status, _ := get(url + "/metrics"); status != 401 {
		t.Fatalf("/metrics without a token on the API's address: %d", status)
	}
	if status, _ := call(t, "GET", url+"/metrics", ""); status != 200 {
		t.Fatalf("/metrics with a supervisor's token: %d", status)
	}
	m := metricsURL.FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("serve did not say where the metrics are:\n%s", stdout.String())
	}
	if status, body := get(m[1]); status != 200 || !strings.Contains(body, "ledger_commitments") {
		t.Fatalf("the metrics listener: %d %.300s", status, body)
	}
	if status, _ := get(strings.TrimSuffix(m[1], "/metrics") + "/api/v1/counties"); status != 404 {
		t.Fatalf("the metrics listener serves the API: %d", status)
	}
}
