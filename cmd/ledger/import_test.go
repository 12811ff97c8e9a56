package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

func TestRun_ImportCommand(t *testing.T) {
	url, stop := start(t, "--data", t.TempDir(), "--demo")
	defer stop()
	file := filepath.Join(t.TempDir(), "承诺台账.csv")
	csv := "县市区,责任单位,项目名称,投资企业,统一社会信用代码,承诺类型,承诺事项,承诺数量,签约日期,兑现期限\n" +
		"楚雄市,楚雄市财政局,导入项目,导入企业,91350100M000100Y43,补贴,设备补助,12万元,2020-03-15,2020-12-31\n" +
		"楚雄市,楚雄市财政局,坏行,导入企业,91350100M000100Y43,补贴,设备补助,很多,2020-03-15,2020-12-31\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := ledgerCmd(t, "import", file, "--url", url, "--token", "pl_demo-532301_demo")
	if err == nil || !strings.Contains(out, "有问题 1 行") || !strings.Contains(out, "第3行「承诺数量」列") {
		t.Fatalf("an import with a bad row: %v\n%s", err, out)
	}
	dir := t.TempDir()
	annotated, rejected := filepath.Join(dir, "标注.xlsx"), filepath.Join(dir, "待修改.xlsx")
	out, err = ledgerCmd(t, "import", file, "--skip-invalid", "--report", annotated, "--rejected", rejected, "--url", url, "--token", "pl_demo-532301_demo")
	if err != nil || !strings.Contains(out, "共 2 行：导入 1 行") || !strings.Contains(out, "H3 单元格") {
		t.Fatalf("--skip-invalid: %v\n%s", err, out)
	}
	f, err := excelize.OpenFile(annotated)
	if err != nil {
		t.Fatal(err)
	}
	if comments, _ := f.GetComments("台账"); len(comments) != 1 || comments[0].Cell != "H3" {
		t.Fatalf("the annotated file's comments: %+v", comments)
	}
	_ = f.Close()
	if f, err = excelize.OpenFile(rejected); err != nil {
		t.Fatal(err)
	}
	rows, _ := f.GetRows(f.GetSheetName(0))
	_ = f.Close()
	if len(rows) != 2 || rows[1][2] != "坏行" {
		t.Fatalf("the rejected rows: %q", rows)
	}
	out, err = ledgerCmd(t, "import", file, "--skip-invalid", "--lang", "en", "--url", url, "--token", "pl_demo-532301_demo")
	if err != nil || !strings.Contains(out, "2 rows: 0 imported, 1 imported before, 1 with problems") || !strings.Contains(out, "must be a number and a unit") {
		t.Fatalf("again, in English: %v\n%s", err, out)
	}
}

// A supervisor exports a county's ledger to a file; it imports back.
func TestRun_ExportCommand(t *testing.T) {
	url, stop := start(t, "--data", t.TempDir(), "--demo")
	defer stop()
	out := filepath.Join(t.TempDir(), "楚雄市.xlsx")
	if _, err := ledgerCmd(t, "export", "--county", "532301", "--out", out, "--url", url, "--token", demoSupervisor); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := f.GetRows(f.GetSheetName(0))
	_ = f.Close()
	if len(rows) < 3 || rows[0][0] != "县市区" || rows[1][0] != "楚雄市" {
		t.Fatalf("the export: %d rows, %q", len(rows), rows[:min(2, len(rows))])
	}
	report, err := ledgerCmd(t, "import", out, "--dry-run", "--url", url, "--token", demoSupervisor)
	if err != nil || !strings.Contains(report, "有问题 0 行（试运行，未导入）") {
		t.Fatalf("the export, imported back (dry run): %v\n%s", err, report)
	}
	csv, err := ledgerCmd(t, "export", "--format", "csv", "--status", "open", "--url", url, "--token", demoSupervisor)
	if err != nil || !strings.HasPrefix(csv, "\ufeff县市区,") {
		t.Fatalf("CSV export: %v\n%.200s", err, csv)
	}
	if _, err := ledgerCmd(t, "report", "overdue", "--format", "xlsx", "--out", filepath.Join(t.TempDir(), "b.xlsx"), "--url", url, "--token", demoSupervisor); err != nil {
		t.Fatal(err)
	}
}

func TestRun_TemplateCommand(t *testing.T) {
	out, err := ledgerCmd(t, "template")
	if err != nil || !strings.HasPrefix(out, "PK\x03\x04") {
		t.Fatalf("ledger template: %v, %d bytes", err, len(out))
	}
}

// make run leaves the template and two example workbooks beside the demo's
// data: one imports as it is (and a second time adds nothing), the other
// shows the report.
func TestRun_DemoWorkbooks(t *testing.T) {
	dir := t.TempDir()
	url, stdout, stop := startOutput(t, "--data", dir, "--demo")
	defer stop()
	example := filepath.Join(dir, "workbooks", "示例台账-可导入.xlsx")
	faulty := filepath.Join(dir, "workbooks", "示例台账-含错误.xlsx")
	for _, f := range []string{example, faulty, filepath.Join(dir, "workbooks", "承诺台账模板.xlsx")} {
		if _, err := os.Stat(f); err != nil || !strings.Contains(stdout.String(), f) {
			t.Fatalf("%s: %v\n%s", f, err, stdout.String())
		}
	}
	out, err := ledgerCmd(t, "import", example, "--url", url, "--token", demoSupervisor)
	if err != nil || !strings.Contains(out, "共 20 行：导入 20 行，此前已导入 0 行，有问题 0 行") {
		t.Fatalf("the example: %v\n%s", err, out)
	}
	if out, err = ledgerCmd(t, "import", example, "--url", url, "--token", demoSupervisor); err != nil || !strings.Contains(out, "导入 0 行，此前已导入 20 行") {
		t.Fatalf("the example again: %v\n%s", err, out)
	}
	out, err = ledgerCmd(t, "import", faulty, "--url", url, "--token", demoSupervisor)
	if err == nil || !strings.Contains(out, "有问题 2 行") || !strings.Contains(out, "F4 单元格") || !strings.Contains(out, "L5 单元格") {
		t.Fatalf("the faulty example: %v\n%s", err, out)
	}
}

// ledger user add|list|disable|reset on a stopped ledger's folder; the
// account then signs in to the web pages.
func TestRun_UserCommands(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("a good long password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := ledgerCmd(t, "user", "add", "--data", dir, "--name", "zhangsan", "--office", "楚雄市投资促进局", "--role", "county", "--county", "532301", "--password-file", pw)
	if err != nil || !strings.Contains(out, "added zhangsan") {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	short := filepath.Join(t.TempDir(), "short")
	_ = os.WriteFile(short, []byte("short\n"), 0o600)
	if _, err := ledgerCmd(t, "user", "add", "--data", dir, "--name", "lisi", "--office", "x", "--role", "auditor", "--password-file", short); err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("a short password: %v", err)
	}
	if _, err := ledgerCmd(t, "user", "add", "--data", dir, "--name", "zhangsan", "--office", "x", "--role", "auditor", "--password-file", pw); err == nil {
		t.Fatal("the same name twice")
	}
	if out, err = ledgerCmd(t, "user", "list", "--data", dir); err != nil || !strings.Contains(out, "zhangsan") || !strings.Contains(out, "active") {
		t.Fatalf("user list: %v\n%s", err, out)
	}
	if out, err = ledgerCmd(t, "user", "disable", "--data", dir, "zhangsan"); err != nil || !strings.Contains(out, "disabled zhangsan") {
		t.Fatalf("user disable: %v\n%s", err, out)
	}
	if out, err = ledgerCmd(t, "user", "list", "--data", dir); err != nil || !strings.Contains(out, "disabled") {
		t.Fatalf("user list after disable: %v\n%s", err, out)
	}
	if out, err = ledgerCmd(t, "user", "reset", "--data", dir, "--password-file", pw, "zhangsan"); err != nil || !strings.Contains(out, "reset the password of zhangsan") {
		t.Fatalf("user reset: %v\n%s", err, out)
	}
	url, stop := start(t, "--data", dir)
	defer stop()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(url + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(b)
	if csrf == nil {
		t.Fatalf("the sign-in page:\n%s", b)
	}
	res, err = client.PostForm(url+"/signin", neturl.Values{"csrf": {string(csrf[1])}, "name": {"zhangsan"}, "password": {"a good long password"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("zhangsan signs in: %d", res.StatusCode)
	}
}

// ledger bench prints every figure beside its baseline (a tiny run).
func TestRun_BenchCommand(t *testing.T) {
	out, err := ledgerCmd(t, "bench", "--appends", "128", "--writers", "4", "--commitments", "20", "--dir", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| durable appends/s, 4 writers, group commit |", "raw atomic batches of 64", "--sync interval appends/s", "rebuild, every projection", "county view read, 20 commitments", "| durable appends/s through HTTP (POST /api/v1/commitments), 4 clients |"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the table lacks %q:\n%s", want, out)
		}
	}
}
