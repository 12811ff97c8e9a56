package demo

import (
	"errors"
	"fmt"
	"io"
	"time"

	"promiseledger/access"
	"promiseledger/events"
)

// Password is the demo accounts' password: public, like the demo tokens'
// secrets, and honoured only while serving with --demo.
const Password = "demo-password"

// AddUsers stores the demo's accounts — one per role and a clerk per
// county, under the demo's offices — and prints them (those already there
// are kept).
func AddUsers(users access.Users, j *events.Jurisdiction, now time.Time, w io.Writer) error {
	toks, err := Tokens(j, now)
	if err != nil {
		return err
	}
	hash, err := access.HashPassword(Password)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "演示账号 Demo accounts (password %q; sign in at the address below):\n", Password)
	for _, t := range toks {
		r := t.Record
		u := access.User{Name: r.ID, Office: r.Name, Role: r.Role, County: r.County, PasswordHash: hash, CreatedAt: now.UTC(), ChangedAt: now.UTC(), Demo: true}
		if err := users.Add(u); err != nil && !errors.Is(err, access.ErrUserExists) {
			return err
		}
		fmt.Fprintf(w, "  %-16s %-10s %s\n", u.Name, u.Role, u.Office)
	}
	return nil
}
