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

	"promiseledger/imports"
)

// importCmd sends a county's ledger (台账) to a running ledger in one
// request and prints what became of every row, in Chinese.
func importCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c clientFlags
	var dryRun, skip bool
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ledger import FILE [--dry-run] [--skip-invalid]\n\nImports a county's ledger (.xlsx, or CSV in UTF-8 or GB18030) into a running ledger. Every row is checked first; one bad row imports nothing unless --skip-invalid.")
		fs.PrintDefaults()
	}
	c.register(fs, getenv)
	fs.BoolVar(&dryRun, "dry-run", false, "check every row, import nothing")
	fs.BoolVar(&skip, "skip-invalid", false, "import the good rows and report the rest")
	positional, help, err := parseInterspersed(fs, args)
	if help || err != nil {
		return err
	}
	if len(positional) > 1 {
		return fmt.Errorf("import: one FILE only, not also %q", positional[1])
	}
	file := ""
	if len(positional) == 1 {
		file = positional[0]
	}
	if file == "" {
		fs.Usage()
		return errors.New("import: a FILE is required")
	}
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
	u := strings.TrimRight(c.url, "/") + "/api/v1/imports?" + query(map[string]string{"dry_run": fmt.Sprint(dryRun), "skip_invalid": fmt.Sprint(skip)}).Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var rep struct {
		DryRun   bool `json:"dry_run"`
		Rows     int  `json:"rows"`
		Imported int  `json:"imported"`
		Already  int  `json:"already"`
		Rejected int  `json:"rejected"`
		Problems []struct {
			Row                 int
			Column, Value, Rule string
		} `json:"problems"`
		Error *struct{ Code, Message string } `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 16<<20)).Decode(&rep); err != nil {
		return fmt.Errorf("%s: %w", res.Status, err)
	}
	if rep.Error != nil {
		return fmt.Errorf("%s: %s %s", res.Status, rep.Error.Code, rep.Error.Message)
	}
	verb := "导入"
	if rep.DryRun {
		verb = "可导入（试运行，未导入）"
	}
	fmt.Fprintf(stdout, "共 %d 行：%s %d 行，此前已导入 %d 行，有问题 %d 行。\n", rep.Rows, verb, rep.Imported, rep.Already, rep.Rejected)
	for _, p := range rep.Problems {
		if p.Column == "" {
			fmt.Fprintf(stdout, "  第%d行：%s\n", p.Row, p.Rule)
		} else {
			fmt.Fprintf(stdout, "  第%d行「%s」列（%q）：%s\n", p.Row, p.Column, p.Value, p.Rule)
		}
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("nothing was imported: %d rows have problems (fix them, or use --skip-invalid)", rep.Rejected)
	}
	return nil
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
