package api

import (
	"net/http"
	"slices"

	"promiseledger/events"
	"promiseledger/imports"
	"promiseledger/internal/sheet"
)

// Media types of the spreadsheets the ledger gives out.
const (
	xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	csvType  = "text/csv; charset=utf-8"
)

// handleCommitmentExport answers the commitments the list's filters select,
// every one of them, as a workbook (format=xlsx, the default) or CSV in the
// template's shape plus status, outstanding and days overdue: a file that
// opens cleanly in Chinese Excel and imports back as it is.
func (s *Server) handleCommitmentExport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		format, lang, err := sheetParams(r, "xlsx", "csv")
		if err != nil {
			writeError(w, err)
			return
		}
		items, _, q, err := s.listed(r, true)
		if err != nil {
			writeError(w, err)
			return
		}
		j := s.reads.Jurisdiction()
		name, fallback := imports.ExportName(j, q.County, q.Today, format)
		writeSheet(w, imports.Export(items, j, q.Today, lang), format, name, fallback)
	})
}

// sheetParams reads format (one of formats, the first by default) and lang
// (zh by default, or en).
func sheetParams(r *http.Request, formats ...string) (format, lang string, err error) {
	q := r.URL.Query()
	format, lang = q.Get("format"), q.Get("lang")
	if format == "" {
		format = formats[0]
	}
	if lang == "" {
		lang = "zh"
	}
	if !slices.Contains(formats, format) {
		return "", "", badRequest("validation_failed", "format", "format: must be %s", events.OneOf(formats))
	}
	if lang != "zh" && lang != "en" {
		return "", "", badRequest("validation_failed", "lang", "lang: must be zh or en")
	}
	return format, lang, nil
}

// writeSheet sends a table as a download in format (xlsx or csv) under a
// Chinese file name with an ASCII fallback.
func writeSheet(w http.ResponseWriter, t sheet.Table, format, name, fallback string) {
	w.Header().Set("Content-Disposition", sheet.ContentDisposition(fallback, name))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if format == "csv" {
		w.Header().Set("Content-Type", csvType)
		_ = t.WriteCSV(w)
		return
	}
	w.Header().Set("Content-Type", xlsxType)
	_ = t.WriteXLSX(w)
}
