package imports

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"promiseledger/internal/sheet"
)

// Table is a sheet's rows as text, as the clerk sees them: the header row
// first (its number in Header), then the data rows, each with the number the
// sheet gives it.
type Table struct {
	Sheet    string
	Header   []string
	HeadRow  int
	Rows     [][]string
	Numbers  []int
	Date1904 bool // the workbook counts its dates from 1904
}

// MaxFileBytes is the largest spreadsheet read.
const MaxFileBytes = 50 << 20

// maxUnzippedBytes bounds what a workbook's parts may say they unzip to.
// excelize makes room for each part as its zip header declares, so an 8 KB
// file whose header says 3 GB would take 3 GB; excelize's own default bound
// is 16 GB.
const maxUnzippedBytes = 256 << 20

// maxMergedCells bounds the cells that merged ranges may span in a sheet: a
// range is a few bytes of XML (A1:XFD1048576), and filling it in would take
// memory and time without end.
const maxMergedCells = 1 << 20

// ReadXLSX reads the first visible sheet of a workbook: raw cell values (a
// date cell gives its serial number, which ParseDate reads), a merged header
// cell's text in every column it spans, and no blank rows.
func ReadXLSX(r io.Reader) (Table, error) {
	f, err := excelize.OpenReader(io.LimitReader(r, MaxFileBytes), excelize.Options{RawCellValue: true, UnzipSizeLimit: maxUnzippedBytes})
	if err != nil {
		return Table{}, fmt.Errorf("not an xlsx workbook: %w", err)
	}
	defer f.Close()
	for _, name := range f.GetSheetList() {
		if visible, err := f.GetSheetVisible(name); err != nil || !visible {
			continue // a hidden sheet is the clerk's scratch, not the ledger
		}
		rows, err := f.GetRows(name, excelize.Options{RawCellValue: true})
		if err != nil {
			return Table{}, fmt.Errorf("sheet %s: %w", name, err)
		}
		merged, err := f.GetMergeCells(name)
		if err != nil {
			return Table{}, fmt.Errorf("sheet %s: %w", name, err)
		}
		spanned := 0
		for _, m := range merged {
			c1, r1, err1 := excelize.CellNameToCoordinates(m.GetStartAxis())
			c2, r2, err2 := excelize.CellNameToCoordinates(m.GetEndAxis())
			if err1 != nil || err2 != nil {
				continue
			}
			for y := r1; y <= r2 && y <= len(rows); y++ {
				if spanned += max(c2-c1+1, 0); spanned > maxMergedCells {
					return Table{}, fmt.Errorf("sheet %s: merged cells span more than %d cells", name, maxMergedCells)
				}
				for x := c1; x <= c2; x++ {
					for len(rows[y-1]) < x {
						rows[y-1] = append(rows[y-1], "")
					}
					if rows[y-1][x-1] == "" {
						rows[y-1][x-1] = m.GetCellValue()
					}
				}
			}
		}
		t := table(name, rows)
		if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
			t.Date1904 = *props.Date1904
		}
		if t.Header != nil {
			return t, nil
		}
	}
	return Table{}, errors.New("the workbook has no visible sheet with rows")
}

// ReadCSV reads a CSV file in UTF-8 (with or without a byte-order mark) or,
// when it is not valid UTF-8, in GB18030 (what Chinese Excel saves).
func ReadCSV(r io.Reader) (Table, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileBytes))
	if err != nil {
		return Table{}, err
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(b) {
		if b, err = simplifiedchinese.GB18030.NewDecoder().Bytes(b); err != nil {
			return Table{}, fmt.Errorf("neither UTF-8 nor GB18030: %w", err)
		}
	}
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		return Table{}, fmt.Errorf("not a CSV file: %w", err)
	}
	// A cell the ledger (or any careful exporter) wrote as '=…, so that no
	// spreadsheet would run it, means =… .
	for _, row := range rows {
		for i, c := range row {
			row[i] = sheet.Unquote(c)
		}
	}
	return table("", rows), nil
}

// table finds the header and the data rows after it, leaving out blank
// rows, numbering rows as the sheet does (from 1). The header is the first
// row that names at least three of the ledger's columns (a title, a date or
// a note above it is not data), or else the first row with text.
func table(name string, rows [][]string) Table {
	t := Table{Sheet: name}
	head := -1
	for i, row := range rows[:min(len(rows), 20)] {
		named := 0
		for _, cell := range row {
			if _, ok := columnNamed(cell); ok {
				named++
			}
		}
		if named >= 3 {
			head = i
			break
		}
	}
	for i, row := range rows {
		if blank(row) || i < head {
			continue
		}
		if t.Header == nil {
			t.Header, t.HeadRow = row, i+1
			continue
		}
		t.Rows = append(t.Rows, row)
		t.Numbers = append(t.Numbers, i+1)
	}
	return t
}

func blank(row []string) bool {
	for _, c := range row {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}
