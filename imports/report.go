package imports

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"

	"promiseledger/internal/sheet"
)

// Report is what an import answers: every row accounted for.
type Report struct {
	DryRun      bool      `json:"dry_run"`
	Sheet       string    `json:"sheet,omitempty"`
	Rows        int       `json:"rows"`
	Imported    int       `json:"imported"`    // made now
	Already     int       `json:"already"`     // made by an earlier import of the same rows
	Rejected    int       `json:"rejected"`    // rows with a problem (not imported)
	Problems    []Problem `json:"problems"`    // each at its row and column
	Commitments []string  `json:"commitments"` // the ids of the rows imported or already there
}

// In is the report with its rules in lang ("en", or Chinese).
func (r Report) In(lang string) Report {
	ps := make([]Problem, len(r.Problems))
	for i, p := range r.Problems {
		ps[i] = p.In(lang)
	}
	r.Problems = ps
	return r
}

// Text is the report as a clerk reads it: a summary line, then a line per
// problem; in lang ("en", or Chinese).
func (r Report) Text(lang string) string {
	var b strings.Builder
	switch {
	case lang == "en" && r.DryRun:
		fmt.Fprintf(&b, "%d rows: %d without problems, %d with problems (a dry run: nothing imported).\n", r.Rows, r.Rows-r.Rejected, r.Rejected)
	case lang == "en":
		fmt.Fprintf(&b, "%d rows: %d imported, %d imported before, %d with problems.\n", r.Rows, r.Imported, r.Already, r.Rejected)
	case r.DryRun:
		fmt.Fprintf(&b, "共 %d 行：可导入 %d 行，有问题 %d 行（试运行，未导入）。\n", r.Rows, r.Rows-r.Rejected, r.Rejected)
	default:
		fmt.Fprintf(&b, "共 %d 行：导入 %d 行，此前已导入 %d 行，有问题 %d 行。\n", r.Rows, r.Imported, r.Already, r.Rejected)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  %s\n", p.Text(lang))
	}
	return b.String()
}

// Annotate is a copy of the uploaded file with every problem marked: the
// cell at fault filled red with a comment saying the rule (the row's first
// cell for a problem of a whole row), and a sheet listing them all. A
// workbook keeps its sheets, formats and formulas; a CSV comes back as a
// workbook of its rows.
func Annotate(data []byte, t Table, problems []Problem, lang string) ([]byte, error) {
	var f *excelize.File
	name := t.Sheet
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		var err error
		if f, err = excelize.OpenReader(bytes.NewReader(data)); err != nil {
			return nil, err
		}
	} else {
		f, name = excelize.NewFile(), "台账"
		if err := f.SetSheetName("Sheet1", name); err != nil {
			return nil, err
		}
		_ = f.SetSheetRow(name, fmt.Sprintf("A%d", t.HeadRow), &t.Header)
		for i, row := range t.Rows {
			_ = f.SetSheetRow(name, fmt.Sprintf("A%d", t.Numbers[i]), &row)
		}
	}
	defer f.Close()
	styles := map[int]int{}
	for _, p := range problems {
		p = p.In(lang)
		cell := p.Cell
		if cell == "" {
			cell = fmt.Sprintf("A%d", p.Row)
		}
		old, err := f.GetCellStyle(name, cell)
		if err != nil {
			return nil, err
		}
		red, ok := styles[old]
		if !ok {
			st, err := f.GetStyle(old)
			if err != nil || st == nil {
				st = &excelize.Style{}
			}
			st.Fill = excelize.Fill{Type: "pattern", Color: []string{"FFC7CE"}, Pattern: 1}
			st.Font = &excelize.Font{Color: "9C0006"}
			if red, err = f.NewStyle(st); err != nil {
				return nil, err
			}
			styles[old] = red
		}
		if err := f.SetCellStyle(name, cell, cell, red); err != nil {
			return nil, err
		}
		// A cell holds one comment: a second problem at it is added to it.
		text := p.Rule
		if comments, _ := f.GetComments(name); len(comments) > 0 {
			for _, c := range comments {
				if c.Cell == cell {
					text = c.Text + "\n" + text
					_ = f.DeleteComment(name, cell)
				}
			}
		}
		if err := f.AddComment(name, excelize.Comment{Cell: cell, Author: "台账导入", Text: text}); err != nil {
			return nil, err
		}
	}
	list := "导入问题"
	head := []any{"行", "列", "单元格", "填写的值", "问题"}
	if lang == "en" {
		list, head = "problems", []any{"row", "column", "cell", "value", "rule"}
	}
	if _, err := f.NewSheet(list); err != nil {
		return nil, err
	}
	_ = f.SetSheetRow(list, "A1", &head)
	for i, p := range problems {
		p = p.In(lang)
		_ = f.SetSheetRow(list, fmt.Sprintf("A%d", i+2), &[]any{p.Row, p.Column, p.Cell, p.Value, p.Rule})
	}
	_ = f.SetColWidth(list, "B", "B", 16)
	_ = f.SetColWidth(list, "D", "D", 24)
	_ = f.SetColWidth(list, "E", "E", 70)
	if i, err := f.GetSheetIndex(name); err == nil && i >= 0 {
		f.SetActiveSheet(i)
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Rejected is a workbook of the rows that were not imported, under the
// file's own header, with a last column saying what is wrong with each:
// fix it and import it again (the problem column is not read). Dates the
// sheet held as Excel dates come out as dates.
func Rejected(t Table, problems []Problem, lang string) sheet.Table {
	h, _ := ReadHeader(t.Header)
	out := sheet.Table{Sheet: "待修改"}
	last := "问题"
	if lang == "en" {
		out.Sheet, last = "to fix", "problems"
	}
	dates := map[int]bool{}
	for _, c := range []Column{ColMadeOn, ColDue, ColFulfilledOn} {
		if i, ok := h.index[c]; ok {
			dates[i] = true
		}
	}
	for i, name := range t.Header {
		k := sheet.Text
		if dates[i] {
			k = sheet.Date
		}
		out.Columns = append(out.Columns, sheet.Column{Header: name, Kind: k})
	}
	out.Columns = append(out.Columns, sheet.Column{Header: last})
	why := map[int][]string{}
	for _, p := range problems {
		why[p.Row] = append(why[p.Row], p.Text(lang))
	}
	for i, cells := range t.Rows {
		n := t.Numbers[i]
		if why[n] == nil {
			continue
		}
		row := slices.Clone(cells)
		for len(row) < len(t.Header) {
			row = append(row, "")
		}
		for c := range dates {
			if c < len(row) {
				if d, err := ParseDate(row[c]); err == nil {
					row[c] = d.String()
				}
			}
		}
		out.Rows = append(out.Rows, append(row[:len(t.Header)], strings.Join(why[n], "；")))
	}
	return out
}

// RejectedName is the file name of the rejected rows of an upload.
func RejectedName(lang string) string {
	if lang == "en" {
		return "rejected-rows.xlsx"
	}
	return "未导入的行-请修改后重新导入.xlsx"
}

// AnnotatedName is the file name of the annotated copy of an upload.
func AnnotatedName(lang string) string {
	if lang == "en" {
		return "import-problems.xlsx"
	}
	return "导入问题标注.xlsx"
}
