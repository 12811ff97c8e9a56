package demo

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"promiseledger/events"
	"promiseledger/imports"
	"promiseledger/internal/sheet"
)

// Workbook names, as a clerk finds them in the demo's folder.
const (
	ExampleName = "示例台账-可导入.xlsx"
	FaultyName  = "示例台账-含错误.xlsx"
)

// exampleHeader is a county ledger's header as clerks write it: the
// template's Chinese headers, in another order, with a column of their own
// (备注) that the import leaves alone.
var exampleHeader = []sheet.Column{
	{Header: "序号", Kind: sheet.Int}, {Header: "县市区"}, {Header: "项目名称"}, {Header: "投资企业"}, {Header: "统一社会信用代码"},
	{Header: "承诺类型"}, {Header: "承诺事项"}, {Header: "承诺数量", Kind: sheet.Number}, {Header: "单位"}, {Header: "责任单位"},
	{Header: "签约日期", Kind: sheet.Date}, {Header: "兑现期限", Kind: sheet.Date}, {Header: "协议文号"},
	{Header: "已兑现", Kind: sheet.Number}, {Header: "兑现日期", Kind: sheet.Date}, {Header: "备注"},
}

// exampleRows are two promises per county, not in the demo's data set:
// importing the example adds them, importing it again adds nothing.
func exampleRows(j *events.Jurisdiction) [][]string {
	var rows [][]string
	for i, c := range j.Counties {
		n := fmt.Sprint(i + 1)
		rows = append(rows,
			[]string{fmt.Sprint(2*i + 1), c.Name, "【演示】" + c.Name + "台账导入示例项目" + n, "【演示】" + c.Name + "示例实业有限公司", creditCode(c.Code, 900+i),
				"补贴", "【演示】设备购置补助", "125.5", "万元", c.Name + "财政局", "2021-04-15", "2022-12-31", "【演示】投促协〔2021〕" + n + "号",
				"50", "2022-06-30", "2020年摸排台账"},
			[]string{fmt.Sprint(2*i + 2), c.Name, "【演示】" + c.Name + "台账导入示例项目" + n, "【演示】" + c.Name + "示例实业有限公司", creditCode(c.Code, 900+i),
				"土地", "【演示】保障项目建设用地", "86.25", "亩", c.Name + "自然资源局", "2021-04-15", "2023-06-30", "【演示】投促协〔2021〕" + n + "号",
				"", "", ""})
	}
	return rows
}

// Workbooks are the files a newcomer tries the import with: the template,
// an example ledger of the demo's counties that imports as it is, and one
// with mistakes, to see the report.
func Workbooks(j *events.Jurisdiction) (map[string][]byte, error) {
	out := map[string][]byte{}
	tpl, err := imports.Template(j)
	if err != nil {
		return nil, err
	}
	out[imports.TemplateName] = tpl
	rows := exampleRows(j)
	var b bytes.Buffer
	if err := (sheet.Table{Sheet: "承诺台账", Columns: exampleHeader, Rows: rows}).WriteXLSX(&b); err != nil {
		return nil, err
	}
	out[ExampleName] = bytes.Clone(b.Bytes())
	faulty := [][]string{rows[0], rows[1], append([]string(nil), rows[2]...), append([]string(nil), rows[3]...)}
	faulty[2][5] = "股权"          // not a kind of promise
	faulty[3][11] = "2023年6月31日" // a day that never was
	faulty[3][13], faulty[3][14] = "100", "2022-01-01"
	b.Reset()
	if err := (sheet.Table{Sheet: "承诺台账", Columns: exampleHeader, Rows: faulty}).WriteXLSX(&b); err != nil {
		return nil, err
	}
	out[FaultyName] = b.Bytes()
	return out, nil
}

// WriteWorkbooks writes Workbooks into dir and says where, in w.
func WriteWorkbooks(dir string, j *events.Jurisdiction, w io.Writer) error {
	books, err := Workbooks(j)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	fmt.Fprintln(w, "演示台账 Demo workbooks (try: ledger import FILE --token TOKEN):")
	for _, name := range []string{imports.TemplateName, ExampleName, FaultyName} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, books[name], 0o644); err != nil {
			return err
		}
		fmt.Fprintf(w, "  %s\n", path)
	}
	return nil
}
