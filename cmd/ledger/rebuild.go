package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/schollz/progressbar/v3"

	"promiseledger/projections"
)

// rebuild folds every event from the first into a fresh projection and
// saves it as the checkpoint that the next start begins from.
func rebuild(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c connFlags
	fs := flag.NewFlagSet("rebuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ledger rebuild [flags]\n\nRebuilds the views from event one and saves a new checkpoint. Stop `ledger serve` on the same --data first.")
		fs.PrintDefaults()
	}
	c.register(fs, getenv)
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	store, cps, closeStore, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer closeStore()
	if err := store.CheckDense(ctx); err != nil {
		return fmt.Errorf("rebuild refused: %w", err)
	}
	target, err := store.LastSequence(ctx)
	if err != nil {
		return err
	}

	view := projections.New(log)
	progress, finish := progressReporter(stderr, target, log)
	start := time.Now()
	if err := view.CatchUp(ctx, store, nil, progress); err != nil {
		return err
	}
	finish()
	took := time.Since(start)
	if err := view.SaveCheckpoint(ctx, cps); err != nil {
		return err
	}
	s := view.Stats()
	rate := float64(s.EventsApplied) / max(took.Seconds(), 1e-9)
	fmt.Fprintf(stdout, "rebuilt %s: %d events, %d commitments in %s (%.0f events/s); checkpoint saved at sequence %d\n",
		projections.Name, s.EventsApplied, s.Commitments, took.Round(time.Millisecond), rate, s.LastCheckpoint)
	return nil
}

// progressReporter shows a progress bar (events/s, ETA) when w is a
// terminal, and a plain log line every few seconds when it is not.
func progressReporter(w io.Writer, target uint64, log *slog.Logger) (progress func(applied, target uint64), finish func()) {
	if isTerminal(w) {
		bar := progressbar.NewOptions64(int64(target),
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("rebuilding "+projections.Name),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("events"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionFullWidth(),
		)
		return func(applied, _ uint64) { _ = bar.Set64(int64(applied)) }, func() { _ = bar.Finish(); fmt.Fprintln(w) }
	}
	start, last := time.Now(), time.Now()
	return func(applied, target uint64) {
		if time.Since(last) < 2*time.Second && applied < target {
			return
		}
		last = time.Now()
		rate := float64(applied) / max(time.Since(start).Seconds(), 1e-9)
		eta := time.Duration(float64(target-applied) / max(rate, 1e-9) * float64(time.Second))
		log.Info("rebuilding", "projection", projections.Name, "sequence", applied, "of", target,
			"events_per_second", int(rate), "eta", eta.Round(time.Second))
	}, func() {}
}
