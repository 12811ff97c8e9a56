package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"promiseledger/bench"
)

// benchCmd measures the ledger beside raw JetStream, in this process, and
// prints each figure with its baseline and the ratio.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c bench.Config
	var dir string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ledger bench [--appends N] [--writers N] [--commitments N]\n\nMeasures durable appends (group commit and alone) beside raw JetStream per-message and atomic-batch publishing, --sync interval appends beside raw publishing, the rebuild beside a raw read of the same stream, and the county view kept beside counted afresh; each on an embedded server of its own in a temporary folder.")
		fs.PrintDefaults()
	}
	fs.IntVar(&c.Appends, "appends", 10_000, "events per append measurement")
	fs.IntVar(&c.Writers, "writers", 64, "concurrent writers")
	fs.IntVar(&c.Commitments, "commitments", 2_000, "commitments of the generated ledger")
	fs.StringVar(&dir, "dir", "", "folder for the servers' data (default: a temporary one, removed after)")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if c.Appends < 64 || c.Writers < 1 || c.Commitments < 1 {
		return errors.New("bench: --appends at least 64, --writers and --commitments at least 1")
	}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ledger-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	c.Dir, c.Log = dir, stderr
	figures, err := bench.Run(ctx, c)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "| figure | value | baseline | baseline value | ratio |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|")
	num := func(v float64, unit string) string {
		if unit == "ms" {
			return fmt.Sprintf("%.3f ms", v)
		}
		return fmt.Sprintf("%.0f %s", v, unit)
	}
	for _, f := range figures {
		fmt.Fprintf(stdout, "| %s | %s | %s | %s | %.2f× |\n", f.What, num(f.Value, f.Unit), f.Baseline, num(f.BaselineValue, f.Unit), f.Ratio())
	}
	return nil
}
