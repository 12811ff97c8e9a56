package imports

// Fixture files under testdata/, made by the generator below, and the tests
// that read them. The generator runs only when asked:
//
//	go test ./imports -run TestFixtures -update
//
// formats.xlsx    every date and amount format the importer takes, counties
//                 by name, short name and code, a merged header cell (承诺数量
//                 over the amount and unit columns: it reads as a duplicate
//                 column, which the test names 单位 as a clerk would), a
//                 merged county cell over two rows, blank rows in the middle
//                 and at the end, a hidden scratch sheet first, and the
//                 optional 已兑现/兑现日期 columns on some rows. No title row
//                 above the header: the reader takes none (TestMergedTitleRow).
// gb18030.csv     a ledger saved by Chinese Excel as CSV: GB18030, Chinese
//                 headers (the aliases, not the template's), text in quotes
//                 with commas, quotes and a line break, characters that take
//                 four bytes in GB18030.
// bad-values.xlsx one good row, then one row for each kind of bad value.
//
// TestFixtures_UpToDate regenerates each fixture in memory and checks that it
// reads as the committed file does.

import (
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"promiseledger/events"
)

var update = flag.Bool("update", false, "rewrite testdata fixtures")

// fixtureToday is the day the fixtures are read on: every date in them is
// before it.
var fixtureToday = events.MustDate("2026-11-27")

// fixtures are the files under testdata/, how each is made and how it is read.
var fixtures = []struct {
	name string
	gen  func() ([]byte, error)
	read func(b []byte) (Table, error)
}{
	{"formats.xlsx", genFormats, readXLSXBytes},
	{"gb18030.csv", genGB18030, readCSVBytes},
	{"bad-values.xlsx", genBadValues, readXLSXBytes},
}

func readXLSXBytes(b []byte) (Table, error) { return ReadXLSX(bytes.NewReader(b)) }
func readCSVBytes(b []byte) (Table, error)  { return ReadCSV(bytes.NewReader(b)) }

// TestFixtures rewrites the fixtures; without -update it does nothing.
func TestFixtures(t *testing.T) {
	if !*update {
		t.Skip("fixtures are rewritten only with: go test ./imports -run TestFixtures -update")
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, fx := range fixtures {
		b, err := fx.gen()
		if err != nil {
			t.Fatalf("%s: %v", fx.name, err)
		}
		if err := os.WriteFile(filepath.Join("testdata", fx.name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote testdata/%s (%d bytes)", fx.name, len(b))
	}
}

// TestFixtures_UpToDate: the committed fixtures are what the generator makes.
// The parsed tables are compared (a newer excelize may zip the same cells
// into other bytes); identical bytes are only reported.
func TestFixtures_UpToDate(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			committed := readFixture(t, fx.name)
			fresh, err := fx.gen()
			if err != nil {
				t.Fatal(err)
			}
			want, err := fx.read(committed)
			if err != nil {
				t.Fatalf("the committed file: %v", err)
			}
			got, err := fx.read(fresh)
			if err != nil {
				t.Fatalf("the regenerated file: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("testdata/%s is stale: run go test ./imports -run TestFixtures -update\ncommitted: %+v\ngenerated: %+v", fx.name, want, got)
			}
			if !bytes.Equal(committed, fresh) {
				t.Logf("testdata/%s reads the same but its bytes differ from the generator's (another excelize?)", fx.name)
			}
			// The generator gives the same bytes twice over: regenerating
			// changes no file needlessly.
			again, err := fx.gen()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, fresh) {
				t.Errorf("the generator is not deterministic for %s", fx.name)
			}
		})
	}
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("%v (generate it with: go test ./imports -run TestFixtures -update)", err)
	}
	return b
}

// ---------------------------------------------------------------------------
// Writing workbooks.

// numCell is a cell kept as Excel keeps dates and formatted amounts: a
// number with a number format (a built-in one by id, or a custom one).
type numCell struct {
	v      any // a number, or a time.Time (which excelize turns into a serial)
	numFmt int
	custom string
}

// newWorkbook starts a workbook whose file properties are fixed, so that the
// generator writes the same bytes every time.
func newWorkbook() (*excelize.File, error) {
	f := excelize.NewFile()
	err := f.SetDocProps(&excelize.DocProperties{
		Created: "2020-01-01T00:00:00Z", Modified: "2020-01-01T00:00:00Z",
		Creator: "promiseledger imports tests", LastModifiedBy: "promiseledger imports tests",
		Title: "导入测试台账",
	})
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// writeRow writes cells (nil: left empty) from column A of row number.
func writeRow(f *excelize.File, sheet string, number int, cells []any) error {
	for i, v := range cells {
		if v == nil {
			continue
		}
		cell, err := excelize.CoordinatesToCellName(i+1, number)
		if err != nil {
			return err
		}
		n, ok := v.(numCell)
		if !ok {
			if err := f.SetCellValue(sheet, cell, v); err != nil {
				return err
			}
			continue
		}
		if err := f.SetCellValue(sheet, cell, n.v); err != nil {
			return err
		}
		st := &excelize.Style{NumFmt: n.numFmt}
		if n.custom != "" {
			st = &excelize.Style{CustomNumFmt: &n.custom}
		}
		style, err := f.NewStyle(st)
		if err != nil {
			return err
		}
		if err := f.SetCellStyle(sheet, cell, cell, style); err != nil {
			return err
		}
	}
	return nil
}

func writeBytes(f *excelize.File) ([]byte, error) {
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ---------------------------------------------------------------------------
// formats.xlsx

const formatsSheet, draftSheet = "承诺台账", "草稿"

// formatsHeader is the header of formats.xlsx as written: 承诺数量 is a merged
// cell over H1:I1, the amount and unit columns, so I1 is empty.
var formatsHeader = []string{"*县市区", "责任单位", "项目名称", "投资企业", "统一社会信用代码", "承诺类型", "承诺事项", "承诺数量", "", "签约日期", "兑现期限", "协议文号", "已兑现", "兑现日期"}

const (
	goodCreditCode = "91350100M000100Y43"
	reference      = "楚投促协〔2020〕17号"
)

// formatsRow is one data row of formats.xlsx: what is written, and what
// ReadRow must make of it.
type formatsRow struct {
	number int // the row in the sheet
	what   string
	// The cells that vary; the others are fixed (see cells). A string is
	// written as text, numCell as a number with a format, nil left empty.
	county, creditCode, kind, amount, unit, madeOn, due, fulfilled, fulfilledOn any
	project                                                                     string

	// What it reads as.
	wantCounty, wantKind, wantValue string
	wantUnit                        events.Unit
	wantMadeOn, wantDue             string
	wantFulfilled, wantFulfilledOn  string // "" when the row records none
}

func (r formatsRow) cells() []any {
	return []any{r.county, "县投资促进局", r.project, "楚雄某某硅材料有限公司", r.creditCode, r.kind,
		"按协议兑现：" + r.project, r.amount, r.unit, r.madeOn, r.due, reference, r.fulfilled, r.fulfilledOn}
}

var formatsRows = []formatsRow{
	{number: 2, what: "dashes; 万元 in the cell; county by name",
		county: "楚雄市", project: "单晶硅棒项目", creditCode: goodCreditCode, kind: "补贴",
		amount: "125.5万元", madeOn: "2020-12-31", due: "2021-12-31",
		wantCounty: "532301", wantKind: "subsidy", wantValue: "1255000", wantUnit: events.CNY,
		wantMadeOn: "2020-12-31", wantDue: "2021-12-31"},
	{number: 3, what: "slashes, one-digit month and day; thousands separators; county by code",
		county: "532322", project: "食品加工项目", kind: "土地",
		amount: "1,255,000", unit: "元", madeOn: "2020/12/31", due: "2021/1/5",
		wantCounty: "532322", wantKind: "land", wantValue: "1255000", wantUnit: events.CNY,
		wantMadeOn: "2020-12-31", wantDue: "2021-01-05"},
	{number: 4, what: "年月日, one-digit variant; full-width commas; already fulfilled in part",
		county: "牟定县", project: "彝绣产业园项目", creditCode: goodCreditCode, kind: "税收返还",
		amount: "1，255，000", unit: "元", madeOn: "2020年12月31日", due: "2021年6月3日",
		fulfilled: "500，000", fulfilledOn: "2021年1月5日",
		wantCounty: "532323", wantKind: "tax", wantValue: "1255000", wantUnit: events.CNY,
		wantMadeOn: "2020-12-31", wantDue: "2021-06-03", wantFulfilled: "500000", wantFulfilledOn: "2021-01-05"},
	{number: 5, what: "dots, one-digit variant; 亩 in the unit column; county by short name",
		county: "南华", project: "南华菌子加工项目", kind: "供地",
		amount: "300", unit: "亩", madeOn: "2020.12.31", due: "2021.1.5",
		wantCounty: "532324", wantKind: "land", wantValue: "300", wantUnit: events.Mu,
		wantMadeOn: "2020-12-31", wantDue: "2021-01-05"},
	// Row 6 is blank: the sheet's numbering goes on after it.
	{number: 7, what: "Excel date cells (short date; a time.Time); 平方米 in the unit column",
		county: "姚安县", project: "姚安物流园项目", kind: "基础设施",
		amount: "10441.54", unit: "平方米",
		madeOn: numCell{v: 44196, numFmt: 14}, due: numCell{v: time.Date(2021, 6, 30, 0, 0, 0, 0, time.UTC)},
		wantCounty: "532325", wantKind: "infrastructure", wantValue: "10441.54", wantUnit: events.M2,
		wantMadeOn: "2020-12-31", wantDue: "2021-06-30"},
	{number: 8, what: "an Excel date in Chinese format, a date-time cell; amounts as number cells; 项",
		county: "大姚县", project: "大姚核桃深加工项目", creditCode: goodCreditCode, kind: "其他",
		amount: numCell{v: 3, numFmt: 1}, unit: "项",
		madeOn: numCell{v: 44196, custom: `yyyy"年"m"月"d"日"`}, due: numCell{v: 44377.75, numFmt: 22},
		fulfilled: numCell{v: 1, numFmt: 1}, fulfilledOn: numCell{v: 44200, custom: `yyyy"年"m"月"d"日"`},
		wantCounty: "532326", wantKind: "other", wantValue: "3", wantUnit: events.Item,
		wantMadeOn: "2020-12-31", wantDue: "2021-06-30", wantFulfilled: "1", wantFulfilledOn: "2021-01-04"},
	{number: 9, what: "an amount cell with a thousands format; 元; county by code",
		county: "532327", project: "永仁光伏项目", kind: "财政补贴",
		amount: numCell{v: 1255000, numFmt: 3}, unit: "元", madeOn: "2020-1-5", due: "2020年12月31日",
		wantCounty: "532327", wantKind: "subsidy", wantValue: "1255000", wantUnit: events.CNY,
		wantMadeOn: "2020-01-05", wantDue: "2020-12-31"},
	{number: 10, what: "万元 in the unit column, fulfilled in 万元 too",
		county: "元谋县", project: "元谋冬早蔬菜项目", creditCode: goodCreditCode, kind: "融资",
		amount: "125.5", unit: "万元", madeOn: "2020/3/15", due: "2020/12/31",
		fulfilled: "50", fulfilledOn: "2020.6.1",
		wantCounty: "532328", wantKind: "financing", wantValue: "1255000", wantUnit: events.CNY,
		wantMadeOn: "2020-03-15", wantDue: "2020-12-31", wantFulfilled: "500000", wantFulfilledOn: "2020-06-01"},
	{number: 11, what: "亩 in the cell, with decimals; the kind in English",
		county: "武定县", project: "武定农文旅项目", kind: "land",
		amount: "12.5亩", madeOn: "2020年3月5日", due: "2020年9月30日",
		wantCounty: "532329", wantKind: "land", wantValue: "12.5", wantUnit: events.Mu,
		wantMadeOn: "2020-03-05", wantDue: "2020-09-30"},
	{number: 12, what: "元 in the cell with cents; a county cell merged over this row and the next",
		county: "禄丰市", project: "禄丰钛产业园项目", creditCode: goodCreditCode, kind: "费用减免",
		amount: "1,255,000.50元", madeOn: "2020-03-15", due: "2020-12-31",
		wantCounty: "532331", wantKind: "fee", wantValue: "1255000.50", wantUnit: events.CNY,
		wantMadeOn: "2020-03-15", wantDue: "2020-12-31"},
	{number: 13, what: "the county from the merged cell above; 万元 in both the cell and the unit column",
		county: nil, project: "禄丰钛产业园项目（二期）", kind: "奖励",
		amount: "0.5万元", unit: "万元", madeOn: "2020.3.15", due: "2020.12.31",
		wantCounty: "532331", wantKind: "subsidy", wantValue: "5000", wantUnit: events.CNY,
		wantMadeOn: "2020-03-15", wantDue: "2020-12-31"},
}

// formatsBlankRows are the rows of formats.xlsx with nothing but spaces (or
// no cells at all): none of them is read.
var formatsBlankRows = map[int][]any{
	6:  {"", " ", nil, "\u3000"},
	15: {" "},
	16: {nil, nil, "\u3000\u3000"},
	20: {"", ""},
}

func genFormats() ([]byte, error) {
	f, err := newWorkbook()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// A scratch sheet first, hidden, that looks like a ledger: it must be
	// skipped.
	if err := f.SetSheetName("Sheet1", draftSheet); err != nil {
		return nil, err
	}
	if err := writeRow(f, draftSheet, 1, toAny(formatsHeader)); err != nil {
		return nil, err
	}
	draft := formatsRows[0]
	draft.project = "草稿：不要导入"
	if err := writeRow(f, draftSheet, 2, draft.cells()); err != nil {
		return nil, err
	}
	idx, err := f.NewSheet(formatsSheet)
	if err != nil {
		return nil, err
	}
	f.SetActiveSheet(idx)
	if err := f.SetSheetVisible(draftSheet, false); err != nil {
		return nil, err
	}

	s := formatsSheet
	if err := writeRow(f, s, 1, toAny(formatsHeader)); err != nil {
		return nil, err
	}
	// 承诺数量 merged over the amount and unit columns: merging empties I1
	// (as Excel does; excelize writes a value set on I1 afterwards into H1,
	// the merge's cell), so the unit column's header is the merge's text.
	if err := f.MergeCell(s, "H1", "I1"); err != nil {
		return nil, err
	}
	for _, r := range formatsRows {
		if err := writeRow(f, s, r.number, r.cells()); err != nil {
			return nil, err
		}
	}
	// One county cell over rows 12 and 13.
	if err := f.MergeCell(s, "A12", "A13"); err != nil {
		return nil, err
	}
	for n := 2; n <= 20; n++ {
		if cells, ok := formatsBlankRows[n]; ok {
			if err := writeRow(f, s, n, cells); err != nil {
				return nil, err
			}
		}
	}
	// A formatted but empty cell far below, as sheets keep after a clerk
	// deletes rows' contents.
	style, err := f.NewStyle(&excelize.Style{Fill: excelize.Fill{Type: "pattern", Color: []string{"FFFF00"}, Pattern: 1}})
	if err != nil {
		return nil, err
	}
	if err := f.SetCellStyle(s, "A30", "N30", style); err != nil {
		return nil, err
	}
	return writeBytes(f)
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		if s != "" {
			out[i] = s
		}
	}
	return out
}

// TestFormatsFixture: every row of formats.xlsx reads without a problem, as
// the exact values the domain takes.
func TestFormatsFixture(t *testing.T) {
	tab, err := ReadXLSX(bytes.NewReader(readFixture(t, "formats.xlsx")))
	if err != nil {
		t.Fatal(err)
	}
	if tab.Sheet != formatsSheet {
		t.Fatalf("read sheet %q, want %q: the hidden sheet %q must be skipped", tab.Sheet, formatsSheet, draftSheet)
	}
	// The merged cell's text is in both columns it spans.
	wantHeader := slices.Clone(formatsHeader)
	wantHeader[8] = "承诺数量"
	if tab.HeadRow != 1 || !reflect.DeepEqual(tab.Header, wantHeader) {
		t.Fatalf("header at row %d: %q\nwant %q", tab.HeadRow, tab.Header, wantHeader)
	}
	var numbers []int
	for _, r := range formatsRows {
		numbers = append(numbers, r.number)
	}
	if !reflect.DeepEqual(tab.Numbers, numbers) || len(tab.Rows) != len(numbers) {
		t.Fatalf("rows %v (%d), want %v: blank rows dropped, the others numbered as the sheet numbers them", tab.Numbers, len(tab.Rows), numbers)
	}
	// 承诺数量 merged over the amount and the unit column reads as both.
	h, problems := ReadTableHeader(tab)
	if len(problems) != 0 || h.Cell(ColUnit, 2) != "I2" {
		t.Fatalf("header problems %v, unit column at %q: the merged 承诺数量 is the amount and its unit", problems, h.Cell(ColUnit, 2))
	}
	j := events.DefaultJurisdiction()
	for i, want := range formatsRows {
		t.Run(fmt.Sprintf("row %d", want.number), func(t *testing.T) {
			r, problems := ReadRow(h, tab.Numbers[i], tab.Rows[i], j, fixtureToday)
			if len(problems) != 0 {
				t.Fatalf("%s: %v", want.what, problems)
			}
			m := r.Make
			got := []string{m.County, m.Kind, quantityText(m.Quantity), m.MadeOn, m.Due, m.Project}
			exp := []string{want.wantCounty, want.wantKind, string(want.wantUnit) + " " + want.wantValue, want.wantMadeOn, want.wantDue, want.project}
			if !reflect.DeepEqual(got, exp) {
				t.Errorf("%s: read %q, want %q", want.what, got, exp)
			}
			if _, err := m.Decide(j, fixtureToday); err != nil {
				t.Errorf("the ledger refuses the command: %v", err)
			}
			registered := m.Investor.Registered == nil || *m.Investor.Registered
			if registered != (want.creditCode != nil) {
				t.Errorf("registered %v with credit code %v", registered, want.creditCode)
			}
			switch {
			case want.wantFulfilled == "" && r.Fulfil != nil:
				t.Errorf("a fulfilment no cell gives: %+v", r.Fulfil)
			case want.wantFulfilled != "" && r.Fulfil == nil:
				t.Errorf("no fulfilment, want %s on %s", want.wantFulfilled, want.wantFulfilledOn)
			case want.wantFulfilled != "":
				got := []string{quantityText(r.Fulfil.Quantity), r.Fulfil.FulfilledOn}
				exp := []string{string(want.wantUnit) + " " + want.wantFulfilled, want.wantFulfilledOn}
				if !reflect.DeepEqual(got, exp) {
					t.Errorf("fulfilment %q, want %q", got, exp)
				}
			}
		})
	}
	for _, row := range tab.Rows {
		for _, c := range row {
			if strings.Contains(c, "草稿") {
				t.Errorf("a cell of the hidden sheet was read: %q", row)
			}
		}
	}
}

// quantityText is a quantity input as "UNIT value".
func quantityText(q *events.QuantityInput) string {
	if q == nil {
		return "<nil>"
	}
	b, err := q.Value.MarshalJSON()
	if err != nil {
		return err.Error()
	}
	return q.Unit + " " + strings.Trim(string(b), `"`)
}

// TestFormatsFixture_Layout checks what the reader must cope with is really
// in formats.xlsx: the hidden sheet, the merges, the date-formatted numbers.
func TestFormatsFixture_Layout(t *testing.T) {
	f, err := excelize.OpenReader(bytes.NewReader(readFixture(t, "formats.xlsx")))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if sheets := f.GetSheetList(); !reflect.DeepEqual(sheets, []string{draftSheet, formatsSheet}) {
		t.Fatalf("sheets %q", sheets)
	}
	if visible, err := f.GetSheetVisible(draftSheet); err != nil || visible {
		t.Fatalf("the scratch sheet is visible (%v)", err)
	}
	merged, err := f.GetMergeCells(formatsSheet)
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, m := range merged {
		refs = append(refs, m.GetStartAxis()+":"+m.GetEndAxis()+"="+m.GetCellValue())
	}
	if want := []string{"H1:I1=承诺数量", "A12:A13=禄丰市"}; !reflect.DeepEqual(refs, want) {
		t.Fatalf("merged cells %q, want %q", refs, want)
	}
	// As Excel shows them: formatted, not serial numbers.
	for cell, want := range map[string]string{"J7": "12-31-20", "J8": "2020年12月31日", "H9": "1,255,000"} {
		if got, err := f.GetCellValue(formatsSheet, cell); err != nil || got != want {
			t.Errorf("%s shows %q (%v), want %q", cell, got, err, want)
		}
	}
	for _, cell := range []string{"J7", "K7", "J8", "K8", "N8", "H9"} {
		if typ, err := f.GetCellType(formatsSheet, cell); err != nil || typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
			t.Errorf("%s is not a number cell: %v %v", cell, typ, err)
		}
	}
}

// ---------------------------------------------------------------------------
// gb18030.csv

// gbRows is gb18030.csv before encoding: the headers are aliases, not the
// template's; text holds characters of four bytes in GB18030 (𠮷 U+20BB7,
// 𫖯 U+2B5AF) and 䶮 (U+4DAE, the character GB18030-2022 remapped),
// full-width brackets, Chinese quotes, ㎡, a comma, a quote and a line break
// inside a quoted cell.
var gbRows = [][]string{
	{"县（市、区）", "承诺单位", "项目名称", "企业名称", "信用代码", "政策类型", "优惠政策内容", "承诺金额", "计量单位", "协议签订日期", "承诺兑现期限", "文件依据", "已兑现金额", "已兑现日期"},
	{"楚雄市", "楚雄市自然资源局", "年产10GW单晶硅棒项目", "楚雄某某硅材料有限公司", goodCreditCode, "供地", "保障项目用地300亩，2020年底前完成供地", "300", "亩", "2020年3月15日", "2020年12月31日", "楚投促协〔2020〕17号", "120", "2020年10月1日"},
	{"双柏县", "双柏县财政局", "“䶮芯”芯片封装项目（一期）", "云南䶮芯科技有限公司", "", "税收奖励", "地方留成部分前三年全额奖励，\n后两年减半", "125.5万元", "", "2020/3/15", "2023/3/14", "双政发〔2020〕3号", "", ""},
	{"牟定县", "牟定县发展和改革局", `牟定"𠮷祥"彝绣产业园`, "牟定𠮷祥彝绣文化传播有限公司", "", "配套", "厂房代建 10441.54㎡（经办人：赵孟𫖯）", "10441.54", "㎡", "2021.6.1", "2021.12.31", "", "", ""},
}

// gbWant is what each data row of gb18030.csv reads as: county, project,
// investor, description, "UNIT value".
var gbWant = [][]string{
	{"532301", "年产10GW单晶硅棒项目", "楚雄某某硅材料有限公司", "保障项目用地300亩，2020年底前完成供地", "mu 300"},
	{"532322", "“䶮芯”芯片封装项目（一期）", "云南䶮芯科技有限公司", "地方留成部分前三年全额奖励，\n后两年减半", "CNY 1255000"},
	{"532323", `牟定"𠮷祥"彝绣产业园`, "牟定𠮷祥彝绣文化传播有限公司", "厂房代建 10441.54㎡（经办人：赵孟𫖯）", "m2 10441.54"},
}

func genGB18030() ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.UseCRLF = true // as Excel saves CSV
	if err := w.WriteAll(gbRows); err != nil {
		return nil, err
	}
	// A blank line at the end, as a sheet's empty rows save.
	b.WriteString(strings.Repeat(",", len(gbRows[0])-1) + "\r\n")
	return simplifiedchinese.GB18030.NewEncoder().Bytes(b.Bytes())
}

func TestGB18030Fixture(t *testing.T) {
	raw := readFixture(t, "gb18030.csv")
	if utf8.Valid(raw) || bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) {
		t.Fatal("gb18030.csv is UTF-8: it no longer tests the GB18030 decoding")
	}
	// 𠮷 and 𫖯 take four bytes in GB18030 (䶮, two: FE9F).
	for _, r := range []string{"𠮷", "𫖯"} {
		enc, err := simplifiedchinese.GB18030.NewEncoder().String(r)
		if err != nil || len(enc) != 4 || !bytes.Contains(raw, []byte(enc)) {
			t.Fatalf("%s: %x, %v: not in the file as four bytes", r, enc, err)
		}
	}
	tab, err := ReadCSV(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if tab.HeadRow != 1 || !reflect.DeepEqual(tab.Header, gbRows[0]) {
		t.Fatalf("header %q\nwant %q", tab.Header, gbRows[0])
	}
	if !reflect.DeepEqual(tab.Rows, gbRows[1:]) || !reflect.DeepEqual(tab.Numbers, []int{2, 3, 4}) {
		t.Fatalf("rows %v %q\nwant %q", tab.Numbers, tab.Rows, gbRows[1:])
	}
	h, problems := ReadTableHeader(tab)
	if len(problems) != 0 {
		t.Fatalf("header: %v", problems)
	}
	j := events.DefaultJurisdiction()
	for i, cells := range tab.Rows {
		r, problems := ReadRow(h, tab.Numbers[i], cells, j, fixtureToday)
		if len(problems) != 0 {
			t.Errorf("row %d: %v", tab.Numbers[i], problems)
			continue
		}
		got := []string{r.Make.County, r.Make.Project, r.Make.Investor.Name, r.Make.Description, quantityText(r.Make.Quantity)}
		if !reflect.DeepEqual(got, gbWant[i]) {
			t.Errorf("row %d: %q\nwant %q", tab.Numbers[i], got, gbWant[i])
		}
	}
}

// ---------------------------------------------------------------------------
// bad-values.xlsx

// badHeader is the header of bad-values.xlsx: the template's, with a
// required mark, a bracketed note and an alias where clerks write them (a
// problem names the column as the sheet does). Written out, not taken from
// Columns, so that the fixture does not change with the template.
var badHeader = []string{"*县市区", "责任单位", "项目名称", "投资企业", "统一社会信用代码", "承诺类型", "承诺事项", "承诺数量（单位见右）", "单位", "签约日期", "兑现期限", "协议文号", "已兑现", "兑现日期"}

// badGood is the good row: every bad row is it with one value changed.
var badGood = map[Column]string{
	ColCounty: "楚雄市", ColDepartment: "楚雄市财政局", ColProject: "年产10GW单晶硅棒项目",
	ColInvestor: "楚雄某某硅材料有限公司", ColCreditCode: goodCreditCode, ColKind: "补贴",
	ColDescription: "设备补助", ColAmount: "125.5", ColUnit: "万元", ColMadeOn: "2020-03-15",
	ColDue: "2020-12-31", ColReference: reference, ColFulfilled: "", ColFulfilledOn: "",
}

// badCase is one row of bad-values.xlsx (they follow the good row, from row
// 3): the values changed, and the problem expected — at the column named
// by its header, with the cell's value.
type badCase struct {
	what   string
	over   map[Column]string
	column string
	value  string
}

var badCases = []badCase{
	{what: "unknown county", over: map[Column]string{ColCounty: "昆明市"}, column: "*县市区", value: "昆明市"},
	{what: "unknown kind", over: map[Column]string{ColKind: "股权"}, column: "承诺类型", value: "股权"},
	{what: "amount not a number", over: map[Column]string{ColAmount: "很多"}, column: "承诺数量（单位见右）", value: "很多"},
	{what: "two numbers in the amount", over: map[Column]string{ColAmount: "1.2.3"}, column: "承诺数量（单位见右）", value: "1.2.3"},
	{what: "unknown unit in the amount cell", over: map[Column]string{ColAmount: "100美元", ColUnit: ""}, column: "承诺数量（单位见右）", value: "100美元"},
	{what: "no unit anywhere", over: map[Column]string{ColAmount: "100", ColUnit: ""}, column: "承诺数量（单位见右）", value: "100"},
	{what: "the amount cell and the unit column disagree", over: map[Column]string{ColAmount: "125.5万元", ColUnit: "亩"}, column: "承诺数量（单位见右）", value: "125.5万元"},
	{what: "a separator in the wrong place", over: map[Column]string{ColAmount: "125,5"}, column: "承诺数量（单位见右）", value: "125,5"},
	{what: "unknown unit in the unit column", over: map[Column]string{ColAmount: "100", ColUnit: "美元"}, column: "单位", value: "美元"},
	{what: "amount zero", over: map[Column]string{ColAmount: "0", ColUnit: "元"}, column: "承诺数量（单位见右）", value: "0"},
	{what: "more decimals than the unit has", over: map[Column]string{ColAmount: "1.5", ColUnit: "项"}, column: "承诺数量（单位见右）", value: "1.5"},
	{what: "bad made-on date", over: map[Column]string{ColMadeOn: "去年"}, column: "签约日期", value: "去年"},
	{what: "made-on date that does not exist", over: map[Column]string{ColMadeOn: "2020年2月30日"}, column: "签约日期", value: "2020年2月30日"},
	{what: "bad due date", over: map[Column]string{ColDue: "2020-02-30"}, column: "兑现期限", value: "2020-02-30"},
	{what: "due date day-month-year", over: map[Column]string{ColDue: "31/12/2020"}, column: "兑现期限", value: "31/12/2020"},
	{what: "empty due date", over: map[Column]string{ColDue: ""}, column: "兑现期限", value: ""},
	{what: "due before made-on", over: map[Column]string{ColDue: "2019-12-31"}, column: "兑现期限", value: "2019-12-31"},
	{what: "made-on after today", over: map[Column]string{ColMadeOn: "2027-01-01", ColDue: "2027-12-31"}, column: "签约日期", value: "2027-01-01"},
	{what: "bad credit code (check character)", over: map[Column]string{ColCreditCode: "91350100M000100Y44"}, column: "统一社会信用代码", value: "91350100M000100Y44"},
	{what: "bad credit code (length)", over: map[Column]string{ColCreditCode: "91350100M000100"}, column: "统一社会信用代码", value: "91350100M000100"},
	{what: "missing project", over: map[Column]string{ColProject: ""}, column: "项目名称", value: ""},
	{what: "missing department", over: map[Column]string{ColDepartment: ""}, column: "责任单位", value: ""},
	{what: "missing investor", over: map[Column]string{ColInvestor: ""}, column: "投资企业", value: ""},
	{what: "missing description", over: map[Column]string{ColDescription: ""}, column: "承诺事项", value: ""},
	{what: "fulfilled with a different unit (unit column)", over: map[Column]string{ColFulfilled: "50亩", ColFulfilledOn: "2020-10-01"}, column: "已兑现", value: "50亩"},
	{what: "fulfilled with a different unit (unit in the amount cell)", over: map[Column]string{ColAmount: "125.5万元", ColUnit: "", ColFulfilled: "50亩", ColFulfilledOn: "2020-10-01"}, column: "已兑现", value: "50亩"},
	{what: "fulfilled not a number", over: map[Column]string{ColFulfilled: "一半", ColFulfilledOn: "2020-10-01"}, column: "已兑现", value: "一半"},
	{what: "fulfilled without a date", over: map[Column]string{ColFulfilled: "50"}, column: "兑现日期", value: ""},
	{what: "fulfilled with a bad date", over: map[Column]string{ColFulfilled: "50", ColFulfilledOn: "国庆节"}, column: "兑现日期", value: "国庆节"},
	{what: "fulfilled more than promised", over: map[Column]string{ColFulfilled: "200", ColFulfilledOn: "2020-10-01"}, column: "已兑现", value: "200"},
	{what: "fulfilled after today", over: map[Column]string{ColFulfilled: "50", ColFulfilledOn: "2027-01-01"}, column: "兑现日期", value: "2027-01-01"},
	{what: "fulfilled before made-on", over: map[Column]string{ColFulfilled: "50", ColFulfilledOn: "2019-01-01"}, column: "兑现日期", value: "2019-01-01"},
}

// badOrder is the column of each header of badHeader.
var badOrder = []Column{ColCounty, ColDepartment, ColProject, ColInvestor, ColCreditCode, ColKind, ColDescription,
	ColAmount, ColUnit, ColMadeOn, ColDue, ColReference, ColFulfilled, ColFulfilledOn}

func badCells(over map[Column]string) []any {
	var out []any
	for _, c := range badOrder {
		v, ok := over[c]
		if !ok {
			v = badGood[c]
		}
		out = append(out, v)
	}
	return out
}

func genBadValues() ([]byte, error) {
	f, err := newWorkbook()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	const s = "承诺台账"
	if err := f.SetSheetName("Sheet1", s); err != nil {
		return nil, err
	}
	if err := writeRow(f, s, 1, toAny(badHeader)); err != nil {
		return nil, err
	}
	if err := writeRow(f, s, 2, badCells(nil)); err != nil {
		return nil, err
	}
	for i, c := range badCases {
		if err := writeRow(f, s, i+3, badCells(c.over)); err != nil {
			return nil, err
		}
		// What the row tests, beside it, under no header: ReadRow ignores
		// it, a reader of the file sees it.
		cell, _ := excelize.CoordinatesToCellName(len(badHeader)+2, i+3)
		if err := f.SetCellValue(s, cell, c.what); err != nil {
			return nil, err
		}
	}
	return writeBytes(f)
}

// englishWord is a word of four letters or more: a rule in Chinese may
// name a unit (CNY), not explain in English.
var englishWord = regexp.MustCompile(`[A-Za-z_]{4,}`)

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// TestBadValuesFixture: the good row reads clean; each bad row gives one
// problem, at its row and at its column as the sheet names it, with the
// cell's value and a rule in Chinese.
func TestBadValuesFixture(t *testing.T) {
	tab, err := ReadXLSX(bytes.NewReader(readFixture(t, "bad-values.xlsx")))
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 1+len(badCases) {
		t.Fatalf("%d rows, want %d", len(tab.Rows), 1+len(badCases))
	}
	h, problems := ReadTableHeader(tab)
	if len(problems) != 0 {
		t.Fatalf("header: %v", problems)
	}
	j := events.DefaultJurisdiction()
	if r, problems := ReadRow(h, tab.Numbers[0], tab.Rows[0], j, fixtureToday); len(problems) != 0 || tab.Numbers[0] != 2 {
		t.Fatalf("the good row %d: %v", tab.Numbers[0], problems)
	} else if r.Make.County != "532301" || quantityText(r.Make.Quantity) != "CNY 1255000" || r.Fulfil != nil {
		t.Fatalf("the good row: %+v", r.Make)
	}
	for i, c := range badCases {
		number := i + 3
		t.Run(fmt.Sprintf("row %d %s", number, c.what), func(t *testing.T) {
			if tab.Numbers[i+1] != number {
				t.Fatalf("row %d read as row %d", number, tab.Numbers[i+1])
			}
			_, got := ReadRow(h, number, tab.Rows[i+1], j, fixtureToday)
			if len(got) != 1 {
				t.Fatalf("%d problems, want one at 「%s」: %v", len(got), c.column, got)
			}
			p := got[0]
			if p.Row != number || p.Column != c.column || p.Value != c.value {
				t.Fatalf("problem at row %d 「%s」 value %q, want row %d 「%s」 value %q (rule %q)", p.Row, p.Column, p.Value, number, c.column, c.value, p.Rule)
			}
			if !hasHan(p.Rule) {
				t.Fatalf("the rule is not in Chinese: %q", p.Rule)
			}
			if words := englishWord.FindAllString(p.Rule, -1); len(words) > 0 {
				t.Fatalf("the rule is partly English: %q", p.Rule)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Layouts clerks' workbooks have: each test builds its workbook in memory.

// A merged title row above the header, as most county ledgers have.
func TestMergedTitleRow(t *testing.T) {
	f, err := newWorkbook()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const s = "Sheet1"
	_ = f.SetCellValue(s, "A1", "楚雄州招商引资承诺兑现台账（2020年）")
	_ = f.MergeCell(s, "A1", "N1")
	_ = writeRow(f, s, 2, toAny(badHeader))
	_ = writeRow(f, s, 3, badCells(nil))
	b, err := writeBytes(f)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := ReadXLSX(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	h, problems := ReadTableHeader(tab)
	if tab.HeadRow != 2 || len(problems) != 0 || len(tab.Rows) != 1 {
		t.Fatalf("header at row %d %v, %d rows", tab.HeadRow, problems, len(tab.Rows))
	}
	if _, problems := ReadRow(h, tab.Numbers[0], tab.Rows[0], events.DefaultJurisdiction(), fixtureToday); len(problems) != 0 {
		t.Fatal(problems)
	}
}

// A workbook in the 1904 date system (Excel for Mac's old default): the
// same serial is another day.
func TestDate1904Workbook(t *testing.T) {
	f, err := newWorkbook()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	yes := true
	if err := f.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &yes}); err != nil {
		t.Fatal(err)
	}
	const s = "Sheet1"
	_ = writeRow(f, s, 1, toAny(badHeader))
	cells := badCells(nil)
	cells[9] = numCell{v: 42734, numFmt: 14} // 2020-12-31 counted from 1904-01-01
	cells[10] = "2021-12-31"
	_ = writeRow(f, s, 2, cells)
	b, err := writeBytes(f)
	if err != nil {
		t.Fatal(err)
	}
	// Excel (and excelize) show the cell as 2020-12-31.
	if g, err := excelize.OpenReader(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	} else if shown, _ := g.GetCellValue(s, "J2"); shown != "12-31-20" {
		g.Close()
		t.Fatalf("the 1904 workbook shows J2 as %q", shown)
	} else {
		g.Close()
	}
	tab, err := ReadXLSX(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	h, _ := ReadTableHeader(tab)
	r, problems := ReadRow(h, 2, tab.Rows[0], events.DefaultJurisdiction(), fixtureToday)
	if len(problems) != 0 || r.Make.MadeOn != "2020-12-31" {
		t.Fatalf("made on %s, %v; want 2020-12-31", r.Make.MadeOn, problems)
	}
}
