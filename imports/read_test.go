package imports

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"promiseledger/events"
)

// workbook makes a ledger workbook the way clerks keep them: a hidden
// scratch sheet first, a merged title over the header, dates as Excel
// dates, as text in two styles, amounts in 万元, blank trailing rows.
func workbook(t *testing.T) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", "草稿"); err != nil {
		t.Fatal(err)
	}
	_ = f.SetCellValue("草稿", "A1", "不要导入")
	idx, _ := f.NewSheet("台账")
	f.SetActiveSheet(idx)
	if err := f.SetSheetVisible("草稿", false); err != nil {
		t.Fatal(err)
	}
	sheet := "台账"
	// Row 1: a merged header cell "承诺数量" over the amount and unit columns.
	header := []string{"县市区", "责任单位", "项目名称", "投资企业", "统一社会信用代码", "承诺类型", "承诺事项", "承诺数量", "单位", "签约日期", "兑现期限", "协议文号"}
	for i, h := range header {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		if h != "单位" {
			_ = f.SetCellValue(sheet, cell, h)
		}
	}
	// The unit column's header is left to the merged cell over H1:I1 — a
	// second row names it; real sheets do this.
	_ = f.MergeCell(sheet, "H1", "I1")
	rows := [][]any{
		{"楚雄市", "楚雄市财政局", "单晶硅棒项目", "楚雄某某硅材料有限公司", "91350100M000100Y43", "补贴", "设备补助", "125.5", "万元", nil, "2020年12月31日", "楚投促协〔2020〕17号"},
		{"双柏县", "双柏县自然资源局", "食品加工项目", "双柏食品有限公司", "", "土地", "保障用地", "300", "亩", "2020/3/15", "2021.6.30", ""},
	}
	for r, row := range rows {
		for c, v := range row {
			if v == nil {
				continue
			}
			cell, _ := excelize.CoordinatesToCellName(c+1, r+2)
			_ = f.SetCellValue(sheet, cell, v)
		}
	}
	// An Excel date (a number with a date style) in J2.
	style, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
	_ = f.SetCellValue(sheet, "J2", 43905) // 2020-03-15
	_ = f.SetCellStyle(sheet, "J2", "J2", style)
	_ = f.SetCellValue(sheet, "A10", " ") // a blank trailing row
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestReadXLSX(t *testing.T) {
	tab, err := ReadXLSX(bytes.NewReader(workbook(t)))
	if err != nil {
		t.Fatal(err)
	}
	if tab.Sheet != "台账" || len(tab.Rows) != 2 || tab.Numbers[0] != 2 || tab.Numbers[1] != 3 {
		t.Fatalf("the table: sheet %q, %d rows, numbers %v", tab.Sheet, len(tab.Rows), tab.Numbers)
	}
	if tab.Header[7] != "承诺数量" || tab.Header[8] != "承诺数量" {
		t.Fatalf("the merged header cell is not in every column it spans: %q", tab.Header)
	}
	// Both columns say 承诺数量: the amount, and under the same merged
	// header its unit.
	h, problems := ReadTableHeader(tab)
	if len(problems) != 0 {
		t.Fatalf("header: %v", problems)
	}
	if _, problems := ReadHeader([]string{"县市区", "承诺数量", "项目名称", "承诺数量"}); len(problems) == 0 || !strings.Contains(problems[0].Rule, "重复") {
		t.Fatalf("a column named twice, apart: %v", problems)
	}
	j, today := events.DefaultJurisdiction(), events.MustDate("2026-11-27")
	for i, cells := range tab.Rows {
		r, problems := ReadRow(h, tab.Numbers[i], cells, j, today)
		if len(problems) != 0 {
			t.Fatalf("row %d: %v", tab.Numbers[i], problems)
		}
		if i == 0 && (r.Make.MadeOn != "2020-03-15" || r.Make.Due != "2020-12-31" || r.Make.Quantity.Unit != "CNY") {
			t.Fatalf("row 2: %+v", r.Make)
		}
	}
}

func TestReadCSV(t *testing.T) {
	text := "县市区,责任单位,项目名称,投资企业,承诺类型,承诺事项,承诺数量,签约日期,兑现期限\n楚雄市,楚雄市财政局,项目,企业,补贴,补助,\"1,255,000元\",2020-03-15,2020-12-31\n,,,,,,,,\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"UTF-8": text, "UTF-8 with BOM": "\xef\xbb\xbf" + text, "GB18030": gb} {
		tab, err := ReadCSV(strings.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if tab.Header[0] != "县市区" || len(tab.Rows) != 1 || tab.Rows[0][3] != "企业" || tab.Rows[0][6] != "1,255,000元" {
			t.Fatalf("%s: %+v", name, tab)
		}
	}
}

// The template reads back: its headers are the columns, its example row
// imports, and the notes sheet explains every column.
func TestTemplate(t *testing.T) {
	j := events.DefaultJurisdiction()
	b, err := Template(j)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := ReadXLSX(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	h, problems := ReadTableHeader(tab)
	if len(problems) != 0 || tab.Sheet != "承诺台账" || len(tab.Rows) != 1 {
		t.Fatalf("the template: sheet %q, %d rows, %v", tab.Sheet, len(tab.Rows), problems)
	}
	if _, problems := ReadRow(h, 2, tab.Rows[0], j, events.MustDate("2026-11-27")); len(problems) != 0 {
		t.Fatalf("the example row: %v", problems)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	notes, _ := f.GetRows("填写说明")
	if len(notes) != len(Columns)+1 {
		t.Fatalf("the notes sheet has %d rows for %d columns", len(notes), len(Columns))
	}
	dvs, err := f.GetDataValidations("承诺台账")
	if err != nil || len(dvs) != 3 {
		t.Fatalf("drop-down lists: %d, %v", len(dvs), err)
	}
}
