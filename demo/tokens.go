package demo

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"promiseledger/access"
	"promiseledger/events"
)

// Token is a well-known demo token: its bearer string and its record.
type Token struct {
	Bearer string
	Record access.Token
}

// Tokens are the demo's tokens: one per role and one per county. Their
// secrets are public ("demo"): they exist only where --demo was given.
func Tokens(j *events.Jurisdiction, now time.Time) ([]Token, error) {
	type spec struct {
		id string
		p  access.Principal
	}
	specs := []spec{
		{"demo-supervisor", access.Principal{Name: "【演示】州投资促进局督查科", Role: access.Supervisor}},
		{"demo-auditor", access.Principal{Name: "【演示】州审计局", Role: access.Auditor}},
		{"demo-admin", access.Principal{Name: "【演示】系统管理员", Role: access.Admin}},
	}
	for _, c := range j.Counties {
		specs = append(specs, spec{"demo-" + c.Code, access.Principal{Name: "【演示】" + c.Name + "投资促进局", Role: access.County, County: c.Code}})
	}
	out := make([]Token, 0, len(specs))
	for _, s := range specs {
		bearer, rec, err := access.FixedToken(s.p, s.id, "demo", nil, now)
		if err != nil {
			return nil, err
		}
		out = append(out, Token{Bearer: bearer, Record: rec})
	}
	return out, nil
}

// AddTokens stores the demo tokens (those already there are kept) and
// prints them, so that a newcomer can try every role.
func AddTokens(reg access.Registry, j *events.Jurisdiction, now time.Time, w io.Writer) error {
	toks, err := Tokens(j, now)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "演示令牌 Demo tokens (synthetic data set only; never use --demo in production):")
	for _, t := range toks {
		if err := reg.Add(t.Record); err != nil && !errors.Is(err, access.ErrTokenExists) {
			return err
		}
		county := t.Record.County
		if county == "" {
			county = "-"
		}
		fmt.Fprintf(w, "  %-10s %-6s %-32s %s\n", t.Record.Role, county, t.Bearer, t.Record.Name)
	}
	return nil
}

// Refuse wraps a registry so that the demo's tokens, whose secrets are
// public, authenticate nobody: a ledger served without --demo never honours
// them, even on a folder where a demo once ran.
func Refuse(r access.Registry) access.Registry { return refused{r} }

type refused struct{ access.Registry }

func (r refused) Lookup(id string) (access.Token, bool) {
	if strings.HasPrefix(id, access.DemoPrefix) {
		return access.Token{}, false
	}
	return r.Registry.Lookup(id)
}

// Present reports whether the registry holds demo tokens: the folder held
// the demo data set.
func Present(r access.Registry) bool {
	for _, t := range r.List() {
		if t.Demo() {
			return true
		}
	}
	return false
}
