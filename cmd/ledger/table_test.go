package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rivo/uniseg"
)

// Columns line up as a terminal shows them, Chinese names (two cells a
// character) included.
func TestWriteTable_AlignsByDisplayWidth(t *testing.T) {
	var b bytes.Buffer
	if err := writeTable(&b, [][]string{
		{"NAME", "ROLE", "COUNTY"},
		{"楚雄市投资促进局", "county", "532301"},
		{"admin", "admin", "-"},
		{"【演示】州审计局", "auditor", "-"},
	}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	col := -1
	for _, l := range lines {
		i := strings.Index(l, "county")
		if i < 0 {
			i = strings.Index(l, "ROLE")
		}
		if i < 0 {
			i = strings.Index(l, "admin ")
			if i == 0 {
				i = strings.Index(l[1:], "admin") + 1
			}
		}
		if i < 0 {
			i = strings.Index(l, "auditor")
		}
		at := uniseg.StringWidth(l[:i])
		if col >= 0 && at != col {
			t.Fatalf("the second column starts at cell %d here, %d above:\n%s", at, col, b.String())
		}
		col = at
	}
}

func TestRun_SubcommandHelp(t *testing.T) {
	for _, cmd := range []string{"token", "audit"} {
		out, err := ledgerCmd(t, cmd, "-h")
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("ledger %s -h: %v\n%s", cmd, err, out)
		}
	}
}
