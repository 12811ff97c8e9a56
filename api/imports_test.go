package api_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// importFile posts a file to /api/v1/imports with a query.
func (h *harness) importFile(query string, data []byte) (int, map[string]any) {
	h.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "台账.csv")
	_, _ = fw.Write(data)
	_ = mw.Close()
	r := h.do("POST", "/api/v1/imports"+query, body.String(), "Content-Type", mw.FormDataContentType())
	var rep map[string]any
	_ = json.Unmarshal(r.raw, &rep)
	return r.status, rep
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
	if status, rep := county.importFile("?skip_invalid=true", []byte(ledgerCSV)); status != http.StatusOK || rep["imported"] != float64(0) || rep["already"] != float64(2) || h.events() != after {
		t.Fatalf("importing again: %d %v, %d events more", status, rep, h.events()-after)
	}
	// Another county's office may not import 楚雄市's rows.
	status, rep = h.as("county-532322").importFile("", []byte(ledgerCSV))
	if status != http.StatusBadRequest || rep["rejected"] != float64(3) || h.events() != after {
		t.Fatalf("another county importing: %d %v", status, rep)
	}
	if !strings.Contains(rep["problems"].([]any)[0].(map[string]any)["rule"].(string), "只能导入本县市区") {
		t.Fatalf("the refusal: %v", rep["problems"])
	}
	// A header without a required column: reported at the header row.
	if status, rep := county.importFile("", []byte("县市区,项目名称\n楚雄市,x\n")); status != http.StatusBadRequest || rep["problems"].([]any)[0].(map[string]any)["row"] != float64(1) {
		t.Fatalf("a bad header: %d %v", status, rep)
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
