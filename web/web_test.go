package web

import (
	"bytes"
	"strings"
	"testing"

	"promiseledger/events"
)

func TestFigures(t *testing.T) {
	q := func(v, u string) []events.Quantity {
		return []events.Quantity{{Value: events.MustDecimal(v), Unit: events.Unit(u)}}
	}
	for _, tc := range []struct{ got, want string }{
		{Wan(q("1255000.00", "CNY")), "125.50"},
		{Wan(q("123456789012.34", "CNY")), "12,345,678.90"},
		{Wan(q("50", "CNY")), "0.01"}, // half up
		{Wan(q("49", "CNY")), "0.00"},
		{Wan(q("300", "mu")), "0.00"},
		{Owed(q("1234.5", "mu"), "mu"), "1,234.5"},
		{Owed(q("1", "mu"), "m2"), "0"},
		{Rate(nil), "—"},
		{Rate(ptr("0.8333")), "83.3%"},
		{Rate(ptr("1")), "100.0%"},
		{Amount(Words("zh"), q("300", "mu")[0]), "300 亩"},
		{Amount(Words("en"), q("2000000", "CNY")[0]), "200.00 10k CNY"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func ptr(s string) *string { return &s }

// A chart's labels are text, escaped; bars are as long as their values.
func TestBars(t *testing.T) {
	svg := string(Bars(`<b>"逾期"</b>`, []Bar{{Label: "<script>x</script>", Value: 2, Text: "2"}, {Label: "双柏县", Value: 1, Text: "1"}}))
	if strings.Contains(svg, "<script>") || strings.Contains(svg, "<b>") || !strings.Contains(svg, "&lt;script&gt;") {
		t.Fatalf("not escaped: %s", svg)
	}
	if !strings.Contains(svg, `width="380.0"`) || !strings.Contains(svg, `width="190.0"`) {
		t.Fatalf("bar lengths: %s", svg)
	}
	if empty := string(Bars("x", nil)); !strings.Contains(empty, "—") {
		t.Fatalf("an empty chart: %s", empty)
	}
}

// Every page's template renders in both languages with the words it uses.
func TestRender(t *testing.T) {
	for _, lang := range []string{"zh", "en"} {
		for _, name := range []string{"signin", "password", "error", "dashboard", "county", "commitment", "alerts", "audit", "bulletin", "users"} {
			var b bytes.Buffer
			data := map[string]any{"signin": SignIn{}, "password": SignIn{}, "error": "x", "dashboard": Dashboard{}, "county": CountyPage{},
				"commitment": CommitmentPage{}, "alerts": AlertsPage{}, "audit": AuditPage{}, "bulletin": Bulletin{}, "users": UsersPage{Form: map[string]string{}}}[name]
			if err := Render(&b, name, Page{Lang: lang, Title: name, Data: data, User: &Viewer{Name: "u", May: map[string]bool{"audit": true, "manage": true}}}); err != nil {
				t.Fatalf("%s in %s: %v", name, lang, err)
			}
			if !strings.Contains(b.String(), "</html>") {
				t.Fatalf("%s in %s is cut short", name, lang)
			}
		}
	}
	for key := range words["zh"] {
		if _, ok := words["en"][key]; !ok {
			t.Errorf("%q has no English", key)
		}
	}
	for key := range words["en"] {
		if _, ok := words["zh"][key]; !ok {
			t.Errorf("%q has no Chinese", key)
		}
	}
}
