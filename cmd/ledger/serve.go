package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"promiseledger/access"
	"promiseledger/alerts"
	"promiseledger/api"
	"promiseledger/audit"
	"promiseledger/demo"
	"promiseledger/events"
	"promiseledger/internal/connlimit"
	"promiseledger/jsstore"
	"promiseledger/ledger"
	"promiseledger/projections"
)

// serveConfig is what `ledger serve` is told.
type serveConfig struct {
	conn     connFlags
	httpAddr string
	// metricsAddr, when set, serves /metrics without a token there.
	metricsAddr   string
	demo          bool
	secureCookies bool
	counties      string
	verbose       bool
	rate          float64
	burst         int
	// maxConns and maxConnsPerAddr cap the HTTP connections open at once.
	maxConns        int
	maxConnsPerAddr int

	alerts        alerts.Config
	alertEvery    time.Duration
	seal          sealFlags
	webhooks      []alerts.Webhook
	webhookSecret []byte
}

// serve runs the ledger until ctx ends: parse, open, start, and stop.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, help, err := parseServe(args, getenv, stderr)
	if help || err != nil {
		return err
	}
	level := slog.LevelInfo
	if c.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	n, err := open(ctx, c, stdout, log)
	if err != nil {
		return err
	}
	defer n.close()
	if err := n.start(ctx); err != nil {
		return n.bg.Stop(err)
	}
	if err := n.listen(stdout); err != nil {
		return n.bg.Stop(err)
	}
	select {
	case <-ctx.Done():
	case <-n.bg.ctx.Done(): // a task failed
	}
	return n.stop()
}

// parseServe reads serve's flags and checks them.
func parseServe(args []string, getenv func(string) string, stderr io.Writer) (c serveConfig, help bool, err error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.conn.register(fs, getenv)
	fs.StringVar(&c.httpAddr, "http", orDefault(getenv("LEDGER_HTTP"), "127.0.0.1:8080"), "address of the HTTP API (env LEDGER_HTTP)")
	fs.StringVar(&c.metricsAddr, "metrics-listen", "", "also serve /metrics, without a token, on this address (for a Prometheus on a private network), e.g. 10.0.0.5:9090")
	fs.StringVar(&c.conn.natsListen, "nats-listen", "", "also accept NATS clients (e.g. the nats CLI) on this address, e.g. 127.0.0.1:4222")
	fs.BoolVar(&c.secureCookies, "secure-cookies", false, "mark the web pages' sign-in cookies Secure (sent over TLS only): set it when a TLS proxy stands in front of the ledger")
	fs.BoolVar(&c.demo, "demo", false, "load the synthetic demo data set (once; loading it again adds nothing)")
	fs.StringVar(&c.counties, "counties", "", `JSON file with the county list, [{"code":"532301","name":"楚雄市"},…]; default Chuxiong's ten`)
	fs.BoolVar(&c.verbose, "v", false, "log every HTTP request")
	fs.Float64Var(&c.rate, "rate", 20, "requests per second allowed to each token")
	fs.IntVar(&c.burst, "burst", 40, "requests a token may send at once above its rate")
	fs.IntVar(&c.maxConns, "max-conns", 1024, "HTTP connections open at once, in all; more are refused at once (0: no cap)")
	fs.IntVar(&c.maxConnsPerAddr, "max-conns-per-addr", 64, "HTTP connections open at once from one client address (IPv6: one /64); behind a reverse proxy, every connection comes from the proxy (0: no cap)")
	fs.IntVar(&c.alerts.DueSoonDays, "due-soon-days", alerts.DefaultConfig.DueSoonDays, "raise due_soon this many days before the due date")
	fs.IntVar(&c.alerts.EscalateDays, "escalate-days", alerts.DefaultConfig.EscalateDays, "raise escalated when overdue more than this many days")
	fs.IntVar(&c.alerts.DisputeStaleDays, "dispute-stale-days", alerts.DefaultConfig.DisputeStaleDays, "raise dispute_stale when a dispute is open more than this many days")
	fs.IntVar(&c.alerts.AckDays, "ack-days", alerts.DefaultConfig.AckDays, "raise order_unacknowledged, and light a commitment yellow, when a supervision order is not signed for within this many days")
	fs.DurationVar(&c.alertEvery, "alert-interval", time.Minute, "how often every commitment is evaluated against the clock")
	fs.Func("webhook", `post alerts to "URL [county=C1,C2] [rule=R1,R2]" (repeatable)`, func(v string) error {
		w, err := alerts.ParseWebhook(v)
		c.webhooks = append(c.webhooks, w)
		return err
	})
	c.seal.register(fs)
	secretFile := fs.String("webhook-secret-file", "", "file with the HMAC-SHA256 key that signs webhook bodies (or env LEDGER_WEBHOOK_SECRET)")
	if help, err := parseFlags(fs, args); help || err != nil {
		return c, help, err
	}
	if err := c.conn.validate(); err != nil {
		return c, false, err
	}
	if err := c.alerts.Validate(); err != nil {
		return c, false, err
	}
	if c.maxConns < 0 || c.maxConnsPerAddr < 0 {
		return c, false, errors.New("--max-conns, --max-conns-per-addr: must be 0 (no cap) or more")
	}
	if len(c.webhooks) > 0 {
		secret := getenv("LEDGER_WEBHOOK_SECRET")
		if *secretFile != "" {
			b, err := os.ReadFile(*secretFile)
			if err != nil {
				return c, false, fmt.Errorf("--webhook-secret-file: %w", err)
			}
			secret = strings.TrimSpace(string(b))
		}
		if len(secret) < 16 {
			return c, false, errors.New("--webhook: a signing key of at least 16 characters is required (--webhook-secret-file or LEDGER_WEBHOOK_SECRET)")
		}
		c.webhookSecret = []byte(secret)
	}
	return c, false, nil
}

// node is one running ledger: its stores, views, sealer, alerts, HTTP
// servers and background tasks.
type node struct {
	c          serveConfig
	log        *slog.Logger
	juris      *events.Jurisdiction
	store      *jsstore.Store
	cps        *jsstore.Checkpoints
	tokens     *jsstore.Tokens
	registry   access.Registry
	users      *jsstore.Users
	sessions   *jsstore.Sessions
	alertStore *jsstore.AlertStore
	files      *jsstore.Attachments
	sealer     *audit.Sealer
	view       *projections.Projection
	ledger     *ledger.Ledger
	alertView  *alerts.View
	engine     *alerts.Engine
	health     *damage
	bg         *tasks
	handler    *api.Server
	servers    []*http.Server
	closers    []func()
}

// open opens the stores and builds the ledger, checking the stored data
// for damage before anything reads it.
func open(ctx context.Context, c serveConfig, stdout io.Writer, log *slog.Logger) (n *node, err error) {
	n = &node{c: c, log: log, health: &damage{}}
	defer func() {
		if err != nil {
			n.close()
		}
	}()
	if n.juris, err = loadJurisdiction(c.counties); err != nil {
		return n, err
	}
	// The traffic lights judge by the alerts' thresholds, so that they agree.
	n.juris.DueSoonDays, n.juris.AckDays = c.alerts.DueSoonDays, c.alerts.AckDays
	store, cps, closeStore, err := openStore(ctx, c.conn, log)
	if err != nil {
		return n, err
	}
	n.store, n.cps, n.closers = store, cps, append(n.closers, closeStore)
	if n.tokens, err = store.OpenTokens(ctx); err != nil {
		return n, err
	}
	n.closers = append(n.closers, n.tokens.Close)
	if n.users, err = store.OpenUsers(ctx); err != nil {
		return n, err
	}
	n.closers = append(n.closers, n.users.Close)
	if n.sessions, err = store.OpenSessions(ctx); err != nil {
		return n, err
	}
	// The demo's tokens have public secrets: honoured only while serving
	// with --demo, never by a real start on a folder where a demo once ran.
	n.registry = n.tokens
	if c.demo {
		if err := demo.AddTokens(n.tokens, n.juris, time.Now(), stdout); err != nil {
			return n, err
		}
		if err := demo.AddUsers(n.users, n.juris, time.Now(), stdout); err != nil {
			return n, err
		}
		if c.conn.data != "" {
			if err := demo.WriteWorkbooks(filepath.Join(c.conn.data, "workbooks"), n.juris, stdout); err != nil {
				return n, err
			}
		}
	} else {
		n.registry = demo.Refuse(n.tokens)
		if demo.Present(n.tokens) {
			const warning = "THIS FOLDER HOLDS THE SYNTHETIC DEMO DATA SET (【演示】 promises, which can never be deleted, and demo tokens, now refused). 此数据目录含演示数据，请勿用于正式台账：正式台账请使用新的 --data 目录。"
			fmt.Fprintln(stdout, warning)
			log.Warn(warning, "data", c.conn.data)
		}
	}
	if err := firstAdmin(n.tokens, n.juris, stdout); err != nil {
		return n, err
	}
	if err := firstAdminUser(n.users, stdout); err != nil {
		return n, err
	}
	if n.alertStore, err = store.OpenAlerts(ctx); err != nil {
		return n, err
	}
	if n.files, err = store.OpenAttachments(ctx); err != nil {
		return n, err
	}
	key, err := c.seal.key(ctx, c.conn, store, log)
	if err != nil {
		return n, err
	}
	n.sealer = audit.NewSealer(store, key, c.seal.every, c.seal.interval, time.Now, log)
	n.view = projections.New(log)
	n.view.KeepSnapshots(snapshotEvery, 8) // past views start from the latest snapshot before their instant
	n.ledger = ledger.New(store, n.view, n.juris, time.Now)
	n.alertView = alerts.NewView()
	n.engine = alerts.NewEngine(c.alerts, n.juris, n.view, n.alertStore, n.alertView, time.Now, log)
	n.view.OnChange(n.engine.Changed)

	// Damage — found now, before anything reads the streams, or later by the
	// projection, the alerts view or the sealer — stops the ledger serving
	// anything but /readyz, which says what is wrong.
	for _, check := range []func(context.Context) error{store.CheckDense, n.alertStore.CheckDense} {
		if err := check(ctx); errors.Is(err, events.ErrDamaged) {
			n.health.found(err)
		} else if err != nil {
			return n, err
		}
	}
	n.health.watch(n.view.Err, n.alertView.Err, n.sealer.Err)
	n.engine.PauseWhile(n.health.Err)
	return n, nil
}

// start runs the views and the sealer until they are ready (or find
// damage), loads the demo when asked, and starts the alerts and webhooks.
// The background work outlives the signal: on shutdown the HTTP server
// drains first, while the projections still answer the writes in flight;
// then the tasks stop, the sealer sealing what was written.
func (n *node) start(ctx context.Context) error {
	n.bg = newTasks(context.WithoutCancel(ctx), n.log)
	if n.health.Err() == nil {
		n.bg.Go("projection", func(ctx context.Context) error {
			return n.view.Run(ctx, n.store, projections.RunConfig{Checkpoints: n.cps})
		})
		n.bg.Go("alerts view", func(ctx context.Context) error { return n.alertView.Run(ctx, n.alertStore) })
		n.bg.Go("sealer", n.sealer.Run)
		if err := n.untilReady(ctx, n.view.Ready, n.alertView.Ready, n.sealer.Ready); err != nil {
			return err
		}
	}
	if err := n.health.Err(); err != nil {
		n.log.Error("THE LEDGER'S DATA IS DAMAGED: it serves nothing until this is mended; GET /readyz says the same", "problem", err)
	} else if n.c.demo {
		added, err := demo.Load(ctx, n.ledger, n.view)
		if err != nil {
			return err
		}
		n.log.Info("demo data set", "events_added", added, "commitments", n.view.Len())
		if added > 0 { // seal it now, so that its proofs can be checked at once
			if _, err := n.sealer.SealNow(ctx); err != nil {
				n.log.Warn("the demo data set is not sealed yet", "err", err)
			}
		}
	}
	n.bg.Go("alert engine", func(ctx context.Context) error { return n.engine.Run(ctx, n.c.alertEvery) })
	sender := alerts.Sender{Client: &http.Client{Timeout: 10 * time.Second}, Secret: n.c.webhookSecret, Now: time.Now}
	for _, wh := range n.c.webhooks {
		n.bg.Go("webhook "+wh.Redacted(), func(ctx context.Context) error {
			return n.alertStore.Deliver(ctx, wh.URL, wh.Redacted(), jsstore.Subjects(wh.Counties, wh.Rules), alerts.Backoff(time.Second, 5*time.Minute),
				func(a alerts.Alert) error {
					err := sender.Send(ctx, wh.URL, a)
					if err != nil {
						n.log.Warn("webhook delivery failed; will retry", "url", wh.Redacted(), "alert", a.ID, "err", err)
					}
					return err
				})
		})
	}
	return nil
}

// untilReady waits until every reader is ready, damage is found, or a
// background task fails on its way to ready (not damage: a timeout, a
// cluster that cannot answer), which stops the tasks and ends the wait.
func (n *node) untilReady(ctx context.Context, ready ...func() bool) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(n.bg.ctx, cancel)
	defer stop()
	err := waitReady(wctx, n.health.Err, ready...)
	if n.bg.ctx.Err() != nil && ctx.Err() == nil {
		return errors.New("a background task failed before the ledger was ready; see the log")
	}
	return err
}

// listen serves the HTTP API (and the metrics, when asked) in the
// background.
func (n *node) listen(stdout io.Writer) error {
	listen := func(flag, addr string) (*connlimit.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		return connlimit.New(ln, connlimit.Config{Max: n.c.maxConns, MaxPerAddr: n.c.maxConnsPerAddr, Refusal: connlimit.HTTPRefusal, Log: n.log}), nil
	}
	serveHTTP := func(name string, srv *http.Server, ln net.Listener) {
		n.servers = append(n.servers, srv)
		n.bg.Go(name, func(context.Context) error {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	ln, err := listen("--http", n.c.httpAddr)
	if err != nil {
		return err
	}
	reads := projections.NewReads(n.store, n.view, n.juris, time.Now, func(err error) {
		if n.health.found(err) {
			n.log.Error("THE LEDGER'S DATA IS DAMAGED (found by a read): it serves nothing until this is mended; GET /readyz says the same", "problem", err)
		}
	})
	n.handler = api.New(n.ledger, reads, api.Config{Tokens: n.registry, Alerts: n.alertView, Sealer: n.sealer, Records: n.store, Attachments: n.files, Health: n.health.Err,
		Log: n.log, RatePerSecond: n.c.rate, Burst: n.c.burst, Conns: ln, Users: n.users, Sessions: n.sessions, DemoAccounts: n.c.demo, SecureCookies: n.c.secureCookies})
	if n.c.metricsAddr != "" {
		mln, err := listen("--metrics-listen", n.c.metricsAddr)
		if err != nil {
			_ = ln.Close()
			return err
		}
		serveHTTP("metrics http", n.handler.MetricsServer(), mln)
		fmt.Fprintf(stdout, "Prometheus may scrape metrics without a token on http://%s/metrics\n", mln.Addr())
	}
	serveHTTP("http", n.handler.HTTPServer(), ln)
	fmt.Fprintf(stdout, "Promise Ledger serving http://%s (try http://%s/api/v1/counties)\n", ln.Addr(), ln.Addr())
	if n.c.demo {
		fmt.Fprintf(stdout, "在浏览器中打开 Open in a browser: http://%s/ — sign in as demo-supervisor (or demo-532301, demo-auditor, demo-admin), password %s\n", ln.Addr(), demo.Password)
	}
	return nil
}

// stop drains the HTTP servers, then stops the background tasks, and
// returns the first failure.
func (n *node) stop() error {
	n.log.Info("shutting down")
	if n.handler != nil {
		n.handler.Close() // ends the event streams, which would hold Shutdown up
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	for _, srv := range n.servers {
		errs = append(errs, srv.Shutdown(sctx))
	}
	return n.bg.Stop(errors.Join(errs...))
}

// close closes what open opened, last first.
func (n *node) close() {
	for i := len(n.closers) - 1; i >= 0; i-- {
		n.closers[i]()
	}
	n.closers = nil
}

// tasks runs the background work of serve; the first to fail stops them all.
type tasks struct {
	ctx    context.Context
	cancel context.CancelFunc
	log    *slog.Logger
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
}

func newTasks(ctx context.Context, log *slog.Logger) *tasks {
	ctx, cancel := context.WithCancel(ctx)
	return &tasks{ctx: ctx, cancel: cancel, log: log}
}

// Go runs fn until the tasks stop. A task that ends on damage (an error
// matching events.ErrDamaged) stops alone: the others go on, so that the
// ledger can say what is wrong (its health reports the damage).
func (t *tasks) Go(name string, fn func(context.Context) error) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		err := fn(t.ctx)
		if errors.Is(err, events.ErrDamaged) {
			t.log.Error(name+" stopped on damaged data", "err", err)
			return
		}
		if err != nil && t.ctx.Err() == nil {
			t.mu.Lock()
			if t.err == nil {
				t.err = fmt.Errorf("%s: %w", name, err)
			}
			t.mu.Unlock()
			t.cancel()
		}
	}()
}

// Stop stops every task, waits for them, and returns the first failure, or err.
func (t *tasks) Stop(err error) error {
	t.cancel()
	t.wg.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return t.err
	}
	return err
}

// waitReady waits until every view has caught up with its stream, or
// damage is found.
func waitReady(ctx context.Context, damaged func() error, ready ...func() bool) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for _, r := range ready {
		for !r() {
			if damaged() != nil {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
	}
	return nil
}

// damage is what the ledger found wrong with its stored data: at start, or
// later by one of its readers.
type damage struct {
	mu     sync.Mutex
	errs   []error
	checks []func() error
}

// found records damage, and reports whether it is news.
func (d *damage) found(err error) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range d.errs {
		if e.Error() == err.Error() {
			return false
		}
	}
	d.errs = append(d.errs, err)
	return true
}

// watch adds readers whose Err reports the damage they find.
func (d *damage) watch(checks ...func() error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.checks = append(d.checks, checks...)
}

// Err is every damage found, or nil.
func (d *damage) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	errs := append([]error(nil), d.errs...)
	for _, c := range d.checks {
		if err := c(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// firstAdmin creates an admin token when there are no tokens but the
// demo's, and prints it: the only time it is ever shown.
// snapshotEvery is how many events apart the live view keeps a snapshot
// for past views to start from.
const snapshotEvery = 10_000

// firstAdminUser makes, on a ledger with no account but the demo's, an
// admin account with a random password, and prints it: the only time it is
// ever shown. The admin signs in, changes it, and adds the others.
func firstAdminUser(users access.Users, stdout io.Writer) error {
	for _, u := range users.List() {
		if !u.Demo {
			return nil
		}
	}
	pw := make([]byte, 12)
	if _, err := rand.Read(pw); err != nil {
		return err
	}
	password := base64.RawURLEncoding.EncodeToString(pw)
	hash, err := access.HashPassword(password)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	if err := users.Add(access.User{Name: "admin", Office: "admin", Role: access.Admin, PasswordHash: hash, CreatedAt: now, ChangedAt: now}); err != nil {
		if errors.Is(err, access.ErrUserExists) {
			return nil
		}
		return err
	}
	fmt.Fprintf(stdout, "First start: a web account was created: user admin, password %s (shown only this once; change it after signing in).\n", password)
	return nil
}

func firstAdmin(reg access.Registry, j *events.Jurisdiction, stdout io.Writer) error {
	for _, t := range reg.List() {
		if !t.Demo() {
			return nil
		}
	}
	bearer, t, err := access.MakeToken(access.TokenRequest{Name: "admin", Role: string(access.Admin)}, j, time.Now())
	if err != nil {
		return err
	}
	if err := reg.Add(t); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "First start: an admin token was created. It is shown only this once; keep it safe:\n  %s\n", bearer)
	return nil
}
