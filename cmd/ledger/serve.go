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
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"

	"promiseledger/access"
	"promiseledger/api"
	"promiseledger/demo"
	"promiseledger/events"
	"promiseledger/jsstore"
	"promiseledger/ledger"
	"promiseledger/projections"
)

// serveConfig is what `ledger serve` is told.
type serveConfig struct {
	conn     connFlags
	httpAddr string
	demo     bool
	counties string
	verbose  bool
	rate     float64
	burst    int
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
	fs.StringVar(&c.conn.natsListen, "nats-listen", "", "also accept NATS clients (e.g. the nats CLI) on this address, e.g. 127.0.0.1:4222")
	fs.BoolVar(&c.demo, "demo", false, "load the synthetic demo data set (once; loading it again adds nothing)")
	fs.StringVar(&c.counties, "counties", "", `JSON file with the county list, [{"code":"532301","name":"楚雄市"},…]; default Chuxiong's ten`)
	fs.BoolVar(&c.verbose, "v", false, "log every HTTP request")
	fs.Float64Var(&c.rate, "rate", 20, "requests per second allowed to each token")
	fs.IntVar(&c.burst, "burst", 40, "requests a token may send at once above its rate")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if err := c.conn.validate(); err != nil {
		return err
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
	if c.demo {
		if err := demo.AddTokens(tokens, juris, time.Now(), stdout); err != nil {
			return err
		}
	}
	if err := firstAdmin(tokens, juris, stdout); err != nil {
		return err
	}
	view := projections.New(log)
	l := ledger.New(store, view, juris, time.Now)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	projDone := make(chan error, 1)
	go func() { projDone <- view.Run(ctx, store, projections.RunConfig{Checkpoints: cps}) }()

	if c.demo {
		if err := waitReady(ctx, view, projDone); err != nil {
			return err
		}
		n, err := demo.Load(ctx, l)
		if err != nil {
			return err
		}
		log.Info("demo data set", "events_added", n, "commitments", view.Len())
	}

	ln, err := net.Listen("tcp", c.httpAddr)
	if err != nil {
		return fmt.Errorf("--http: %w", err)
	}
	handler := api.New(l, api.Config{Tokens: tokens, Log: log, RatePerSecond: c.rate, Burst: c.burst})
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	httpDone := make(chan error, 1)
	go func() { httpDone <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "Promise Ledger serving http://%s (try http://%s/api/v1/counties)\n", ln.Addr(), ln.Addr())

	projStopped := false
	select {
	case <-ctx.Done():
	case err = <-httpDone:
	case err = <-projDone:
		projStopped = true
		err = fmt.Errorf("projection stopped: %w", err)
	}
	log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if serr := srv.Shutdown(sctx); serr != nil && err == nil {
		err = serr
	}
	cancel()
	if !projStopped {
		<-projDone
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
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
	store, err := jsstore.Open(ctx, nc, jsstore.Config{Replicas: c.replicas, Logger: log})
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
		nc, err := nats.Connect(c.natsURL, nats.Name("promise-ledger"), nats.MaxReconnects(-1))
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

// waitReady waits until the projection has caught up with the stream.
func waitReady(ctx context.Context, view *projections.Projection, failed <-chan error) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !view.Ready() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-failed:
			return fmt.Errorf("projection stopped: %w", err)
		case <-t.C:
		}
	}
	return nil
}

// firstAdmin creates an admin token when there are no tokens at all, and
// prints it: the only time it is ever shown.
func firstAdmin(reg access.Registry, j *events.Jurisdiction, stdout io.Writer) error {
	if len(reg.List()) > 0 {
		return nil
	}
	bearer, t, err := api.MakeToken(api.NewTokenRequest{Name: "admin", Role: string(access.Admin)}, j, time.Now())
	if err != nil {
		return err
	}
	if err := reg.Add(t); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "First start: an admin token was created. It is shown only this once; keep it safe:\n  %s\n", bearer)
	return nil
}
