// Command ledger is Promise Ledger: an event-sourced ledger of the incentives
// that county governments promise investors, kept on NATS JetStream.
//
//	ledger serve [flags]   serve the HTTP API (see ledger serve -h)
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ledger:", err)
		os.Exit(1)
	}
}
