package events

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckText(t *testing.T) {
	tests := []struct {
		name    string
		s       string
		kind    TextKind
		wantErr bool
		rule    string // a part of the rule named, when refused
	}{
		{"a name", "楚雄市自然资源局", NameOrCode, false, ""},
		{"a code with brackets", "楚投促协〔2020〕17号", NameOrCode, false, ""},
		{"free text on lines", "第一行\n第二行\r\n\t第三行", FreeText, false, ""},
		{"Arabic and Hebrew as written", "شركة שלום", NameOrCode, false, ""},
		{"left-to-right and right-to-left marks", "a\u200eb\u200fc", NameOrCode, false, ""},
		{"empty", "", NameOrCode, false, ""},

		{"line feed in a name", "楚雄\n某某", NameOrCode, true, "control character U+000A"},
		{"tab in a name", "楚雄\t某某", NameOrCode, true, "control character U+0009"},
		{"carriage return in a code", "17号\r", NameOrCode, true, "control character U+000D"},
		{"bell in free text", "a\x07b", FreeText, true, "control character U+0007"},
		{"NUL in free text", "a\x00b", FreeText, true, "control character U+0000"},
		{"escape in free text", "\x1b[31mred", FreeText, true, "control character U+001B"},
		{"delete", "a\x7f", FreeText, true, "control character U+007F"},
		{"C1 next line", "a\u0085b", FreeText, true, "control character U+0085"},
		{"left-to-right embedding", "a\u202ab", NameOrCode, true, "bidirectional control character U+202A"},
		{"right-to-left embedding", "a\u202bb", FreeText, true, "U+202B"},
		{"pop directional formatting", "a\u202cb", FreeText, true, "U+202C"},
		{"left-to-right override", "a\u202db", FreeText, true, "U+202D"},
		{"right-to-left override", "invoice\u202egpj.exe", NameOrCode, true, "U+202E"},
		{"left-to-right isolate", "a\u2066b", FreeText, true, "U+2066"},
		{"right-to-left isolate", "a\u2067b", NameOrCode, true, "U+2067"},
		{"first strong isolate", "a\u2068b", FreeText, true, "U+2068"},
		{"pop directional isolate", "a\u2069b", FreeText, true, "U+2069"},
		{"not UTF-8", "a\xffb", FreeText, true, "valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckText("investor.name", tt.s, tt.kind)
			if (err != nil) != tt.wantErr {
				t.Fatalf("CheckText(%q) = %v, want error %v", tt.s, err, tt.wantErr)
			}
			if err == nil {
				return
			}
			var fe *FieldError
			if !errors.Is(err, ErrValidation) || !errors.As(err, &fe) || fe.Field != "investor.name" {
				t.Fatalf("error %v (%T) does not match ErrValidation with the field", err, err)
			}
			if !strings.Contains(fe.Rule, tt.rule) {
				t.Errorf("rule %q does not say %q", fe.Rule, tt.rule)
			}
		})
	}
}
