package imports

import (
	"archive/zip"
	"bytes"
	"math/big"
	"os"
	"reflect"
	"strings"
	"testing"

	"promiseledger/events"
)

// The fuzz targets of the readers of the counties' spreadsheets: every file
// and every cell is answered with a value or an error, never a panic.
// scripts/fuzz-smoke.sh runs them all; seeds are below and under
// testdata/fuzz.

// maxFuzzFile bounds a fuzzed file, so that a run cannot exhaust memory on
// what a workbook unpacks to.
const maxFuzzFile = 1 << 20

// FuzzSpreadsheet fuzzes [ReadXLSX] twice with each input: as a file that
// may or may not be a workbook, and as the XML of the sheet of an otherwise
// valid workbook (where mutations reach cells, rows and merged ranges, not
// only the zip). The reader answers with a table or an error.
func FuzzSpreadsheet(f *testing.F) {
	for _, name := range []string{"testdata/formats.xlsx", "testdata/bad-values.xlsx"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(sheetXML(`<row r="1"><c r="A1" t="inlineStr"><is><t>县市区</t></is></c><c r="C1" t="inlineStr"><is><t>承诺数量</t></is></c></row>`+
		`<row r="3"><c r="A3" t="inlineStr"><is><t>楚雄市</t></is></c><c r="B3"><v>44196</v></c><c r="C3" t="n"><v>125.5</v></c></row>`,
		`<mergeCells><mergeCell ref="C1:D1"/><mergeCell ref="A3:A9"/></mergeCells>`)))
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzFile {
			t.Skip("larger than a fuzzed file may be")
		}
		for _, file := range [][]byte{b, workbookWith(b)} {
			tab, err := ReadXLSX(bytes.NewReader(file))
			checkTable(t, tab, err)
			if err == nil && tab.Header == nil {
				t.Fatal("ReadXLSX: a table without a header and no error")
			}
		}
	})
}

// sheetXML is a worksheet with the given rows, and after them more (merged
// ranges).
func sheetXML(rows, more string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` +
		rows + `</sheetData>` + more + `</worksheet>`
}

// workbookWith is the smallest workbook excelize reads, its one sheet's XML
// being sheet.
func workbookWith(sheet []byte) []byte {
	const rels = "http://schemas.openxmlformats.org/package/2006/relationships"
	const officeRels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	files := []struct{ name, body string }{
		{"[Content_Types].xml", `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
			`<Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
			`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`},
		{"_rels/.rels", `<Relationships xmlns="` + rels + `"><Relationship Id="rId1" Type="` + officeRels + `/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="` + officeRels + `">` +
			`<sheets><sheet name="台账" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<Relationships xmlns="` + rels + `"><Relationship Id="rId1" Type="` + officeRels + `/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`},
		{"xl/worksheets/sheet1.xml", string(sheet)},
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Store})
		if err != nil {
			panic(err)
		}
		if _, err := w.Write([]byte(f.body)); err != nil {
			panic(err)
		}
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// FuzzCSV fuzzes [ReadCSV] with bytes in any encoding.
func FuzzCSV(f *testing.F) {
	gb, err := os.ReadFile("testdata/gb18030.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(gb)
	for _, s := range []string{
		"\xef\xbb\xbf县市区,责任单位,项目名称,投资企业,承诺数量\n楚雄市,自然资源局,硅棒,某某公司,125.5万元\n,,,,\n",
		"标题\n\n县市区,项目名称,承诺数量\r\n楚雄市,\"a,\"\"b\"\"\",'=1+1\n",
		"a,\"b\nc", "\x00\x00\xff\xfe", "\"", ",,,\n,,,\n", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzFile {
			t.Skip("larger than a fuzzed file may be")
		}
		tab, err := ReadCSV(bytes.NewReader(b))
		checkTable(t, tab, err)
	})
}

// checkTable checks what a reader promises of a [Table]: an error and no
// table, or a table whose header is its first row with text and whose data
// rows are the rows with text after it, numbered as the sheet numbers them.
func checkTable(t *testing.T, tab Table, err error) {
	t.Helper()
	if err != nil {
		if !reflect.DeepEqual(tab, Table{}) {
			t.Fatalf("an error (%v) and a table %+v", err, tab)
		}
		return
	}
	if tab.Header == nil {
		if tab.Rows != nil || tab.Numbers != nil || tab.HeadRow != 0 {
			t.Fatalf("rows without a header: %+v", tab)
		}
		return
	}
	if blank(tab.Header) || tab.HeadRow < 1 {
		t.Fatalf("header %q at row %d", tab.Header, tab.HeadRow)
	}
	if len(tab.Rows) != len(tab.Numbers) {
		t.Fatalf("%d rows, %d numbers", len(tab.Rows), len(tab.Numbers))
	}
	last := tab.HeadRow
	for i, row := range tab.Rows {
		if tab.Numbers[i] <= last {
			t.Fatalf("row %d numbered %d, after %d", i, tab.Numbers[i], last)
		}
		last = tab.Numbers[i]
		if blank(row) {
			t.Fatalf("row %d is blank", tab.Numbers[i])
		}
	}
}

// FuzzImportDate fuzzes [ParseDate] and its 1904 form: a date that is read
// is a date, and its own YYYY-MM-DD text reads back as the same date.
func FuzzImportDate(f *testing.F) {
	for _, s := range []string{
		"2020-12-31", "2020/12/31", "2020年12月31日", "2020.12.31", "2020/1/5", " 2020 年 1 月 5 日 ",
		"44196", "44196.75", "43000", "999999", "0001年1月1日", "2020-02-30", "2020-12-31日日",
		"１２３４５", "2020\x00-12-31", "\xff", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string) (events.Date, error){ParseDate, parseDate1904} {
			d, err := parse(s)
			if err != nil {
				if !d.IsZero() {
					t.Fatalf("%q: an error (%v) and a date %s", s, err, d)
				}
				continue
			}
			if d.IsZero() {
				t.Fatalf("%q: the zero Date (no date), without an error", s)
			}
			if d2, err := ParseDate(d.String()); err != nil || d2 != d {
				t.Fatalf("%q reads as %s, which reads back as %s (%v)", s, d, d2, err)
			}
		}
	})
}

// unitWord is the word of each unit that [ParseAmount] reads with factor 1.
var unitWord = map[events.Unit]string{events.CNY: "元", events.M2: "平方米", events.Mu: "亩", events.Item: "项"}

// FuzzAmount fuzzes [ParseAmount]: an amount that is read is an exact
// decimal in a unit of the domain, and that decimal in that unit, read
// again, is the same amount — 万元 converted exactly, separators gone.
func FuzzAmount(f *testing.F) {
	for _, s := range []struct{ cell, unit string }{
		{"125.5万元", ""}, {"1,255,000", "元"}, {"1，255，000元", ""}, {"300", "亩"}, {"12.34平方米", ""},
		{"0.00001万元", ""}, {"125,5", "元"}, {"1.2.3", "元"}, {"-5", "元"}, {"+5万", ""},
		{"5", ""}, {"5元", "亩"}, {"1e1000000", "元"}, {"9" + strings.Repeat("9", 60) + ".5", "万元"},
		{"\x00元", ""}, {"\xff", "\xff"}, {"", ""},
	} {
		f.Add(s.cell, s.unit)
	}
	f.Fuzz(func(t *testing.T, cell, unit string) {
		a, err := ParseAmount(cell, unit)
		if err != nil {
			if a != (Amount{}) {
				t.Fatalf("ParseAmount(%q, %q): an error (%v) and %+v", cell, unit, err, a)
			}
			return
		}
		if !a.Unit.Valid() {
			t.Fatalf("ParseAmount(%q, %q) = %+v: not a unit", cell, unit, a)
		}
		if _, ok := new(big.Rat).SetString(a.Value); !ok || strings.ContainsAny(a.Value, ",+eE") {
			t.Fatalf("ParseAmount(%q, %q) = %+v: not a plain decimal", cell, unit, a)
		}
		a2, err := ParseAmount(a.Value, unitWord[a.Unit])
		if err != nil || a2 != a {
			t.Fatalf("ParseAmount(%q, %q) = %+v, which reads back as %+v (%v)", cell, unit, a, a2, err)
		}
	})
}
