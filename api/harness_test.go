package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"promiseledger/access"
	"promiseledger/alerts"
	"promiseledger/api"
	"promiseledger/audit"
	"promiseledger/events"
	"promiseledger/internal/connlimit"
	"promiseledger/internal/natstest"
	"promiseledger/jsstore"
	"promiseledger/ledger"
	"promiseledger/projections"
)

// testClock is a clock the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// harness is the whole ledger on a real embedded JetStream behind a real
// HTTP server.
type harness struct {
	t                 *testing.T
	url               string
	store             *jsstore.Store
	nc                *nats.Conn // the ledger's own connection
	clock             *testClock
	tokens            *jsstore.Tokens
	alerts            *alerts.View
	engine            *alerts.Engine
	alertStore        *jsstore.AlertStore
	engineCommitments alerts.Commitments
	sealer            *audit.Sealer
	reads             *projections.Reads
	folds             *natstest.Holding   // the store the as-of folds read, when setup.holdFolds
	conns             *connlimit.Listener // the HTTP server's listener, when setup.conns capped it
	auth              string              // the bearer token sent by default
	bearer            map[string]string   // token by principal name: "supervisor", "auditor", "admin", "county-532301", …
	users             *jsstore.Users      // the web pages' accounts: see webPassword
}

// webPassword is the password of the harness's web accounts: "supervisor",
// "auditor", "admin", and "clerk-<county code>" for each county's office.
const webPassword = "correct-horse-battery"

// webPasswordHash is webPassword hashed, once for every harness.
var webPasswordHash = sync.OnceValue(func() string {
	h, err := access.HashPassword(webPassword)
	if err != nil {
		panic(err)
	}
	return h
})

// setup changes what newHarnessSetup builds.
type setup struct {
	api   func(*api.Config) // changes the API's configuration
	conns *connlimit.Config // caps the connections of the HTTP server's listener
	// holdFolds gives the ledger a store on which the test can hold the
	// as-of folds (harness.folds); the live projection reads the plain one.
	holdFolds bool
}

// today in the tests is 2026-11-27 in Chuxiong (UTC+8).
var testNow = time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessSetup(t, setup{})
}

// newHarnessWith limits each token to perSecond requests, burst.
func newHarnessWith(t *testing.T, perSecond float64, burst int) *harness {
	t.Helper()
	return newHarnessSetup(t, setup{api: func(c *api.Config) { c.RatePerSecond, c.Burst = perSecond, burst }})
}

// newHarnessSetup is the harness, changed by set.
func newHarnessSetup(t *testing.T, set setup) *harness {
	t.Helper()
	st, nc := natstest.Store(t)
	clk := &testClock{t: testNow}
	view := projections.New(quiet())
	var ledgerStore events.Store = st
	var folds *natstest.Holding
	if set.holdFolds {
		folds = &natstest.Holding{Store: st}
		ledgerStore = folds
	}
	l := ledger.New(st, view, events.DefaultJurisdiction(), clk.Now)
	var readDamage struct {
		sync.Mutex
		err error
	}
	reads := projections.NewReads(ledgerStore, view, events.DefaultJurisdiction(), clk.Now, func(err error) {
		readDamage.Lock()
		readDamage.err = err
		readDamage.Unlock()
	})
	as, err := st.OpenAlerts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	av := alerts.NewView()
	engine := alerts.NewEngine(alerts.DefaultConfig, events.DefaultJurisdiction(), view, as, av, clk.Now, quiet())
	view.OnChange(engine.Changed)
	_, sealKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sealer := audit.NewSealer(st, sealKey, 1_000_000, time.Hour, clk.Now, quiet())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); _ = sealer.Run(ctx) }()
	go func() { defer wg.Done(); _ = view.Run(ctx, st, projections.RunConfig{}) }()
	go func() { defer wg.Done(); _ = av.Run(ctx, as) }()
	go func() { defer wg.Done(); _ = engine.Run(ctx, time.Hour) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	for !view.Ready() || !av.Ready() || !sealer.Ready() {
		time.Sleep(time.Millisecond)
	}
	tokens, err := st.OpenTokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tokens.Close)
	bearer := map[string]string{}
	add := func(name string, role access.Role, county string) {
		b, tok, err := access.NewToken(access.Principal{Name: name, Role: role, County: county}, nil, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if err := tokens.Add(tok); err != nil {
			t.Fatal(err)
		}
		bearer[name] = b
	}
	add("supervisor", access.Supervisor, "")
	add("auditor", access.Auditor, "")
	add("admin", access.Admin, "")
	for _, c := range events.Chuxiong {
		add("county-"+c.Code, access.County, c.Code)
	}
	users, err := st.OpenUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(users.Close)
	sessions, err := st.OpenSessions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	hash := webPasswordHash()
	addUser := func(name, office string, role access.Role, county string) {
		if err := users.Add(access.User{Name: name, Office: office, Role: role, County: county, PasswordHash: hash, CreatedAt: testNow, ChangedAt: testNow}); err != nil {
			t.Fatal(err)
		}
	}
	addUser("supervisor", "州投资促进局督查科", access.Supervisor, "")
	addUser("auditor", "州审计局", access.Auditor, "")
	addUser("admin", "系统管理员", access.Admin, "")
	for _, c := range events.Chuxiong {
		addUser("clerk-"+c.Code, c.Name+"投资促进局", access.County, c.Code)
	}
	files, err := st.OpenAttachments(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.Config{Attachments: files, Tokens: tokens, Alerts: av, Sealer: sealer, Records: st, Health: func() error {
		readDamage.Lock()
		defer readDamage.Unlock()
		return errors.Join(view.Err(), av.Err(), sealer.Err(), readDamage.err)
	}, Log: quiet(), RatePerSecond: 10_000, Burst: 10_000, AuthFailureDelay: time.Millisecond, Users: users, Sessions: sessions}
	if set.api != nil {
		set.api(&cfg)
	}
	srv := httptest.NewUnstartedServer(nil) // listens on 127.0.0.1
	var conns *connlimit.Listener
	if set.conns != nil {
		conns = connlimit.New(srv.Listener, *set.conns)
		srv.Listener = conns
		cfg.Conns = conns
	}
	srv.Config = api.New(l, reads, cfg).HTTPServer()
	srv.Start()
	t.Cleanup(srv.Close)
	return &harness{t: t, url: srv.URL, store: st, nc: nc, clock: clk, tokens: tokens, alerts: av, engine: engine, alertStore: as, engineCommitments: view, sealer: sealer, reads: reads, folds: folds, conns: conns, auth: bearer["supervisor"], bearer: bearer, users: users}
}

// as is the harness sending another principal's token ("" for none).
func (h *harness) as(name string) *harness {
	c := *h
	c.auth = h.bearer[name]
	return &c
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r response) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

// errMessage reads the error's message.
func (r response) errMessage() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// errCode and errField read the error envelope.
func (r response) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}
func (r response) errField() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["field"].(string)
	return s
}

// do sends a request; body is sent as is when it is a string, else as JSON.
// headers are name, value pairs.
func (h *harness) do(method, path string, body any, headers ...string) response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if h.auth != "" {
		req.Header.Set("Authorization", "Bearer "+h.auth)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// must sends a request that must answer with status want.
func (h *harness) must(want int, method, path string, body any, headers ...string) response {
	h.t.Helper()
	r := h.do(method, path, body, headers...)
	if r.status != want {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.raw)
	}
	return r
}

// events is the number of messages in the stream.
func (h *harness) events() uint64 {
	h.t.Helper()
	n, err := h.store.LastSequence(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// creditCode makes a valid synthetic credit code.
func creditCode(n int) string {
	first := fmt.Sprintf("91532301MA6%06d", n)
	c, _ := events.CreditCodeCheck(first)
	return first + string(c)
}

// commitment is a valid POST /api/v1/commitments body; change what a test needs.
func commitment(county, kind, value, unit, madeOn, due string) map[string]any {
	return map[string]any{
		"county": county, "department": "楚雄市自然资源局", "project": "年产10GW单晶硅棒项目",
		"investor":    map[string]any{"name": "楚雄某某硅材料有限公司", "credit_code": creditCode(1)},
		"kind":        kind,
		"description": "保障项目用地300亩，2020年底前完成供地",
		"quantity":    map[string]any{"value": value, "unit": unit},
		"made_on":     madeOn, "due": due, "reference": "楚投促协〔2020〕17号",
	}
}

func fulfilment(value, unit, on string) map[string]any {
	return map[string]any{"quantity": map[string]any{"value": value, "unit": unit}, "fulfilled_on": on, "evidence": "土地出让合同 CX2020-33"}
}
