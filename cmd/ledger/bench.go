package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"promiseledger/bench"
)

// httpAppends runs the whole ledger serve (embedded server, every append
// fsynced, the demo data set for its tokens) and measures commitments made
// through its HTTP API by c.Writers clients at once.
func httpAppends(ctx context.Context, c bench.Config) (float64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	url, done, err := serveInProcess(ctx, []string{"--data", filepath.Join(c.Dir, "http"), "--http", "127.0.0.1:0", "--demo",
		"--rate", "1000000", "--burst", "1000000", "--max-conns-per-addr", "0"}, func(string) string { return "" }, &syncBuffer{}, io.Discard)
	if err != nil {
		return 0, err
	}
	defer func() { cancel(); <-done }()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.Writers}, Timeout: time.Minute}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if res, err := client.Get(url + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return 0, errors.New("serve never ready")
		}
	}
	rate, err := bench.Concurrently(c.Appends, c.Writers, func(i int) error {
		body := fmt.Sprintf(`{"county":"532301","department":"财政局","project":"基准项目%d","investor":{"name":"企业","registered":false},"kind":"subsidy","description":"设备补助","quantity":{"value":"1000000.00","unit":"CNY"},"made_on":"2024-01-02","due":"2025-01-02"}`, i)
		req, _ := http.NewRequestWithContext(ctx, "POST", url+"/api/v1/commitments", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer pl_demo-532301_demo")
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			return err
		}
		if res.StatusCode != http.StatusCreated {
			return fmt.Errorf("POST /api/v1/commitments: %d", res.StatusCode)
		}
		return nil
	})
	if c.Log != nil {
		fmt.Fprintf(c.Log, "%-28s %10.0f appends/s\n", "http-appends", rate)
	}
	return rate, err
}

// benchCmd measures the ledger beside raw JetStream, in this process, and
// prints each figure with its baseline and the ratio.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c bench.Config
	var dir string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ledger bench [--appends N] [--writers N] [--commitments N]\n\nMeasures durable appends (group commit and alone, and through the HTTP API of a whole ledger serve) beside raw JetStream per-message and atomic-batch publishing, --sync interval appends beside raw publishing, the rebuild beside a raw read of the same stream, and the county view kept beside counted afresh; each on an embedded server of its own in a temporary folder.")
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
	web, err := httpAppends(ctx, c)
	if err != nil {
		return fmt.Errorf("appends through HTTP: %w", err)
	}
	for _, f := range figures {
		if f.Baseline == "raw per-message SyncAlways publish, "+fmt.Sprint(c.Writers)+" publishers" {
			figures = append(figures, bench.Figure{What: "durable appends/s through HTTP (POST /api/v1/commitments), " + fmt.Sprint(c.Writers) + " clients",
				Unit: "appends/s", Value: web, Baseline: f.Baseline, BaselineValue: f.BaselineValue, HigherIsBetter: true})
			break
		}
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
