package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

const usage = `Promise Ledger — a ledger of incentive promises that nobody can quietly forget.

Usage:
  ledger serve [flags]    run the ledger: embedded JetStream, HTTP API
  ledger rebuild [flags]  rebuild the views from event one and save a checkpoint
  ledger backup|restore [flags] BACKUP_DIR   every stream, by JetStream snapshots; restore verifies
  ledger token add|list|revoke   manage bearer tokens (for programs)
  ledger user add|list|disable|reset   manage the web pages' accounts (for people)
  ledger alerts [--county C] [--rule R] [--follow]   print supervision alerts from a running ledger
  ledger report overdue --as-of DATE [--format md|csv|xlsx]   the overdue bulletin (通报)
  ledger export [--format xlsx|csv] [--county C] [--as-of DATE] [--on DATE] --out FILE   the commitments as a workbook
  ledger audit pubkey|verify|check-proof|export   prove that nothing was altered
  ledger import FILE [--dry-run] [--skip-invalid]   import a county's ledger (台账, .xlsx or CSV)
  ledger template > 承诺台账模板.xlsx   the import template
  ledger gen --data DIR --commitments N [--province 129]   a synthetic ledger of any size
  ledger bench [--appends N] [--commitments N]   the ledger measured beside raw JetStream
  ledger help             this text

Run "ledger COMMAND -h" for its flags.
`

// run is the whole program; main only calls it, and tests call it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return errors.New("a command is required")
	}
	switch cmd, rest := args[1], args[2:]; cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "rebuild":
		return rebuild(ctx, rest, getenv, stdout, stderr)
	case "backup":
		return backupCmd(ctx, rest, getenv, stdout, stderr)
	case "restore":
		return restoreCmd(ctx, rest, getenv, stdout, stderr)
	case "token":
		return tokenCmd(ctx, rest, getenv, stdout, stderr)
	case "bench":
		return benchCmd(ctx, rest, stdout, stderr)
	case "gen":
		return genCmd(ctx, rest, getenv, stdout, stderr)
	case "user":
		return userCmd(ctx, rest, getenv, stdout, stderr)
	case "alerts":
		return alertsCmd(ctx, rest, getenv, stdout, stderr)
	case "report":
		return reportCmd(ctx, rest, getenv, stdout, stderr)
	case "audit":
		return auditCmd(ctx, rest, getenv, stdout, stderr)
	case "import":
		return importCmd(ctx, rest, getenv, stdout, stderr)
	case "export":
		return exportCmd(ctx, rest, getenv, stdout, stderr)
	case "template":
		return templateCmd(rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// isHelp reports whether a subcommand's first argument asks for its usage.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

// parseInterspersed parses flags that may stand before or after the
// positional arguments, and returns those; -h is not an error.
func parseInterspersed(fs *flag.FlagSet, args []string) (positional []string, help bool, err error) {
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return nil, true, nil
		} else if err != nil {
			return nil, false, err
		}
		if fs.NArg() == 0 {
			return positional, false, nil
		}
		positional, args = append(positional, fs.Arg(0)), fs.Args()[1:]
	}
}

// parseFlags parses a subcommand's flags; -h prints them and is not an error.
func parseFlags(fs *flag.FlagSet, args []string) (help bool, err error) {
	err = fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return true, nil
	}
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return false, err
}
