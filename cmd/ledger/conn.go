package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"

	"promiseledger/jsstore"
)

// The connection and flag plumbing that serve, rebuild, token and audit
// share: where the events are, and how to reach them.

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
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
	store, err := jsstore.Open(ctx, nc, jsstore.Config{Replicas: c.replicas, AuditMirror: c.natsURL != "" || c.natsListen != "", Logger: log, NoGroupCommit: c.sync == "interval"})
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
