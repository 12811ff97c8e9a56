package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"promiseledger/access"
	"promiseledger/events"
	"promiseledger/jsstore"
)

var userUsage = `Usage:
  ledger user add --name NAME --office OFFICE --role ROLE [--county CODE] [flags]
  ledger user list [flags]
  ledger user disable [flags] NAME
  ledger user reset [flags] NAME

Accounts of people who sign in to the web pages, each under an office with
a role (` + events.OneOf(access.Roles) + `) and, for a county office, a county.
"add" and "reset" read the password from standard input or --password-file
(one line; at least ` + fmt.Sprint(access.MinPassword) + ` characters); it is stored hashed (argon2id). A disabled
account signs in no more, and its sessions end. Run on a stopped ledger's
--data folder, or with --nats-url on a cluster; while a ledger serves, an
admin can use the users page instead.
`

// userCmd manages the web pages' accounts.
func userCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, userUsage)
		return errors.New("user: a subcommand is required: add, list, disable or reset")
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, userUsage)
		return nil
	}
	var c connFlags
	var req access.UserRequest
	var counties, passwordFile string
	fs := flag.NewFlagSet("user "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, userUsage, "\nFlags:\n"); fs.PrintDefaults() }
	c.register(fs, getenv)
	fs.StringVar(&counties, "counties", "", "JSON file with the county list (as for serve)")
	if args[0] == "add" || args[0] == "reset" {
		fs.StringVar(&passwordFile, "password-file", "-", "read the password from this file's first line (-: standard input)")
	}
	if args[0] == "add" {
		fs.StringVar(&req.Name, "name", "", "the sign-in name, e.g. zhangsan")
		fs.StringVar(&req.Office, "office", "", "the office, e.g. 楚雄市投资促进局")
		fs.StringVar(&req.Role, "role", "", events.OneOf(access.Roles))
		fs.StringVar(&req.County, "county", "", "the county code, for the county role")
	}
	positional, help, err := parseInterspersed(fs, args[1:])
	if help || err != nil {
		return err
	}
	juris, err := loadJurisdiction(counties)
	if err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	password := func() (string, error) {
		in := io.Reader(os.Stdin)
		if passwordFile != "-" {
			f, err := os.Open(passwordFile)
			if err != nil {
				return "", err
			}
			defer f.Close()
			in = f
		}
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	name := func() (string, error) {
		if len(positional) != 1 {
			return "", fmt.Errorf("user %s: the user's NAME is required (ledger user list shows them)", args[0])
		}
		return positional[0], nil
	}
	switch args[0] {
	case "add":
		if len(positional) > 0 {
			return fmt.Errorf("user add: unexpected argument %q", positional[0])
		}
		if req.Password, err = password(); err != nil {
			return err
		}
		u, err := access.NewUser(req, countySet{juris}, time.Now())
		if err != nil {
			return fmt.Errorf("user add: %w", err)
		}
		return withUsers(ctx, c, stderr, func(users access.Users) error {
			if err := users.Add(u); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "added %s (%s, %s)\n", u.Name, u.Office, u.Role)
			return nil
		})
	case "list":
		return withUsers(ctx, c, stderr, func(users access.Users) error {
			rows := [][]string{{"NAME", "OFFICE", "ROLE", "COUNTY", "CREATED", "STATE"}}
			for _, u := range users.List() {
				state := "active"
				if u.DisabledAt != nil {
					state = "disabled " + u.DisabledAt.Format(time.RFC3339)
				}
				county := u.County
				if county == "" {
					county = "-"
				}
				rows = append(rows, []string{u.Name, u.Office, string(u.Role), county, u.CreatedAt.Format(time.RFC3339), state})
			}
			return writeTable(stdout, rows)
		})
	case "disable", "reset":
		n, err := name()
		if err != nil {
			return err
		}
		var hash string
		if args[0] == "reset" {
			pw, err := password()
			if err != nil {
				return err
			}
			if hash, err = access.HashPassword(pw); err != nil {
				return fmt.Errorf("user reset: %w", err)
			}
		}
		return withUsers(ctx, c, stderr, func(users access.Users) error {
			err := users.Update(n, func(u *access.User) error {
				now := time.Now().UTC()
				if hash == "" {
					u.DisabledAt = &now
				} else {
					u.PasswordHash, u.ChangedAt, u.DisabledAt = hash, now, nil
				}
				return nil
			})
			if err != nil {
				return err
			}
			done := map[string]string{"disable": "disabled", "reset": "reset the password of"}[args[0]]
			fmt.Fprintf(stdout, "%s %s\n", done, n)
			return nil
		})
	}
	fmt.Fprint(stderr, userUsage)
	return fmt.Errorf("user: unknown subcommand %q", args[0])
}

// countySet answers whether a code is a county of the jurisdiction.
type countySet struct{ j *events.Jurisdiction }

func (c countySet) Has(code string) bool { _, ok := c.j.County(code); return ok }

// withUsers opens the ledger's accounts for fn.
func withUsers(ctx context.Context, c connFlags, stderr io.Writer, fn func(access.Users) error) error {
	return withStore(ctx, c, stderr, func(store *jsstore.Store) error {
		users, err := store.OpenUsers(ctx)
		if err != nil {
			return err
		}
		defer users.Close()
		return fn(users)
	})
}
