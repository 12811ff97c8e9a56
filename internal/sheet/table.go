package sheet

import (
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// Kind is what a column holds, and so how a workbook writes its cells.
type Kind int

const (
	Text   Kind = iota // a string cell: never a formula, whatever it begins with
	Number             // an exact decimal ("1255000.00"), shown with thousands separators
	Date               // a date written 2006-01-02, stored as a date Excel can sort and filter
	Int                // a whole number, shown as it is
)

// Column is one column of a table.
type Column struct {
	Header string
	Kind   Kind
}

// Table is what an export writes: a header row and rows of cells as text,
// each column of one kind. An empty cell stays empty in every kind.
type Table struct {
	Sheet   string // the worksheet's name
	Columns []Column
	Rows    [][]string
}

// BOM starts a CSV that Excel on Windows is to read as UTF-8; without it
// Chinese Excel reads the file as GBK and garbles every character.
const BOM = "\ufeff"

// WriteCSV writes the table as CSV in UTF-8 with a BOM, every cell made
// safe with [SafeCell].
func (t Table) WriteCSV(w io.Writer) error {
	if _, err := io.WriteString(w, BOM); err != nil {
		return err
	}
	cw := NewWriter(w)
	head := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		head[i] = c.Header
	}
	_ = cw.Write(head)
	for _, r := range t.Rows {
		_ = cw.Write(r)
	}
	cw.Flush()
	return cw.Error()
}

// WriteXLSX writes the table as a workbook of one sheet: the header bold
// and frozen, columns wide enough for their Chinese text, decimals as
// numbers with thousands separators (exactly as given: a decimal a
// spreadsheet cannot hold to the last digit stays text), dates as dates.
// Text is written as string cells, which Excel, LibreOffice and WPS show
// as text and never evaluate, so no formula can be smuggled in through
// them; a cell reads back exactly as it was given.
func (t Table) WriteXLSX(w io.Writer) error { return WriteWorkbook(w, t) }

// WriteWorkbook writes tables as the sheets of one workbook, each as
// [Table.WriteXLSX] writes its one.
func WriteWorkbook(w io.Writer, tables ...Table) error {
	f := excelize.NewFile()
	defer f.Close()
	head, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Color: []string{"DDEBF7"}, Pattern: 1},
		Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}})
	if err != nil {
		return err
	}
	money := "#,##0.00"
	num, err := f.NewStyle(&excelize.Style{CustomNumFmt: &money})
	if err != nil {
		return err
	}
	dateFmt := "yyyy-mm-dd"
	date, err := f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt})
	if err != nil {
		return err
	}
	for n, t := range tables {
		name := t.Sheet
		if name == "" {
			name = fmt.Sprintf("Sheet%d", n+1)
		}
		if n == 0 {
			err = f.SetSheetName("Sheet1", name)
		} else {
			_, err = f.NewSheet(name)
		}
		if err != nil {
			return err
		}
		if err := t.stream(f, name, head, num, date); err != nil {
			return err
		}
	}
	_, err = f.WriteTo(w)
	return err
}

// stream writes the table into the sheet name of f.
func (t Table) stream(f *excelize.File, name string, head, num, date int) error {
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	for i := range t.Columns {
		if err := sw.SetColWidth(i+1, i+1, t.width(i)); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	row := make([]any, len(t.Columns))
	for i, c := range t.Columns {
		row[i] = excelize.Cell{StyleID: head, Value: c.Header}
	}
	if err := sw.SetRow("A1", row); err != nil {
		return err
	}
	for n, r := range t.Rows {
		row := make([]any, len(t.Columns))
		for i, c := range t.Columns {
			v := ""
			if i < len(r) {
				v = r[i]
			}
			row[i] = cell(c.Kind, v, num, date)
		}
		if err := sw.SetRow(fmt.Sprintf("A%d", n+2), row); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// cell is one value as its kind writes it; a value that is not of its
// column's kind is written as text rather than lost.
func cell(k Kind, v string, num, date int) any {
	if v == "" {
		return nil
	}
	switch k {
	case Number:
		if f, err := strconv.ParseFloat(v, 64); err == nil && sameDecimal(strconv.FormatFloat(f, 'f', -1, 64), v) {
			return excelize.Cell{StyleID: num, Value: f}
		}
	case Int:
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	case Date:
		if d, err := time.Parse(time.DateOnly, v); err == nil {
			return excelize.Cell{StyleID: date, Value: d}
		}
	}
	return v
}

// sameDecimal reports whether two decimal texts name the same number, up
// to trailing zeros after the point.
func sameDecimal(a, b string) bool {
	trim := func(s string) string {
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		return s
	}
	return trim(a) == trim(b)
}

// width is a column's width in characters: its longest cell (a Chinese
// character counts two), within 8 and 60.
func (t Table) width(i int) float64 {
	w := textWidth(t.Columns[i].Header)
	for n, r := range t.Rows {
		if n == 1000 {
			break // enough to judge by
		}
		if i < len(r) {
			w = max(w, textWidth(r[i]))
		}
	}
	return float64(min(max(w+2, 8), 60))
}

func textWidth(s string) int {
	w := 0
	for _, r := range s {
		if utf8.RuneLen(r) > 1 {
			w += 2
		} else {
			w++
		}
	}
	return w
}

// ContentDisposition is the Content-Disposition of a download named name
// (RFC 6266): a plain ASCII fallback for old clients, and the name itself,
// Chinese included, as filename* in UTF-8.
func ContentDisposition(fallback, name string) string {
	var b strings.Builder
	for _, c := range []byte(name) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return mime.FormatMediaType("attachment", map[string]string{"filename": fallback}) + "; filename*=UTF-8''" + b.String()
}
