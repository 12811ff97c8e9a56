package api_test

import (
	"encoding/csv"
	"regexp"
	"strings"
	"testing"
)

// number is a cell that is only a decimal number: a spreadsheet reads it as
// that number, so it is left as it is.
var number = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?$`)

// readCSV parses a CSV answer and fails the test if any cell would be read
// as a formula by a spreadsheet.
func readCSV(t *testing.T, name string, raw []byte) [][]string {
	t.Helper()
	text, ok := strings.CutPrefix(string(raw), "\ufeff")
	if !ok {
		t.Errorf("%s: no UTF-8 BOM, so Chinese Excel would garble it", name)
	}
	rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, raw)
	}
	for i, row := range rows {
		for j, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) && !number.MatchString(cell) {
				t.Errorf("%s row %d column %d begins a formula: %q", name, i, j, cell)
			}
		}
	}
	return rows
}

// cells is every cell of a table.
func cells(rows [][]string) map[string]bool {
	out := map[string]bool{}
	for _, row := range rows {
		for _, c := range row {
			out[c] = true
		}
	}
	return out
}

// TestCSV_FormulasNeutralised: text that a spreadsheet would run as a
// formula — in a description, a project, a department, an investor's name
// and the name of the token that recorded it — comes out of the overdue
// bulletin and the audit export as text, prefixed with a single quote.
func TestCSV_FormulasNeutralised(t *testing.T) {
	h := newHarness(t)
	const tokenName = `=cmd|' /C calc'!A0`
	tok := h.as("admin").must(201, "POST", "/api/v1/tokens", map[string]any{"name": tokenName, "role": "county", "county": "532301"})
	office := *h
	office.auth = tok.str("token")

	c := commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31")
	c["description"] = `=HYPERLINK("http://evil","x")`
	c["project"] = "+1+cmd|' /C calc'!A0"
	c["department"] = "@SUM(1)"
	c["investor"].(map[string]any)["name"] = "-1+cmd|' /C calc'!A0"
	office.must(201, "POST", "/api/v1/commitments", c)

	want := []string{`'=HYPERLINK("http://evil","x")`, "'+1+cmd|' /C calc'!A0", "'@SUM(1)", "'-1+cmd|' /C calc'!A0"}
	for _, lang := range []string{"zh", "en"} {
		bulletin := readCSV(t, "bulletin "+lang, h.must(200, "GET", "/api/v1/reports/overdue?format=csv&lang="+lang, nil).raw)
		got := cells(bulletin)
		for _, w := range want {
			if !got[w] {
				t.Errorf("bulletin %s lacks the cell %q: %q", lang, w, bulletin)
			}
		}
		if !got["300"] {
			t.Errorf("bulletin %s: the outstanding quantity is not the number 300: %q", lang, bulletin)
		}
	}

	export := readCSV(t, "audit export", h.as("auditor").must(200, "GET", "/api/v1/audit/export?format=csv", nil).raw)
	if got := cells(export); !got["'"+tokenName] {
		t.Errorf("audit export lacks the actor %q: %q", "'"+tokenName, export)
	}
	// The event itself, in the data column, is as stored: it is what the hash covers.
	if data := export[len(export)-1][12]; !strings.Contains(data, `"description":"=HYPERLINK(\"http://evil\",\"x\")"`) {
		t.Errorf("the data column is not the stored event: %s", data)
	}
}
