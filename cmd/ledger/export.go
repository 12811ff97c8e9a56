package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"

	"promiseledger/events"
)

// exportCmd writes the commitments of a running ledger as a workbook (or
// CSV) that opens cleanly in Chinese Excel and imports back as it is.
func exportCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c clientFlags
	var format, county, kind, status, overdue, asOf, on, lang, out string
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ledger export [--format xlsx|csv] [--county CODE] [--as-of DATE] [--on DATE] [--out FILE]\n\nWrites the commitments (every one the filters select) in the import template's shape, plus status, outstanding and days overdue.")
		fs.PrintDefaults()
	}
	c.register(fs, getenv)
	fs.StringVar(&format, "format", "xlsx", "xlsx or csv (UTF-8 with a BOM, for Excel)")
	fs.StringVar(&county, "county", "", "only this county (code)")
	fs.StringVar(&kind, "kind", "", "only this kind: "+events.OneOf(events.Kinds))
	fs.StringVar(&status, "status", "", "only this status: "+events.OneOf(events.Statuses))
	fs.StringVar(&overdue, "overdue", "", "true: only overdue ones; false: only the others")
	fs.StringVar(&asOf, "as-of", "", "as the ledger had recorded it by this date, YYYY-MM-DD or RFC 3339")
	fs.StringVar(&on, "on", "", "the facts as they stood on this date, YYYY-MM-DD, by their own dates")
	fs.StringVar(&lang, "lang", "zh", "zh or en (headers and words)")
	fs.StringVar(&out, "out", "", "write to this file (default: standard output, unless it is a terminal)")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	res, err := c.get(ctx, "/api/v1/commitments/export", query(map[string]string{"format": format, "county": county, "kind": kind,
		"status": status, "overdue": overdue, "as_of": asOf, "on": on, "lang": lang}))
	if err != nil {
		return err
	}
	return save(res, out, format, stdout, stderr)
}

// save writes a download to the file out, or to stdout; a workbook is not
// written to a terminal, where it would only garble the screen.
func save(res *http.Response, out, format string, stdout, stderr io.Writer) error {
	defer res.Body.Close()
	if out == "" {
		if isTerminal(stdout) && format == "xlsx" {
			return errors.New("standard output is a terminal: give --out FILE.xlsx, or redirect it (> FILE.xlsx)")
		}
		_, err := io.Copy(stdout, res.Body)
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, res.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	fmt.Fprintf(stderr, "已写入 %s（%d 字节） written\n", out, n)
	return nil
}
