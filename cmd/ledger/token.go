package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/rivo/uniseg"

	"promiseledger/access"
	"promiseledger/events"
	"promiseledger/jsstore"
)

var tokenUsage = `Usage:
  ledger token add --role ROLE [--county CODE] --name NAME [--expires YYYY-MM-DD] [flags]
  ledger token list [flags]
  ledger token revoke [flags] NAME

ROLE is ` + events.OneOf(access.Roles) + `; --county goes with the county
role only. "add" prints the new token, and only the token, on stdout; only its
hash is stored. Run on a stopped ledger's --data folder, or with --nats-url on a
cluster; while a ledger serves, an admin can use the API instead
(POST /api/v1/tokens). The last admin token is not revoked: add another admin
token first.
`

// tokenCmd manages bearer tokens.
func tokenCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, tokenUsage)
		return errors.New("token: a subcommand is required: add, list or revoke")
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, tokenUsage)
		return nil
	}
	var (
		c        connFlags
		req      access.TokenRequest
		counties string
	)
	fs := flag.NewFlagSet("token "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, tokenUsage, "\nFlags:\n"); fs.PrintDefaults() }
	c.register(fs, getenv)
	fs.StringVar(&counties, "counties", "", "JSON file with the county list (as for serve)")
	if args[0] == "add" {
		fs.StringVar(&req.Name, "name", "", "who the token stands for, e.g. 楚雄市投资促进局")
		fs.StringVar(&req.Role, "role", "", events.OneOf(access.Roles))
		fs.StringVar(&req.County, "county", "", "the county code, for the county role")
		fs.StringVar(&req.Expires, "expires", "", "last day the token works, YYYY-MM-DD (default: no expiry)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	juris, err := loadJurisdiction(counties)
	if err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	switch args[0] {
	case "add":
		if fs.NArg() > 0 {
			return fmt.Errorf("token add: unexpected argument %q", fs.Arg(0))
		}
		b, t, err := access.MakeToken(req, juris, time.Now())
		if err != nil {
			return fmt.Errorf("token add: %w", err)
		}
		return withTokens(ctx, c, stderr, func(reg access.Registry) error {
			if err := reg.Add(t); err != nil {
				return err
			}
			fmt.Fprintln(stdout, b)
			return nil
		})
	case "list":
		return withTokens(ctx, c, stderr, func(reg access.Registry) error {
			rows := [][]string{{"NAME", "ROLE", "COUNTY", "EXPIRES", "CREATED", "STATE"}}
			today := juris.Today(time.Now())
			for _, t := range reg.List() {
				state := "active"
				switch {
				case t.RevokedAt != nil:
					state = "revoked " + t.RevokedAt.Format(time.RFC3339)
				case !t.Active(today):
					state = "expired"
				}
				exp := "-"
				if t.Expires != nil {
					exp = t.Expires.String()
				}
				county := t.County
				if county == "" {
					county = "-"
				}
				rows = append(rows, []string{t.Name, string(t.Role), county, exp, t.CreatedAt.Format(time.RFC3339), state})
			}
			return writeTable(stdout, rows)
		})
	case "revoke":
		if fs.NArg() != 1 {
			return errors.New("token revoke: the token's NAME is required (ledger token list shows them)")
		}
		return withTokens(ctx, c, stderr, func(reg access.Registry) error {
			if err := reg.Revoke(fs.Arg(0), time.Now()); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "revoked %s\n", fs.Arg(0))
			return nil
		})
	}
	fmt.Fprint(stderr, tokenUsage)
	return fmt.Errorf("token: unknown subcommand %q", args[0])
}

// withTokens opens the ledger's token registry for fn.
func withTokens(ctx context.Context, c connFlags, stderr io.Writer, fn func(access.Registry) error) error {
	return withStore(ctx, c, stderr, func(store *jsstore.Store) error {
		tokens, err := store.OpenTokens(ctx)
		if err != nil {
			return err
		}
		defer tokens.Close()
		return fn(tokens)
	})
}

// withStore opens the ledger's store (a stopped ledger's folder, or a
// cluster) for fn, logging only warnings.
func withStore(ctx context.Context, c connFlags, stderr io.Writer, fn func(*jsstore.Store) error) error {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, _, closeStore, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer closeStore()
	return fn(store)
}

// loadJurisdiction reads a county list file, or returns the default list.
func loadJurisdiction(path string) (*events.Jurisdiction, error) {
	if path == "" {
		return events.DefaultJurisdiction(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--counties: %w", err)
	}
	j, err := events.ParseJurisdiction(b)
	if err != nil {
		return nil, fmt.Errorf("--counties %s: %w", path, err)
	}
	return j, nil
}

// writeTable writes rows in columns aligned by display width, so that a
// column of Chinese names (two cells a character) lines up as a terminal
// shows it, which text/tabwriter, counting runes, does not.
func writeTable(w io.Writer, rows [][]string) error {
	var widths []int
	for _, r := range rows {
		for i, cell := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], uniseg.StringWidth(cell))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		for i, cell := range r {
			b.WriteString(cell)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-uniseg.StringWidth(cell)+2))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
