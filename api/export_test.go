package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

const hyperlink = `=HYPERLINK("http://x","y")`

// fillForExport records commitments of every shape an export must carry:
// land and money, partly and wholly fulfilled, late and on time, open and
// not yet due, in two counties, one with a formula for a description.
func fillForExport(h *harness) {
	h.t.Helper()
	land := commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31")
	id := h.must(201, "POST", "/api/v1/commitments", land).str("id")
	h.must(201, "POST", "/api/v1/commitments/"+id+"/fulfillments", fulfilment("120", "mu", "2020-10-01"))

	money := commitment("532301", "subsidy", "1255000.00", "CNY", "2020-03-15", "2021-06-30")
	money["description"] = hyperlink
	id = h.must(201, "POST", "/api/v1/commitments", money).str("id")
	h.must(201, "POST", "/api/v1/commitments/"+id+"/fulfillments", fulfilment("1255000.00", "CNY", "2021-05-01"))

	tax := commitment("532322", "tax", "80000.50", "CNY", "2024-01-10", "2030-01-01")
	tax["department"], tax["investor"] = "双柏县税务局", map[string]any{"name": "双柏食品有限公司", "registered": false}
	h.must(201, "POST", "/api/v1/commitments", tax)

	fee := commitment("532322", "fee", "3", "item", "2020-01-10", "2020-06-30")
	fee["department"] = "双柏县住建局"
	id = h.must(201, "POST", "/api/v1/commitments", fee).str("id")
	h.must(201, "POST", "/api/v1/commitments/"+id+"/fulfillments", fulfilment("3", "item", "2020-08-01"))
}

// counties is the county view without its time stamp.
func counties(h *harness) string {
	h.t.Helper()
	b, _ := json.Marshal(h.must(200, "GET", "/api/v1/counties", nil).body["counties"])
	return string(b)
}

// Round trip: what one ledger exports, an empty ledger imports, and the two
// ledgers' county views are the same — in xlsx and in CSV.
func TestExport_RoundTrip(t *testing.T) {
	h := newHarness(t)
	fillForExport(h)
	want := counties(h)
	for _, format := range []string{"xlsx", "csv"} {
		t.Run(format, func(t *testing.T) {
			file := h.must(200, "GET", "/api/v1/commitments/export?format="+format, nil)
			empty := newHarness(t)
			status, rep := empty.importFile("", file.raw)
			if status != http.StatusOK || rep["imported"] != 4.0 {
				t.Fatalf("importing the export: %d %v", status, rep)
			}
			if got := counties(empty); got != want {
				t.Fatalf("county views differ after the round trip:\n got %s\nwant %s", got, want)
			}
			if status, rep := empty.importFile("", file.raw); status != http.StatusOK || rep["imported"] != 0.0 || rep["already"] != 4.0 {
				t.Fatalf("importing it again: %d %v", status, rep)
			}
			// The description that looks like a formula comes back as the text it was.
			var found bool
			for _, item := range empty.must(200, "GET", "/api/v1/commitments?county=532301", nil).body["items"].([]any) {
				found = found || item.(map[string]any)["description"] == hyperlink
			}
			if !found {
				t.Fatalf("the description %q did not come back as text", hyperlink)
			}
		})
	}
}

// The workbook: Chinese headers, the template's columns first, amounts as
// numbers with 万元 beside, dates as dates, the header frozen, a formula
// written as text; the download named in Chinese (RFC 6266).
func TestExport_Workbook(t *testing.T) {
	h := newHarness(t)
	fillForExport(h)
	r := h.must(200, "GET", "/api/v1/commitments/export?county=532301", nil)
	if ct := r.header.Get("Content-Type"); !strings.Contains(ct, "spreadsheetml") {
		t.Fatalf("content type %q", ct)
	}
	cd := r.header.Get("Content-Disposition")
	if !strings.HasPrefix(cd, "attachment; filename=commitments-532301-") || !strings.Contains(cd, "filename*=UTF-8''%E6%89%BF%E8%AF%BA%E5%8F%B0%E8%B4%A6-") {
		t.Fatalf("content disposition %q", cd)
	}
	f, err := excelize.OpenReader(bytes.NewReader(r.raw))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheet := f.GetSheetName(0)
	rows, _ := f.GetRows(sheet, excelize.Options{RawCellValue: true})
	if len(rows) != 3 {
		t.Fatalf("%d rows for 楚雄市, want a header and 2", len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, h := range []string{"县市区", "承诺数量", "单位", "兑现期限", "已兑现", "兑现日期", "折合万元", "状态", "未兑现", "逾期天数", "承诺编号"} {
		if _, ok := col[h]; !ok {
			t.Fatalf("no column %s: %q", h, rows[0])
		}
	}
	money := rows[2]
	if money[col["承诺数量"]] != "1255000" || money[col["单位"]] != "元" || money[col["折合万元"]] != "125.5" || money[col["状态"]] != "全部兑现" {
		t.Fatalf("the subsidy row: %q", money)
	}
	if land := rows[1]; land[col["未兑现"]] != "180" || land[col["已兑现"]] != "120" || land[col["逾期天数"]] == "" {
		t.Fatalf("the land row: %q", land)
	}
	dueCell, _ := excelize.CoordinatesToCellName(col["兑现期限"]+1, 2)
	if v, _ := f.GetCellValue(sheet, dueCell); v != "2020-12-31" {
		t.Fatalf("due shown as %q, want a date 2020-12-31", v)
	}
	if typ, _ := f.GetCellType(sheet, dueCell); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
		t.Fatal("a date was written as text")
	}
	descCell, _ := excelize.CoordinatesToCellName(col["承诺事项"]+1, 3)
	if formula, _ := f.GetCellFormula(sheet, descCell); formula != "" {
		t.Fatalf("the description became a formula: %q", formula)
	}
	if v, _ := f.GetCellValue(sheet, descCell); v != hyperlink {
		t.Fatalf("the description reads %q", v)
	}
	if typ, _ := f.GetCellType(sheet, descCell); typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString {
		t.Fatalf("the description is a cell of type %v, not text", typ)
	}
	panes, _ := f.GetPanes(sheet)
	if !panes.Freeze || panes.YSplit != 1 {
		t.Fatalf("the header is not frozen: %+v", panes)
	}
	if w, _ := f.GetColWidth(sheet, "C"); w < 12 {
		t.Fatalf("the project column is %v wide", w)
	}

	// CSV: a BOM, every formula quoted, the same rows.
	csv := readCSV(t, "commitments export", h.must(200, "GET", "/api/v1/commitments/export?format=csv&county=532301", nil).raw)
	if len(csv) != 3 || !cells(csv)["'"+hyperlink] {
		t.Fatalf("the CSV: %q", csv)
	}
	// English on request.
	en := h.must(200, "GET", "/api/v1/commitments/export?format=csv&lang=en&county=532322", nil)
	if !strings.Contains(string(en.raw), "county,department,project") || !strings.Contains(string(en.raw), ",item,") {
		t.Fatalf("the English export: %s", en.raw)
	}
	for _, bad := range []string{"?format=pdf", "?lang=fr", "?limit=5", "?county=999999"} {
		if r := h.do("GET", "/api/v1/commitments/export"+bad, nil); r.status != 400 {
			t.Fatalf("%s: %d %s", bad, r.status, r.raw)
		}
	}
}

// A county office exports its own county only, whatever it asks for.
func TestExport_CountyScope(t *testing.T) {
	h := newHarness(t)
	fillForExport(h)
	raw := string(h.as("county-532322").must(200, "GET", "/api/v1/commitments/export?format=csv", nil).raw)
	if strings.Contains(raw, "楚雄市") || !strings.Contains(raw, "双柏县") {
		t.Fatalf("a county office's export:\n%s", raw)
	}
	if raw := string(h.as("county-532322").must(200, "GET", "/api/v1/commitments/export?format=csv&county=532301", nil).raw); strings.Count(raw, "\n") != 1 {
		t.Fatalf("a county office asking for another county's export got rows:\n%s", raw)
	}
}

// The bulletin as a workbook: one row per overdue commitment.
func TestExport_BulletinWorkbook(t *testing.T) {
	h := newHarness(t)
	fillForExport(h)
	r := h.must(200, "GET", "/api/v1/reports/overdue?format=xlsx", nil)
	if !strings.Contains(r.header.Get("Content-Disposition"), "filename*=UTF-8''") {
		t.Fatalf("content disposition %q", r.header.Get("Content-Disposition"))
	}
	f, err := excelize.OpenReader(bytes.NewReader(r.raw))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, _ := f.GetRows(f.GetSheetName(0))
	if len(rows) != 2 || rows[0][0] != "县市区代码" || rows[1][1] != "楚雄市" || rows[1][8] != "180.00" {
		t.Fatalf("the bulletin workbook: %q", rows)
	}
}
