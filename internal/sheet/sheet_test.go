package sheet

import (
	"bytes"
	"encoding/csv"
	"testing"
)

func TestSafeCell(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"equals", `=HYPERLINK("http://evil","x")`, `'=HYPERLINK("http://evil","x")`},
		{"plus", "+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"},
		{"minus", "-2+3", "'-2+3"},
		{"minus DDE", "-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"},
		{"at", "@SUM(1)", "'@SUM(1)"},
		{"tab", "\t=1+1", "'\t=1+1"},
		{"carriage return", "\r=1+1", "'\r=1+1"},
		{"equals alone", "=", "'="},
		{"minus alone", "-", "'-"},
		{"minus then letters", "-abc", "'-abc"},
		{"number with exponent", "-1E5", "'-1E5"},
		{"number then formula", "-12.50+A1", "'-12.50+A1"},

		// A cell that is only a decimal number stays a number.
		{"negative number", "-12.50", "-12.50"},
		{"negative integer", "-3", "-3"},
		{"positive number", "+7", "+7"},
		{"number", "300", "300"},

		// Only the first character counts.
		{"formula later", "a=1+1", "a=1+1"},
		{"leading space", " =1+1", " =1+1"},
		{"empty", "", ""},
		{"Chinese", "年产10GW单晶硅棒项目", "年产10GW单晶硅棒项目"},
		{"quote already", "'=1", "'=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SafeCell(tt.in); got != tt.want {
				t.Errorf("SafeCell(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestWriter_NeutralisesEveryCell(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	if err := w.Write([]string{"=1+1", "ok", "-5", "@x"}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"'=1+1", "ok", "-5", "'@x"}
	if len(rows) != 1 || len(rows[0]) != len(want) {
		t.Fatalf("rows %q", rows)
	}
	for i := range want {
		if rows[0][i] != want[i] {
			t.Errorf("cell %d = %q, want %q", i, rows[0][i], want[i])
		}
	}
}
