// Package web holds the ledger's web pages: the templates and assets
// embedded in the binary, the words of both languages (Chinese first), and
// the charts, drawn as SVG on the server so that a page reads without
// JavaScript. It renders what it is given; the handlers that decide what
// to show, and who may see it, are the API server's.
package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"math/big"
	"strings"

	"promiseledger/events"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Static is the pages' assets (CSS, the one script), served under /static/.
func Static() fs.FS {
	sub, _ := fs.Sub(staticFS, "static")
	return sub
}

// Page is what every page gets: the language and its words, who is signed
// in, the CSRF token for its forms, and the page's own data.
type Page struct {
	Lang   string
	T      map[string]string
	Title  string
	User   *Viewer
	CSRF   string
	Path   string // the page's own path and query, for the language switch
	Notice string // a line at the top: what the last action did
	Data   any
}

// Viewer is the person signed in, as the pages show them.
type Viewer struct {
	Name, Office, Role, County, CountyName string
	May                                    map[string]bool // actions of access: read, record, approve, manage, audit
}

var pages = template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html"))

// Render writes the page named name (its template defines "name").
func Render(w io.Writer, name string, p Page) error {
	if p.T == nil {
		p.T = Words(p.Lang)
	}
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, p); err != nil {
		return err
	}
	_, err := b.WriteTo(w)
	return err
}

var funcs = template.FuncMap{
	"wan":     Wan,
	"amount":  Amount,
	"owed":    Owed,
	"rate":    Rate,
	"word":    func(t map[string]string, prefix string, v any) string { return wordOf(t, prefix, fmt.Sprint(v)) },
	"add":     func(a, b int) int { return a + b },
	"bars":    Bars,
	"hasUnit": HasUnit,
	"short":   func(s string) string { return short(s, 12) },
	"join":    strings.Join,
	"formOf": func(id, csrf string, t map[string]string, f Form) map[string]any {
		return map[string]any{"ID": id, "CSRF": csrf, "Form": f, "Submit": t["submit"]}
	},
}

// wordOf is the word for prefix.value ("kind.land"), or the value itself.
func wordOf(t map[string]string, prefix, v string) string {
	if w, ok := t[prefix+"."+v]; ok {
		return w
	}
	return v
}

func short(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// Wan is an amount in 元 as 万元 with two decimals ("125.50"), exactly
// rounded half up; "0.00" for none.
func Wan(qs []events.Quantity) string {
	for _, q := range qs {
		if q.Unit == events.CNY {
			r, _ := new(big.Rat).SetString(q.Value.String())
			r.Quo(r, big.NewRat(10_000, 1))
			return group(r.FloatString(2))
		}
	}
	return "0.00"
}

// Owed is the amount of one unit among qs, as the unit writes it ("0" for
// none).
func Owed(qs []events.Quantity, unit string) string {
	for _, q := range qs {
		if string(q.Unit) == unit {
			return group(q.Value.String())
		}
	}
	return "0"
}

// HasUnit reports whether qs holds an amount of unit.
func HasUnit(qs []events.Quantity, unit string) bool {
	for _, q := range qs {
		if string(q.Unit) == unit && q.Value.Sign() > 0 {
			return true
		}
	}
	return false
}

// Amount is one quantity as a clerk reads it: 万元 for money, else the value
// and its unit's word.
func Amount(t map[string]string, q events.Quantity) string {
	if q.Unit == events.CNY {
		return Wan([]events.Quantity{q}) + " " + t["unit.wan"]
	}
	return group(q.Value.String()) + " " + wordOf(t, "unit", string(q.Unit))
}

// Rate is a rate ("0.8333") as a percentage ("83.3%"), or "—".
func Rate(r *string) string {
	if r == nil {
		return "—"
	}
	v, ok := new(big.Rat).SetString(*r)
	if !ok {
		return *r
	}
	return v.Mul(v, big.NewRat(100, 1)).FloatString(1) + "%"
}

// group writes thousands separators into a decimal ("1255000.5" is
// "1,255,000.5").
func group(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	if hasFrac {
		return sign + b.String() + "." + frac
	}
	return sign + b.String()
}
