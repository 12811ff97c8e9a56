package api

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"

	"promiseledger/events"
	"promiseledger/imports"
	"promiseledger/ledger"
	"promiseledger/projections"
)

// importReport is what an import answers: every row accounted for.
type importReport struct {
	DryRun      bool              `json:"dry_run"`
	Sheet       string            `json:"sheet,omitempty"`
	Rows        int               `json:"rows"`
	Imported    int               `json:"imported"`    // made now
	Already     int               `json:"already"`     // made by an earlier import of the same rows
	Rejected    int               `json:"rejected"`    // rows with a problem (not imported)
	Problems    []imports.Problem `json:"problems"`    // each at its row and column, in Chinese
	Commitments []string          `json:"commitments"` // the ids of the rows imported or already there
}

// handleImport takes a county ledger (multipart field "file": .xlsx, or CSV
// in UTF-8 or GB18030) in one request: every row is checked before any is
// imported; one bad row imports nothing unless skip_invalid=true; with
// dry_run=true nothing is imported. A county office imports its own
// county's rows only. Each row's idempotency key comes from its content, so
// importing a file again, or an overlapping one, adds nothing twice.
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
		rep := importReport{DryRun: dryRun, Sheet: tab.Sheet, Rows: len(tab.Rows), Problems: []imports.Problem{}, Commitments: []string{}}
		header, problems := imports.ReadHeader(tab.Header)
		if len(problems) > 0 {
			for i := range problems {
				problems[i].Row = tab.HeadRow
			}
			rep.Problems, rep.Rejected = problems, len(tab.Rows)
			encode(w, http.StatusBadRequest, rep)
			return
		}
		p, j, today := principal(r), s.reads.Jurisdiction(), s.reads.Today()
		var good []imports.Row
		for i, cells := range tab.Rows {
			row, problems := imports.ReadRow(header, tab.Numbers[i], cells, j, today)
			if len(problems) == 0 && !p.SeesCounty(row.Make.County) {
				problems = []imports.Problem{{Row: row.Number, Column: "县市区", Value: row.Cells[imports.ColCounty], Rule: "只能导入本县市区的承诺"}}
			}
			if len(problems) > 0 {
				rep.Problems = append(rep.Problems, problems...)
				rep.Rejected++
				continue
			}
			good = append(good, row)
		}
		if rep.Rejected > 0 && !skip {
			encode(w, http.StatusBadRequest, rep)
			return
		}
		if dryRun {
			encode(w, http.StatusOK, rep)
			return
		}
		for _, row := range good {
			key := projections.ReceiptKey(p.Name, row.Key)
			_, seen := s.reads.Live().Receipt(key)
			c, err := s.ledger.Make(r.Context(), row.Make, ledger.Meta{Actor: p.Actor(), IdempotencyKey: row.Key, Digest: row.Key})
			if err == nil && row.Fulfil != nil {
				_, err = s.ledger.Execute(r.Context(), c.ID, *row.Fulfil, ledger.Meta{Actor: p.Actor(), IdempotencyKey: row.Key + "-fulfilled", Digest: row.Key + "-fulfilled"})
			}
			if err != nil {
				var fe *events.FieldError
				if !errors.As(err, &fe) {
					writeError(w, fmt.Errorf("import row %d: %w", row.Number, err))
					return
				}
				rep.Problems = append(rep.Problems, imports.Problem{Row: row.Number, Rule: err.Error()})
				rep.Rejected++
				continue
			}
			if seen {
				rep.Already++
			} else {
				rep.Imported++
			}
			rep.Commitments = append(rep.Commitments, c.ID)
		}
		encode(w, http.StatusOK, rep)
	})
}

// handleTemplate answers the import template, as a download.
func (s *Server) handleTemplate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := imports.Template(s.reads.Jurisdiction())
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": imports.TemplateName}))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(b)
	})
}
