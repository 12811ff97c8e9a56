// Package sheet writes tables that people open in spreadsheets. A cell that
// begins with =, +, -, @, a tab or a carriage return is read by Excel,
// LibreOffice and Google Sheets as a formula, so text that a county office
// typed (a project, a description, the name on its token) could run a
// formula on the machine of whoever opens the bulletin or the audit export.
// [SafeCell] neutralises such a cell the way OWASP recommends, with a
// leading single quote, and [Writer] applies it to every cell of a CSV;
// [Table.WriteXLSX] writes text as string cells, which no spreadsheet
// evaluates.
//
// The package knows nothing of the ledger: it sees strings only.
package sheet

import (
	"encoding/csv"
	"io"
	"strings"
)

// formulaStart holds the characters with which a spreadsheet begins a
// formula (OWASP, "CSV Injection").
const formulaStart = "=+-@\t\r"

// SafeCell returns s so that a spreadsheet shows it as text: a cell that
// begins with one of = + - @ tab or carriage return gets a single quote
// before it. A cell that is only a decimal number ("-12.50", "+3") is left
// as it is: it can call no function and name no cell, so a spreadsheet reads
// it as the number it is, and a column of signed amounts stays summable.
// Anything more after the number ("-1+cmd|' /C calc'!A0") is a formula and
// is quoted.
func SafeCell(s string) string {
	if s == "" || !strings.ContainsRune(formulaStart, rune(s[0])) || isNumber(s) {
		return s
	}
	return "'" + s
}

// Unquote undoes [SafeCell]: a cell that is a single quote and then one of
// = + - @ tab or carriage return is the text after the quote.
func Unquote(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune(formulaStart, rune(s[1])) {
		return s[1:]
	}
	return s
}

// isNumber reports whether s is an optional sign, digits, and optionally a
// point and more digits: nothing a spreadsheet could evaluate but the
// number itself.
func isNumber(s string) bool {
	if s[0] == '+' || s[0] == '-' {
		s = s[1:]
	}
	whole, frac, point := strings.Cut(s, ".")
	return digits(whole) && (!point || digits(frac))
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Writer is an encoding/csv writer that passes every cell through
// [SafeCell].
type Writer struct {
	w *csv.Writer
}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one record, each cell made safe.
func (w *Writer) Write(record []string) error {
	safe := make([]string, len(record))
	for i, c := range record {
		safe[i] = SafeCell(c)
	}
	return w.w.Write(safe)
}

// Flush writes any buffered data to the underlying writer.
func (w *Writer) Flush() { w.w.Flush() }

// Error reports any error of a previous Write or Flush.
func (w *Writer) Error() error { return w.w.Error() }
