package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"promiseledger/access"
	"promiseledger/events"
	"promiseledger/imports"
	"promiseledger/internal/sheet"
	"promiseledger/ledger"
	"promiseledger/projections"
)

// importWorkers is how many rows an import appends at once: each append
// waits for its own fsync, so rows in flight together share the disk's
// time instead of queueing for it one by one.
const importWorkers = 16

// ndjson is the media type of an import that reports its progress: a line
// {"progress":{"done":n,"total":m}} now and then, and last {"status":…,
// "report":{…}}.
const ndjson = "application/x-ndjson"

// handleImport takes a county ledger (multipart field "file": .xlsx, or CSV
// in UTF-8 or GB18030) in one request: every row is checked before any is
// imported; one bad row imports nothing unless skip_invalid=true; with
// dry_run=true nothing is imported. A county office imports its own
// county's rows only. Each row's idempotency key comes from its content, so
// importing a file again, or an overlapping one, adds nothing twice.
//
// report= chooses the answer: json (the default; as NDJSON with progress
// lines when the client accepts application/x-ndjson), text, xlsx (the
// upload annotated: each bad cell red with a comment) or rejected (a
// workbook of the rows not imported, to fix and import again); lang=en
// gives the rules in English.
func (s *Server) handleImport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		dryRun, skip := q.Get("dry_run") == "true", q.Get("skip_invalid") == "true"
		for _, name := range []string{"dry_run", "skip_invalid"} {
			if v := q.Get(name); v != "" && v != "true" && v != "false" {
				writeError(w, badRequest("validation_failed", name, "%s: must be true or false", name))
				return
			}
		}
		format, lang := q.Get("report"), q.Get("lang")
		switch {
		case format == "":
			format = "json"
		case format != "json" && format != "text" && format != "xlsx" && format != "rejected":
			writeError(w, badRequest("validation_failed", "report", "report: must be json, text, xlsx or rejected"))
			return
		}
		switch lang {
		case "":
			lang = "zh"
		case "zh", "en":
		default:
			writeError(w, badRequest("validation_failed", "lang", "lang: must be zh or en"))
			return
		}
		data, _, err := uploadedFile(w, r, imports.MaxFileBytes)
		if err != nil {
			writeError(w, err)
			return
		}
		read := imports.ReadCSV
		if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
			read = imports.ReadXLSX
		}
		tab, err := read(bytes.NewReader(data))
		if err != nil {
			writeError(w, badRequest("validation_failed", "file", "file: %v", err))
			return
		}
		progress := format == "json" && strings.Contains(r.Header.Get("Accept"), ndjson)
		var out *progressWriter
		if progress {
			out = s.progressWriter(w)
		}
		// A county office's file is its own county's, and may leave the
		// county out; anyone may say whose file it is with county=.
		county, nothing := principal(r).Scope(q.Get("county"))
		if _, ok := s.reads.Jurisdiction().County(county); county != "" && (!ok || nothing) {
			writeError(w, badRequest("validation_failed", "county", "county: %q is not a county of the jurisdiction that this token may import for", q.Get("county")))
			return
		}
		status, rep, err := s.importTable(r.Context(), principal(r), tab, county, dryRun, skip, out)
		if err != nil {
			if out != nil {
				out.fail(err)
				return
			}
			writeError(w, err)
			return
		}
		answer := func(status int) {
			w.Header().Set("X-Import-Rows", strconv.Itoa(rep.Rows))
			w.Header().Set("X-Import-Imported", strconv.Itoa(rep.Imported))
			w.Header().Set("X-Import-Already", strconv.Itoa(rep.Already))
			w.Header().Set("X-Import-Rejected", strconv.Itoa(rep.Rejected))
			w.WriteHeader(status)
		}
		switch {
		case out != nil:
			out.done(status, rep.In(lang))
		case format == "text":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			answer(status)
			_, _ = w.Write([]byte(rep.Text(lang)))
		case format == "xlsx":
			b, err := imports.Annotate(data, tab, rep.Problems, lang)
			if err != nil {
				writeError(w, fmt.Errorf("annotate the upload: %w", err))
				return
			}
			w.Header().Set("Content-Type", xlsxType)
			w.Header().Set("Content-Disposition", sheet.ContentDisposition("import-problems.xlsx", imports.AnnotatedName(lang)))
			answer(status)
			_, _ = w.Write(b)
		case format == "rejected":
			var b bytes.Buffer
			if err := imports.Rejected(tab, rep.Problems, lang).WriteXLSX(&b); err != nil {
				writeError(w, err)
				return
			}
			w.Header().Set("Content-Type", xlsxType)
			w.Header().Set("Content-Disposition", sheet.ContentDisposition("rejected-rows.xlsx", imports.RejectedName(lang)))
			answer(status)
			_, _ = w.Write(b.Bytes())
		default:
			encode(w, status, rep.In(lang))
		}
	})
}

// importTable checks every row of a table (of county, if not ""; rows
// without one are of it) and, unless a row is bad (and skip is false) or
// dryRun, imports the good ones; status is what the
// answer's status is to be. An error is a failure of the ledger itself.
func (s *Server) importTable(ctx context.Context, p access.Principal, tab imports.Table, county string, dryRun, skip bool, out *progressWriter) (int, imports.Report, error) {
	rep := imports.Report{DryRun: dryRun, Sheet: tab.Sheet, Rows: len(tab.Rows), Problems: []imports.Problem{}, Commitments: []string{}}
	header, problems := imports.ReadTableHeader(tab)
	if county != "" {
		header, problems = header.ForCounty(county, problems)
	}
	if len(problems) > 0 {
		for i := range problems {
			problems[i].Row = tab.HeadRow
		}
		rep.Problems, rep.Rejected = problems, len(tab.Rows)
		return http.StatusBadRequest, rep, nil
	}
	j, today := s.reads.Jurisdiction(), s.reads.Today()
	var good []imports.Row
	for i, cells := range tab.Rows {
		row, problems := imports.ReadRow(header, tab.Numbers[i], cells, j, today)
		if len(problems) == 0 && !p.SeesCounty(row.Make.County) {
			problems = []imports.Problem{{Row: row.Number, Column: header.Name(imports.ColCounty), Cell: header.Cell(imports.ColCounty, row.Number),
				Value: row.Cells[imports.ColCounty], Rule: "只能导入本县市区的承诺", En: "a county office imports its own county's rows only"}}
		}
		if len(problems) > 0 {
			rep.Problems = append(rep.Problems, problems...)
			rep.Rejected++
			continue
		}
		good = append(good, row)
	}
	if rep.Rejected > 0 && !skip {
		return http.StatusBadRequest, rep, nil
	}
	if dryRun {
		return http.StatusOK, rep, nil
	}
	// A row that says what an earlier row of the file says is that
	// promise again: it is imported once (the same idempotency key), and
	// counted as already there.
	var unique []imports.Row
	same := make([]int, len(good)) // the index in unique of each good row
	repeat := make([]bool, len(good))
	firstOf := map[string]int{}
	for i, row := range good {
		at, seen := firstOf[row.Key]
		if !seen {
			at = len(unique)
			firstOf[row.Key] = at
			unique = append(unique, row)
		}
		same[i], repeat[i] = at, seen
	}
	done, err := s.importRows(ctx, p, unique, out)
	if err != nil {
		return 0, rep, err
	}
	results := make([]rowResult, len(good))
	for i := range good {
		results[i] = done[same[i]]
		results[i].seen = results[i].seen || repeat[i]
	}
	for _, res := range results {
		switch {
		case res.problem != nil:
			rep.Problems = append(rep.Problems, *res.problem)
			rep.Rejected++
		case res.seen:
			rep.Already++
			rep.Commitments = append(rep.Commitments, res.id)
		default:
			rep.Imported++
			rep.Commitments = append(rep.Commitments, res.id)
		}
	}
	return http.StatusOK, rep, nil
}

// rowResult is what became of one row.
type rowResult struct {
	id      string
	seen    bool             // imported before
	problem *imports.Problem // refused by the ledger as it stood when appended
}

// importRows appends the rows, importWorkers at a time, each row's
// commitment and then its fulfilment; results are in the rows' order. A
// row the ledger refuses (it changed since the check) is a problem of that
// row; any other failure stops the import and is returned.
func (s *Server) importRows(ctx context.Context, p access.Principal, rows []imports.Row, out *progressWriter) ([]rowResult, error) {
	results := make([]rowResult, len(rows))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range min(importWorkers, len(rows)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(rows) && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				res, err := s.importRow(ctx, p, rows[i])
				if err != nil {
					cancel(fmt.Errorf("import row %d: %w", rows[i].Number, err))
					return
				}
				results[i] = res
				if out != nil {
					out.progress(int(done.Add(1)), len(rows))
				}
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return results, nil
}

func (s *Server) importRow(ctx context.Context, p access.Principal, row imports.Row) (rowResult, error) {
	key := projections.ReceiptKey(p.Name, row.Key)
	_, seen := s.reads.Live().Receipt(key)
	c, err := s.ledger.Make(ctx, row.Make, ledger.Meta{Actor: p.Actor(), IdempotencyKey: row.Key, Digest: row.Key})
	if err == nil && row.Fulfil != nil {
		_, err = s.ledger.Execute(ctx, c.ID, *row.Fulfil, ledger.Meta{Actor: p.Actor(), IdempotencyKey: row.Key + "-fulfilled", Digest: row.Key + "-fulfilled"})
	}
	var fe *events.FieldError
	switch {
	case errors.As(err, &fe):
		return rowResult{problem: &imports.Problem{Row: row.Number, Rule: "不符合账本规则：" + err.Error(), En: err.Error()}}, nil
	case err != nil:
		return rowResult{}, err
	}
	return rowResult{id: c.ID, seen: seen}, nil
}

// progressWriter streams an import's progress as NDJSON lines, at most a
// few a second, then its report.
type progressWriter struct {
	mu   sync.Mutex
	w    http.ResponseWriter
	rc   *http.ResponseController
	last time.Time
	long *longAnswer
}

func (s *Server) progressWriter(w http.ResponseWriter) *progressWriter {
	w.Header().Set("Content-Type", ndjson)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	return &progressWriter{w: w, rc: http.NewResponseController(w), long: s.longAnswer(w)}
}

func (pw *progressWriter) line(v any) {
	b, _ := json.Marshal(v)
	_, _ = pw.w.Write(append(b, '\n'))
	_ = pw.rc.Flush()
}

func (pw *progressWriter) progress(done, total int) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	pw.long.tick()
	if done < total && time.Since(pw.last) < 200*time.Millisecond {
		return
	}
	pw.last = time.Now()
	pw.line(map[string]any{"progress": map[string]int{"done": done, "total": total}})
}

// done sends the last line: the status the answer would have had, and the
// report.
func (pw *progressWriter) done(status int, rep imports.Report) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	pw.long.extend()
	pw.line(struct {
		Status int            `json:"status"`
		Report imports.Report `json:"report"`
	}{status, rep})
}

// fail sends the last line for an import the ledger could not finish: the
// error, as the error envelope says it.
func (pw *progressWriter) fail(err error) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	pw.long.extend()
	ae := apiErrorOf(pw.w, err)
	pw.line(struct {
		Status int       `json:"status"`
		Error  *apiError `json:"error"`
	}{ae.status, ae})
}

// handleTemplate answers the import template, as a download.
func (s *Server) handleTemplate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := imports.Template(s.reads.Jurisdiction())
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("Content-Type", xlsxType)
		w.Header().Set("Content-Disposition", sheet.ContentDisposition("import-template.xlsx", imports.TemplateName))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(b)
	})
}
