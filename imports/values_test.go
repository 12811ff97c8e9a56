package imports

import (
	"testing"

	"promiseledger/events"
)

func TestParseDate(t *testing.T) {
	for in, want := range map[string]string{
		"2020-12-31": "2020-12-31", "2020/12/31": "2020-12-31", "2020年12月31日": "2020-12-31",
		"2020.12.31": "2020-12-31", "2020/1/5": "2020-01-05", " 2020年1月5日 ": "2020-01-05",
		"44196": "2020-12-31", "44196.5": "2020-12-31", "43831": "2020-01-01",
	} {
		got, err := ParseDate(in)
		if err != nil || got.String() != want {
			t.Errorf("ParseDate(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "2020-13-01", "2020-02-30", "31/12/2020", "yesterday", "12", "9999999"} {
		if d, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) = %v, want an error", bad, d)
		}
	}
}

func TestParseAmount(t *testing.T) {
	for _, tc := range []struct {
		in, unit, value string
		u               events.Unit
	}{
		{"125.5万元", "", "1255000", events.CNY},
		{"125.5", "万元", "1255000", events.CNY},
		{"0.000001万元", "", "0.01", events.CNY},
		{"1,255,000.50元", "", "1255000.50", events.CNY},
		{"1，255，000", "元", "1255000", events.CNY},
		{"300亩", "", "300", events.Mu},
		{"12.5", "亩", "12.5", events.Mu},
		{"10441.54平方米", "", "10441.54", events.M2},
		{"3", "项", "3", events.Item},
	} {
		got, err := ParseAmount(tc.in, tc.unit)
		if err != nil || got.Value != tc.value || got.Unit != tc.u {
			t.Errorf("ParseAmount(%q, %q) = %+v, %v; want %s %s", tc.in, tc.unit, got, err, tc.value, tc.u)
		}
	}
	for _, bad := range []struct{ in, unit string }{
		{"125.5", ""},   // no unit
		{"125.5美元", ""}, // unknown unit
		{"1.2.3万元", ""}, // not a number
		{"125万元", "亩"},  // the cell and the unit column disagree
		{"万元", ""},      // no number
	} {
		if got, err := ParseAmount(bad.in, bad.unit); err == nil {
			t.Errorf("ParseAmount(%q, %q) = %+v, want an error", bad.in, bad.unit, got)
		}
	}
}

func TestParseKindAndCounty(t *testing.T) {
	for in, want := range map[string]events.Kind{"土地": events.Land, "税收返还": events.Tax, "tax": events.Tax, "Subsidy": events.Subsidy, "水电路气": events.Infrastructure} {
		if got, err := ParseKind(in); err != nil || got != want {
			t.Errorf("ParseKind(%q) = %s, %v", in, got, err)
		}
	}
	if _, err := ParseKind("股权"); err == nil {
		t.Error("an unknown kind was read")
	}
	j := events.DefaultJurisdiction()
	for in, want := range map[string]string{"532301": "532301", "楚雄市": "532301", "双柏县": "532322", "双柏": "532322"} {
		if got, err := ParseCounty(in, j); err != nil || got != want {
			t.Errorf("ParseCounty(%q) = %s, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "昆明市", "999999"} {
		if got, err := ParseCounty(bad, j); err == nil {
			t.Errorf("ParseCounty(%q) = %s, want an error", bad, got)
		}
	}
}
