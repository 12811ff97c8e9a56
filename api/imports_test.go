package api_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// importFile posts a file to /api/v1/imports with a query.
func (h *harness) importFile(query string, data []byte) (int, map[string]any) {
	h.t.Helper()
	r := h.importRaw(query, data)
	return r.status, r.body
}

const ledgerCSV = "县市区,责任单位,项目名称,投资企业,统一社会信用代码,承诺类型,承诺事项,承诺数量,签约日期,兑现期限,协议文号,已兑现,兑现日期\n" +
	"楚雄市,楚雄市财政局,单晶硅棒项目,楚雄某某硅材料有限公司,91350100M000100Y43,补贴,设备补助,125.5万元,2020年3月15日,2020/12/31,楚投促协〔2020〕17号,50万元,2020.10.1\n" +
	"楚雄市,楚雄市自然资源局,单晶硅棒项目,楚雄某某硅材料有限公司,91350100M000100Y43,土地,保障用地,300亩,2020-03-15,44196,楚投促协〔2020〕18号,,\n" +
	"楚雄市,楚雄市财政局,坏行项目,某企业,91350100M000100Y43,股权,入股,10万元,2020-03-15,2020-12-31,,,\n"

// A county's ledger imported in one request: every row checked first, one
// bad row imports nothing unless skip_invalid, a dry run imports nothing,
// importing again adds nothing, another county's rows are refused.
func TestImports_CSV(t *testing.T) {
	h := newHarness(t)
	county := h.as("county-532301")
	before := h.events()
	status, rep := county.importFile("", []byte(ledgerCSV))
	problems, _ := rep["problems"].([]any)
	if status != http.StatusBadRequest || rep["rejected"] != float64(1) || len(problems) != 1 {
		t.Fatalf("a file with a bad row: %d %v", status, rep)
	}
	if p := problems[0].(map[string]any); p["row"] != float64(4) || p["column"] != "承诺类型" || p["value"] != "股权" {
		t.Fatalf("the problem: %v", p)
	}
	if h.events() != before {
		t.Fatal("a refused import appended events")
	}
	if status, rep := county.importFile("?dry_run=true&skip_invalid=true", []byte(ledgerCSV)); status != http.StatusOK || rep["imported"] != float64(0) || h.events() != before {
		t.Fatalf("a dry run: %d %v", status, rep)
	}
	status, rep = county.importFile("?skip_invalid=true", []byte(ledgerCSV))
	if status != http.StatusOK || rep["imported"] != float64(2) || rep["rejected"] != float64(1) {
		t.Fatalf("skip_invalid: %d %v", status, rep)
	}
	ids := rep["commitments"].([]any)
	first := county.must(http.StatusOK, "GET", "/api/v1/commitments/"+ids[0].(string), nil)
	if qty(first, "quantity") != "1255000.00" || qty(first, "fulfilled") != "500000.00" || first.str("due") != "2020-12-31" {
		t.Fatalf("the first row imported: %s", first.raw)
	}
	after := h.events()
	// A row written twice in one file is one promise: imported once.
	lines := strings.Split(ledgerCSV, "\n")
	twice := strings.Join([]string{lines[0], lines[1], lines[1]}, "\n") + "\n"
	if status, rep := county.importFile("", []byte(twice)); status != http.StatusOK || rep["imported"] != 0.0 || rep["already"] != 2.0 || h.events() != after {
		t.Fatalf("a row twice, already imported: %d %v", status, rep)
	}
	fresh := strings.ReplaceAll(twice, "楚投促协〔2020〕17号", "楚投促协〔2020〕99号")
	if status, rep := county.importFile("", []byte(fresh)); status != http.StatusOK || rep["imported"] != 1.0 || rep["already"] != 1.0 || h.events() != after+2 {
		t.Fatalf("a new row twice: %d %v, %d events more", status, rep, h.events()-after)
	}
	after = h.events()
	if status, rep := county.importFile("?skip_invalid=true", []byte(ledgerCSV)); status != http.StatusOK || rep["imported"] != float64(0) || rep["already"] != float64(2) || h.events() != after {
		t.Fatalf("importing again: %d %v, %d events more", status, rep, h.events()-after)
	}
	// Another county's office may not import 楚雄市's rows.
	status, rep = h.as("county-532322").importFile("", []byte(ledgerCSV))
	if status != http.StatusBadRequest || rep["rejected"] != float64(3) || h.events() != after {
		t.Fatalf("another county importing: %d %v", status, rep)
	}
	if !strings.Contains(rep["problems"].([]any)[0].(map[string]any)["rule"].(string), "此次只导入双柏县的承诺") {
		t.Fatalf("the refusal: %v", rep["problems"])
	}
	// A header without a required column: reported at the header row.
	if status, rep := county.importFile("", []byte("县市区,项目名称\n楚雄市,x\n")); status != http.StatusBadRequest || rep["problems"].([]any)[0].(map[string]any)["row"] != float64(1) {
		t.Fatalf("a bad header: %d %v", status, rep)
	}
}

// A county's own ledger need not name its county: county= (or a county
// office's token) says whose it is, and a row of another county is refused.
func TestImports_CountyOfTheFile(t *testing.T) {
	h := newHarness(t)
	noCounty := "责任单位,项目名称,投资企业,承诺类型,承诺事项,承诺数量,签约日期,兑现期限\n" +
		"楚雄市财政局,无县列项目,某企业,补贴,设备补助,12万元,2020-03-15,2020-12-31\n"
	if status, rep := h.importFile("", []byte(noCounty)); status != http.StatusBadRequest || !strings.Contains(rep["problems"].([]any)[0].(map[string]any)["rule"].(string), "缺少「县市区」列") {
		t.Fatalf("no county column, no county given: %d %v", status, rep)
	}
	status, rep := h.importFile("?county=532301", []byte(noCounty))
	if status != http.StatusOK || rep["imported"] != 1.0 {
		t.Fatalf("county=532301: %d %v", status, rep)
	}
	if c := h.must(200, "GET", "/api/v1/commitments/"+rep["commitments"].([]any)[0].(string), nil); c.str("county") != "532301" {
		t.Fatalf("imported into %s", c.str("county"))
	}
	if status, rep := h.as("county-532322").importFile("", []byte(noCounty)); status != http.StatusOK || rep["imported"] != 1.0 {
		t.Fatalf("a county office's own file: %d %v", status, rep)
	}
	before := h.events()
	if status, rep := h.importFile("?county=532322", []byte(ledgerCSV)); status != http.StatusBadRequest || rep["rejected"] != 3.0 || h.events() != before {
		t.Fatalf("楚雄市's rows as 双柏县's file: %d %v", status, rep)
	}
	if r := h.importRaw("?county=999999", []byte(noCounty)); r.status != http.StatusBadRequest || r.errField() != "county" {
		t.Fatalf("county=999999: %d %s", r.status, r.raw)
	}
	for _, q := range []string{"?county=999999", "?county=532301"} {
		if r := h.as("county-532322").importRaw(q, []byte(noCounty)); r.status != http.StatusBadRequest || r.errField() != "county" {
			t.Fatalf("a county office naming %s: %d %s", q, r.status, r.raw)
		}
	}
}

// The template comes as a download, and imports as it is (its example row).
func TestImports_Template(t *testing.T) {
	h := newHarness(t)
	r := h.must(http.StatusOK, "GET", "/api/v1/imports/template", nil)
	if !strings.HasPrefix(string(r.raw), "PK\x03\x04") || !strings.Contains(r.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("the template: %v", r.header)
	}
	status, rep := h.as("county-532301").importFile("?dry_run=true", r.raw)
	if status != http.StatusOK || rep["rejected"] != float64(0) || rep["rows"] != float64(1) {
		t.Fatalf("the template's example row: %d %v", status, rep)
	}
}

// The report, as a clerk can act on it: as text, in English, as the upload
// annotated (the bad cell red, a comment, a list of problems), and as a
// workbook of the rejected rows that imports once fixed; and as NDJSON with
// progress lines.
func TestImports_Reports(t *testing.T) {
	h := newHarness(t)
	county := h.as("county-532301")
	before := h.events()

	text := county.importRaw("?report=text", []byte(ledgerCSV))
	if text.status != http.StatusBadRequest || !strings.Contains(string(text.raw), "有问题 1 行") ||
		!strings.Contains(string(text.raw), "第4行「承诺类型」列（F4 单元格，\"股权\"）：承诺类型应为") || text.header.Get("X-Import-Rejected") != "1" {
		t.Fatalf("the text report: %d %s", text.status, text.raw)
	}
	if status, rep := county.importFile("?lang=en", []byte(ledgerCSV)); status != http.StatusBadRequest ||
		!strings.HasPrefix(rep["problems"].([]any)[0].(map[string]any)["rule"].(string), "must be 土地") || rep["problems"].([]any)[0].(map[string]any)["cell"] != "F4" {
		t.Fatalf("the English report: %d %v", status, rep)
	}

	// The annotated upload.
	ann := county.importRaw("?report=xlsx", []byte(ledgerCSV))
	if ann.status != http.StatusBadRequest || !strings.Contains(ann.header.Get("Content-Disposition"), "filename*=UTF-8''") {
		t.Fatalf("the annotated upload: %d %v", ann.status, ann.header)
	}
	f, err := excelize.OpenReader(bytes.NewReader(ann.raw))
	if err != nil {
		t.Fatal(err)
	}
	comments, _ := f.GetComments("台账")
	if len(comments) != 1 || comments[0].Cell != "F4" || !strings.Contains(comments[0].Text, "承诺类型应为") {
		t.Fatalf("comments: %+v", comments)
	}
	styleID, _ := f.GetCellStyle("台账", "F4")
	if st, _ := f.GetStyle(styleID); st == nil || len(st.Fill.Color) == 0 || st.Fill.Color[0] != "FFC7CE" {
		t.Fatalf("F4 is not highlighted: %+v", st)
	}
	if v, _ := f.GetCellValue("台账", "C2"); v != "单晶硅棒项目" {
		t.Fatalf("the annotated copy lost the rows: C2 = %q", v)
	}
	if list, _ := f.GetRows("导入问题"); len(list) != 2 || list[1][2] != "F4" {
		t.Fatalf("the list of problems: %q", list)
	}
	_ = f.Close()
	if h.events() != before {
		t.Fatal("a refused import appended events")
	}

	// skip_invalid imports the good rows and gives back the bad one to fix.
	rej := county.importRaw("?skip_invalid=true&report=rejected", []byte(ledgerCSV))
	if rej.status != http.StatusOK || rej.header.Get("X-Import-Imported") != "2" {
		t.Fatalf("skip_invalid with the rejected rows: %d %v", rej.status, rej.header)
	}
	f, err = excelize.OpenReader(bytes.NewReader(rej.raw))
	if err != nil {
		t.Fatal(err)
	}
	sheet := f.GetSheetName(0)
	rows, _ := f.GetRows(sheet)
	if len(rows) != 2 || rows[1][2] != "坏行项目" || !strings.Contains(rows[0][len(rows[0])-1], "问题") || !strings.Contains(rows[1][len(rows[1])-1], "承诺类型应为") {
		t.Fatalf("the rejected rows: %q", rows)
	}
	if v, _ := f.GetCellValue(sheet, "I2"); v != "2020-03-15" {
		t.Fatalf("the made-on date of the rejected row reads %q", v)
	}
	_ = f.SetCellValue(sheet, "F2", "补贴") // the clerk fixes it
	var fixed bytes.Buffer
	_ = f.Write(&fixed)
	_ = f.Close()
	if status, rep := county.importFile("", fixed.Bytes()); status != http.StatusOK || rep["imported"] != 1.0 {
		t.Fatalf("the fixed rows: %d %v", status, rep)
	}

	// Progress, as NDJSON: progress lines, then the status and the report.
	more := strings.Replace(ledgerCSV, "坏行项目,某企业,91350100M000100Y43,股权", "另一项目,某企业,91350100M000100Y43,补贴", 1)
	more = strings.ReplaceAll(more, "楚投促协〔2020〕", "楚投促协〔2021〕")
	stream := county.importRaw("", []byte(more), "Accept", "application/x-ndjson")
	lines := strings.Split(strings.TrimSpace(string(stream.raw)), "\n")
	if stream.status != http.StatusOK || !strings.HasPrefix(stream.header.Get("Content-Type"), "application/x-ndjson") || len(lines) < 2 ||
		!strings.HasPrefix(lines[0], `{"progress":{"done":`) || !strings.Contains(lines[len(lines)-1], `"status":200,`) || !strings.Contains(lines[len(lines)-1], `"imported":3`) {
		t.Fatalf("the NDJSON answer: %d %v\n%s", stream.status, stream.header, stream.raw)
	}
	if r := county.importRaw("?report=pdf", []byte(ledgerCSV)); r.status != 400 || r.errField() != "report" {
		t.Fatalf("report=pdf: %d %s", r.status, r.raw)
	}
}

// importRaw posts a file to /api/v1/imports and returns the whole answer.
func (h *harness) importRaw(query string, data []byte, headers ...string) response {
	h.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "台账")
	_, _ = fw.Write(data)
	_ = mw.Close()
	return h.do("POST", "/api/v1/imports"+query, body.String(), append([]string{"Content-Type", mw.FormDataContentType()}, headers...)...)
}
