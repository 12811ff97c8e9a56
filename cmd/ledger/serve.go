package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

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
	metricsAddr string
	demo        bool
	counties    string
	verbose     bool
	rate        float64
	burst       int
	// maxConns and maxConnsPerAddr cap the HTTP connections open at once.
	maxConns        int
	maxConnsPerAddr int

	alerts        alerts.Config
	alertEvery    time.Duration
	seal          sealFlags
	webhooks      []alerts.Webhook
	webhookSecret []byte
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.conn.register(fs, getenv)
	fs.StringVar(&c.httpAddr, "http", orDefault(getenv("LEDGER_HTTP"), "127.0.0.1:8080"), "address of the HTTP API (env LEDGER_HTTP)")
	fs.StringVar(&c.metricsAddr, "metrics-listen", "", "also serve /metrics, without a token, on this address (for a Prometheus on a private network), e.g. 10.0.0.5:9090")
	fs.StringVar(&c.conn.natsListen, "nats-listen", "", "also accept NATS clients (e.g. the nats CLI) on this address, e.g. 127.0.0.1:4222")
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
	fs.DurationVar(&c.alertEvery, "alert-interval", time.Minute, "how often every commitment is evaluated against the clock")
	fs.Func("webhook", `post alerts to "URL [county=C1,C2] [rule=R1,R2]" (repeatable)`, func(v string) error {
		w, err := alerts.ParseWebhook(v)
		c.webhooks = append(c.webhooks, w)
		return err
	})
	c.seal.register(fs)
	secretFile := fs.String("webhook-secret-file", "", "file with the HMAC-SHA256 key that signs webhook bodies (or env LEDGER_WEBHOOK_SECRET)")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if err := c.conn.validate(); err != nil {
		return err
	}
	if err := c.alerts.Validate(); err != nil {
		return err
	}
	if c.maxConns < 0 || c.maxConnsPerAddr < 0 {
		return errors.New("--max-conns, --max-conns-per-addr: must be 0 (no cap) or more")
	}
	if len(c.webhooks) > 0 {
		secret := getenv("LEDGER_WEBHOOK_SECRET")
		if *secretFile != "" {
			b, err := os.ReadFile(*secretFile)
			if err != nil {
				return fmt.Errorf("--webhook-secret-file: %w", err)
			}
			secret = strings.TrimSpace(string(b))
		}
		if len(secret) < 16 {
			return errors.New("--webhook: a signing key of at least 16 characters is required (--webhook-secret-file or LEDGER_WEBHOOK_SECRET)")
		}
		c.webhookSecret = []byte(secret)
	}
	level := slog.LevelInfo
	if c.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	juris, err := loadJurisdiction(c.counties)
	if err != nil {
		return err
	}

	store, cps, closeStore, err := openStore(ctx, c.conn, log)
	if err != nil {
		return err
	}
	defer closeStore()
	tokens, err := store.OpenTokens(ctx)
	if err != nil {
		return err
	}
	defer tokens.Close()
	// The demo's tokens have public secrets: honoured only while serving
	// with --demo, never by a real start on a folder where a demo once ran.
	registry := access.Registry(tokens)
	if c.demo {
		if err := demo.AddTokens(tokens, juris, time.Now(), stdout); err != nil {
			return err
		}
	} else {
		registry = demo.Refuse(tokens)
		if demo.Present(tokens) {
			const warning = "THIS FOLDER HOLDS THE SYNTHETIC DEMO DATA SET (【演示】 promises, which can never be deleted, and demo tokens, now refused). 此数据目录含演示数据，请勿用于正式台账：正式台账请使用新的 --data 目录。"
			fmt.Fprintln(stdout, warning)
			log.Warn(warning, "data", c.conn.data)
		}
	}
	if err := firstAdmin(tokens, juris, stdout); err != nil {
		return err
	}
	alertStore, err := store.OpenAlerts(ctx)
	if err != nil {
		return err
	}
	key, err := c.seal.key(ctx, c.conn, store, log)
	if err != nil {
		return err
	}
	sealer := audit.NewSealer(store, key, c.seal.every, c.seal.interval, time.Now, log)
	view := projections.New(log)
	l := ledger.New(store, view, juris, time.Now)
	alertView := alerts.NewView()
	engine := alerts.NewEngine(c.alerts, juris, view, alertStore, alertView, time.Now, log)
	view.OnChange(engine.Changed)

	// Damage — found now, before anything reads the streams, or later by the
	// projection, the alerts view or the sealer — stops the ledger serving
	// anything but /readyz, which says what is wrong.
	health := &damage{}
	for _, check := range []func(context.Context) error{store.CheckDense, alertStore.CheckDense} {
		if err := check(ctx); errors.Is(err, events.ErrDamaged) {
			health.found(err)
		} else if err != nil {
			return err
		}
	}
	health.watch(view.Err, alertView.Err, sealer.Err)
	engine.PauseWhile(health.Err)

	// The background work outlives the signal: on shutdown the HTTP server
	// drains first, while the projections still answer the writes in flight;
	// then the tasks stop, the sealer sealing what was written.
	bg := newTasks(context.WithoutCancel(ctx), log)
	if health.Err() == nil {
		bg.Go("projection", func(ctx context.Context) error { return view.Run(ctx, store, projections.RunConfig{Checkpoints: cps}) })
		bg.Go("alerts view", func(ctx context.Context) error { return alertView.Run(ctx, alertStore) })
		bg.Go("sealer", sealer.Run)
		if err := waitReady(ctx, health.Err, view.Ready, alertView.Ready, sealer.Ready); err != nil {
			return bg.Stop(err)
		}
	}
	if err := health.Err(); err != nil {
		log.Error("THE LEDGER'S DATA IS DAMAGED: it serves nothing until this is mended; GET /readyz says the same", "problem", err)
	} else if c.demo {
		n, err := demo.Load(ctx, l, view)
		if err != nil {
			return bg.Stop(err)
		}
		log.Info("demo data set", "events_added", n, "commitments", view.Len())
		if n > 0 { // seal it now, so that its proofs can be checked at once
			if _, err := sealer.SealNow(ctx); err != nil {
				log.Warn("the demo data set is not sealed yet", "err", err)
			}
		}
	}
	bg.Go("alert engine", func(ctx context.Context) error { return engine.Run(ctx, c.alertEvery) })
	sender := alerts.Sender{Client: &http.Client{Timeout: 10 * time.Second}, Secret: c.webhookSecret, Now: time.Now}
	for _, wh := range c.webhooks {
		bg.Go("webhook "+wh.Redacted(), func(ctx context.Context) error {
			return alertStore.Deliver(ctx, wh.URL, wh.Redacted(), jsstore.Subjects(wh.Counties, wh.Rules), alerts.Backoff(time.Second, 5*time.Minute),
				func(a alerts.Alert) error {
					err := sender.Send(ctx, wh.URL, a)
					if err != nil {
						log.Warn("webhook delivery failed; will retry", "url", wh.Redacted(), "alert", a.ID, "err", err)
					}
					return err
				})
		})
	}

	listen := func(flag, addr string) (*connlimit.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		return connlimit.New(ln, connlimit.Config{Max: c.maxConns, MaxPerAddr: c.maxConnsPerAddr, Refusal: connlimit.HTTPRefusal, Log: log}), nil
	}
	serveHTTP := func(name string, srv *http.Server, ln net.Listener) {
		bg.Go(name, func(context.Context) error {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	ln, err := listen("--http", c.httpAddr)
	if err != nil {
		return bg.Stop(err)
	}
	handler := api.New(l, projections.NewReads(store, view, juris, time.Now), api.Config{Tokens: registry, Alerts: alertView, Sealer: sealer, Records: store, Health: health.Err, Log: log, RatePerSecond: c.rate, Burst: c.burst, Conns: ln})
	srv := handler.HTTPServer()
	servers := []*http.Server{srv}
	if c.metricsAddr != "" {
		mln, err := listen("--metrics-listen", c.metricsAddr)
		if err != nil {
			_ = ln.Close()
			return bg.Stop(err)
		}
		msrv := handler.MetricsServer()
		servers = append(servers, msrv)
		serveHTTP("metrics http", msrv, mln)
		fmt.Fprintf(stdout, "Prometheus may scrape metrics without a token on http://%s/metrics\n", mln.Addr())
	}
	serveHTTP("http", srv, ln)
	fmt.Fprintf(stdout, "Promise Ledger serving http://%s (try http://%s/api/v1/counties)\n", ln.Addr(), ln.Addr())

	select {
	case <-ctx.Done():
	case <-bg.ctx.Done(): // a task failed
	}
	log.Info("shutting down")
	handler.Close() // ends the event streams, which would hold Shutdown up
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	var errs []error
	for _, srv := range servers {
		errs = append(errs, srv.Shutdown(sctx))
	}
	return bg.Stop(errors.Join(errs...))
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

// connFlags say where the events are: an embedded server on a folder, or
// an external NATS server or cluster.
type connFlags struct {
	data       string
	natsURL    string
	natsListen string
	sync       string
	replicas   int
}

func (c *connFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.data, "data", orDefault(getenv("LEDGER_DATA"), "./data"), "folder of the embedded JetStream store (env LEDGER_DATA)")
	fs.StringVar(&c.natsURL, "nats-url", getenv("LEDGER_NATS_URL"), "use this NATS server or cluster instead of the embedded one (env LEDGER_NATS_URL)")
	fs.StringVar(&c.sync, "sync", "always", "embedded server durability: always (fsync before each acknowledgement) or interval (fsync every 2 minutes; faster, can lose acknowledged events on power loss)")
	fs.IntVar(&c.replicas, "replicas", 0, "stream replicas on an external cluster (--nats-url); default: keep the stream's, or 1 for a new one")
}

func (c connFlags) validate() error {
	var errs []error
	if c.sync != "always" && c.sync != "interval" {
		errs = append(errs, fmt.Errorf("--sync %q: must be always or interval", c.sync))
	}
	if c.natsURL != "" && c.natsListen != "" {
		errs = append(errs, errors.New("--nats-listen: only for the embedded server, not with --nats-url"))
	}
	if c.replicas < 0 || c.replicas > 5 {
		errs = append(errs, fmt.Errorf("--replicas %d: must be 1 to 5", c.replicas))
	}
	if c.natsURL == "" && c.replicas > 1 {
		errs = append(errs, errors.New("--replicas: the embedded server keeps one replica; use --nats-url for a cluster"))
	}
	if c.data == "" && c.natsURL == "" {
		errs = append(errs, errors.New("--data: is required"))
	}
	return errors.Join(errs...)
}

// openStore connects, opens the ledger's stream and its checkpoint bucket,
// and returns a function that closes them all.
func openStore(ctx context.Context, c connFlags, log *slog.Logger) (*jsstore.Store, *jsstore.Checkpoints, func(), error) {
	nc, closeNATS, err := connect(c, log)
	if err != nil {
		return nil, nil, nil, err
	}
	store, err := jsstore.Open(ctx, nc, jsstore.Config{Replicas: c.replicas, AuditMirror: c.natsURL != "" || c.natsListen != "", Logger: log})
	if err == nil {
		var cps *jsstore.Checkpoints
		if cps, err = store.OpenCheckpoints(ctx); err == nil {
			return store, cps, closeNATS, nil
		}
	}
	closeNATS()
	return nil, nil, nil, err
}

// connect opens the NATS connection: to an external server when --nats-url
// is given, else to an embedded server on --data.
func connect(c connFlags, log *slog.Logger) (*nats.Conn, func(), error) {
	if c.natsURL != "" {
		opts := []nats.Option{nats.Name("promise-ledger"), nats.MaxReconnects(-1)}
		if u, err := url.Parse(c.natsURL); err == nil && u.User.Username() == jsstore.AuditorUser {
			opts = append(opts, nats.CustomInboxPrefix(jsstore.AuditorInboxPrefix)) // the only inbox it may read
		}
		nc, err := nats.Connect(c.natsURL, opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("--nats-url: %w", err)
		}
		return nc, func() { _ = nc.Drain() }, nil
	}
	cfg := jsstore.EmbeddedConfig{Dir: c.data, Listen: c.natsListen, SyncAlways: c.sync == "always"}
	pwFile := filepath.Join(c.data, "nats-auditor.password")
	if c.natsListen != "" {
		pw, err := jsstore.AuditorPassword(pwFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--nats-listen: auditor password: %w", err)
		}
		cfg.AuditorPassword = pw
	}
	emb, err := jsstore.StartEmbedded(cfg)
	if err != nil {
		return nil, nil, err
	}
	if u := emb.ClientURL(); u != "" {
		log.Info("NATS clients may connect as the read-only auditor", "url", u, "user", jsstore.AuditorUser, "password_file", pwFile)
	}
	nc, err := emb.Connect("promise-ledger")
	if err != nil {
		emb.Shutdown()
		return nil, nil, fmt.Errorf("embedded nats: %w", err)
	}
	return nc, func() {
		_ = nc.Drain()
		for nc.IsDraining() {
			time.Sleep(10 * time.Millisecond)
		}
		emb.Shutdown()
	}, nil
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

func (d *damage) found(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.errs = append(d.errs, err)
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
func firstAdmin(reg access.Registry, j *events.Jurisdiction, stdout io.Writer) error {
	for _, t := range reg.List() {
		if !demo.IsToken(t) {
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
