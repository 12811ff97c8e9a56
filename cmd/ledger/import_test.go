package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	out, err = ledgerCmd(t, "import", file, "--skip-invalid", "--url", url, "--token", "pl_demo-532301_demo")
	if err != nil || !strings.Contains(out, "共 2 行：导入 1 行") {
		t.Fatalf("--skip-invalid: %v\n%s", err, out)
	}
}

func TestRun_TemplateCommand(t *testing.T) {
	out, err := ledgerCmd(t, "template")
	if err != nil || !strings.HasPrefix(out, "PK\x03\x04") {
		t.Fatalf("ledger template: %v, %d bytes", err, len(out))
	}
}
