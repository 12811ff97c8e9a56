package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"

	"promiseledger/events"
	"promiseledger/gen"
	"promiseledger/ledger"
	"promiseledger/projections"
)

// genCmd writes a realistic synthetic ledger, through the ledger's own
// commands, for benchmarks and for trying the ledger at scale.
func genCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c connFlags
	var n, workers, province int
	var seed uint64
	var counties string
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ledger gen --data DIR --commitments N [--province 129 | --counties FILE] [--seed S]\n\nWrites N synthetic commitments and their histories (fulfilments, extensions, waivers, cancellations, complaints, supervision orders, in plausible proportions) into a new ledger, through its own commands. Every name is synthetic. Not on a real ledger's folder: stop nothing, use a new --data.")
		fs.PrintDefaults()
	}
	c.register(fs, getenv)
	fs.IntVar(&n, "commitments", 1000, "how many commitments")
	fs.IntVar(&workers, "workers", 32, "commands at a time")
	fs.IntVar(&province, "province", 0, "that many synthetic counties (a province has about 129), written to DIR/counties.json for serve --counties; default Chuxiong's ten")
	fs.StringVar(&counties, "counties", "", "JSON file with the county list (as for serve)")
	fs.Uint64Var(&seed, "seed", 1, "the same seed makes the same ledger")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	if n < 1 || workers < 1 || province < 0 {
		return errors.New("gen: --commitments and --workers must be at least 1, --province at least 0")
	}
	juris, err := loadJurisdiction(counties)
	if err != nil {
		return err
	}
	if province > 0 {
		if juris, err = events.NewJurisdiction(gen.Province(province), nil); err != nil {
			return err
		}
		b, _ := json.MarshalIndent(juris.Counties, "", " ")
		if err := os.MkdirAll(c.data, 0o755); err != nil {
			return err
		}
		path := filepath.Join(c.data, "counties.json")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d counties written to %s: serve with --counties %s\n", province, path, path)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, cps, closeStore, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer closeStore()
	view := projections.New(log)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	running := make(chan error, 1)
	go func() { running <- view.Run(rctx, store, projections.RunConfig{Checkpoints: cps}) }()
	for !view.Ready() {
		select {
		case err := <-running:
			return err
		case <-time.After(10 * time.Millisecond):
		}
	}
	l := ledger.New(store, view, juris, time.Now)
	var bar *progressbar.ProgressBar
	if isTerminal(stderr) {
		bar = progressbar.NewOptions(n, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("gen"), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionSetItsString("commitments"), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionFullWidth())
	}
	start := time.Now()
	appended, err := gen.Run(ctx, l, n, workers, seed, func(done int) {
		if bar != nil {
			_ = bar.Set(done)
		}
	})
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(stderr)
	}
	took := time.Since(start)
	if err != nil {
		return err
	}
	if err := view.SaveCheckpoint(ctx, cps); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d commitments, %d events in %s (%.0f events/s) in %s\n", n, appended, took.Round(time.Millisecond), float64(appended)/took.Seconds(), c.data)
	return nil
}
