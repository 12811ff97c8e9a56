package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"promiseledger/imports"
)

// importCmd sends a county's ledger (台账) to a running ledger in one
// request and prints what became of every row, in Chinese (or English),
// with a progress bar on a terminal; it can also write the file annotated
// with its problems, and the rejected rows as a workbook to fix.
func importCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c clientFlags
	var dryRun, skip bool
	var lang, annotated, rejected, county string
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ledger import FILE [--county CODE] [--dry-run] [--skip-invalid] [--report FILE.xlsx] [--rejected FILE.xlsx] [--lang zh|en]\n\nImports a county's ledger (.xlsx, or CSV in UTF-8 or GB18030) into a running ledger. Every row is checked first; one bad row imports nothing unless --skip-invalid.")
		fs.PrintDefaults()
	}
	c.register(fs, getenv)
	fs.BoolVar(&dryRun, "dry-run", false, "check every row, import nothing")
	fs.BoolVar(&skip, "skip-invalid", false, "import the good rows and report the rest")
	fs.StringVar(&annotated, "report", "", "also write the file with every problem marked (red cell, a comment, a list) to this .xlsx")
	fs.StringVar(&rejected, "rejected", "", "also write the rows not imported, with their problems, to this .xlsx: fix it and import it again")
	fs.StringVar(&lang, "lang", "zh", "the report's language: zh or en")
	fs.StringVar(&county, "county", "", "the county whose ledger this is (code): rows without a county are its, rows of another are refused (a county office's token implies its own)")
	positional, help, err := parseInterspersed(fs, args)
	if help || err != nil {
		return err
	}
	if len(positional) > 1 {
		return fmt.Errorf("import: one FILE only, not also %q", positional[1])
	}
	if len(positional) == 0 {
		fs.Usage()
		return errors.New("import: a FILE is required")
	}
	file := positional[0]
	if c.token == "" {
		return errors.New("--token (or LEDGER_TOKEN) is required")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", filepath.Base(file))
	if err != nil {
		return err
	}
	_, _ = fw.Write(data)
	_ = mw.Close()
	u := strings.TrimRight(c.url, "/") + "/api/v1/imports?" + query(map[string]string{"dry_run": fmt.Sprint(dryRun), "skip_invalid": fmt.Sprint(skip), "lang": lang, "county": county}).Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	status, rep, err := readImportAnswer(res, stderr)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, rep.Text(lang))
	if len(rep.Problems) > 0 && (annotated != "" || rejected != "") {
		read := imports.ReadCSV
		if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
			read = imports.ReadXLSX
		}
		tab, err := read(bytes.NewReader(data))
		if err != nil {
			return err
		}
		if annotated != "" {
			b, err := imports.Annotate(data, tab, rep.Problems, lang)
			if err != nil {
				return err
			}
			if err := os.WriteFile(annotated, b, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "问题已标注在 %s（红色单元格，批注说明） problems marked in %s\n", annotated, annotated)
		}
		if rejected != "" && rep.Rejected > 0 {
			var b bytes.Buffer
			if err := imports.Rejected(tab, rep.Problems, lang).WriteXLSX(&b); err != nil {
				return err
			}
			if err := os.WriteFile(rejected, b.Bytes(), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "未导入的 %d 行已写入 %s：修改后可再次导入 rows not imported written to %s\n", rep.Rejected, rejected, rejected)
		}
	}
	if status != http.StatusOK {
		return fmt.Errorf("nothing was imported: %d rows have problems (fix them, or use --skip-invalid)", rep.Rejected)
	}
	return nil
}

// readImportAnswer reads an import's NDJSON answer: progress lines, shown
// as a bar when stderr is a terminal, then the status and the report (or
// the error).
func readImportAnswer(res *http.Response, stderr io.Writer) (int, imports.Report, error) {
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/x-ndjson") {
		var e struct {
			Error struct{ Code, Message string }
		}
		_ = json.NewDecoder(io.LimitReader(res.Body, 1<<16)).Decode(&e)
		return 0, imports.Report{}, fmt.Errorf("%s: %s %s", res.Status, e.Error.Code, e.Error.Message)
	}
	var bar *progressbar.ProgressBar
	defer func() {
		if bar != nil {
			_ = bar.Finish()
			fmt.Fprintln(stderr)
		}
	}()
	dec := json.NewDecoder(io.LimitReader(res.Body, 64<<20))
	for {
		var line struct {
			Progress *struct{ Done, Total int64 }
			Status   int
			Report   *imports.Report
			Error    *struct{ Code, Message string }
		}
		if err := dec.Decode(&line); err != nil {
			return 0, imports.Report{}, fmt.Errorf("the import's answer ended early (the ledger may have stopped; importing again adds nothing twice): %w", err)
		}
		switch {
		case line.Progress != nil:
			if bar == nil && isTerminal(stderr) {
				bar = progressbar.NewOptions64(line.Progress.Total, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("导入 importing"),
					progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("行 rows"), progressbar.OptionSetPredictTime(true),
					progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionFullWidth())
			}
			if bar != nil {
				_ = bar.Set64(line.Progress.Done)
			}
		case line.Error != nil:
			return 0, imports.Report{}, fmt.Errorf("%d: %s %s", line.Status, line.Error.Code, line.Error.Message)
		case line.Report != nil:
			return line.Status, *line.Report, nil
		}
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// templateCmd writes the import template (承诺台账模板.xlsx) to stdout.
func templateCmd(args []string, stdout, stderr io.Writer) error {
	var counties string
	fs := flag.NewFlagSet("template", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&counties, "counties", "", "JSON file with the county list (as for serve)")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	j, err := loadJurisdiction(counties)
	if err != nil {
		return err
	}
	b, err := imports.Template(j)
	if err != nil {
		return err
	}
	_, err = stdout.Write(b)
	return err
}
