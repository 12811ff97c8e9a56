package events

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestOneOf(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{OneOf(Kinds), "one of land, tax, subsidy, fee, infrastructure, financing, other"},
		{OneOf(Units), "one of CNY, mu, m2, item"},
		{OneOf(Statuses), "one of open, partially_fulfilled, fulfilled, waived, cancelled, void"},
		{OneOf(Resolutions), "one of upheld, rejected"},
		{OneOf([]Kind{}), "one of "},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// TestValid checks every membership test against its list, and against
// values that are not in it.
func TestValid(t *testing.T) {
	for _, k := range Kinds {
		if !k.Valid() {
			t.Errorf("kind %q is not valid", k)
		}
	}
	for _, u := range Units {
		if !u.Valid() {
			t.Errorf("unit %q is not valid", u)
		}
	}
	for _, s := range Statuses {
		if !s.Valid() {
			t.Errorf("status %q is not valid", s)
		}
	}
	for _, ty := range Types {
		if !ty.Valid() {
			t.Errorf("type %q is not valid", ty)
		}
	}
	for _, o := range Resolutions {
		if !o.Resolves() {
			t.Errorf("outcome %q does not resolve", o)
		}
	}
	for _, bad := range []string{"", "Land", "land ", "equity", "open,fulfilled"} {
		if Kind(bad).Valid() || Unit(bad).Valid() || Status(bad).Valid() || Type(bad).Valid() || Outcome(bad).Resolves() {
			t.Errorf("%q is valid", bad)
		}
	}
	if DisputeOpen.Resolves() {
		t.Error("open resolves a dispute")
	}
	if Unit("cny").Valid() || Unit("MU").Valid() {
		t.Error("units are case-sensitive")
	}
}

// TestUnits_Decimals: a unit added to Units without its number of decimals
// would accept no value at all.
func TestUnits_Decimals(t *testing.T) {
	want := map[Unit]int{CNY: 2, Mu: 4, M2: 2, Item: 0}
	if len(want) != len(Units) {
		t.Fatalf("Units %v: this test knows %d units", Units, len(want))
	}
	for _, u := range Units {
		if got, ok := want[u]; !ok || u.Decimals() != got {
			t.Errorf("%s: %d decimals, want %d", u, u.Decimals(), got)
		}
	}
	if d := Unit("USD").Decimals(); d != -1 {
		t.Errorf("unknown unit: %d decimals", d)
	}
}

// TestTypes_Decode: every type of Types decodes to its data, and nothing
// else decodes.
func TestTypes_Decode(t *testing.T) {
	seen := map[string]Type{}
	for _, ty := range Types {
		v, err := Event{ID: "e", Type: ty, Schema: 1, Data: json.RawMessage(`{}`)}.Decode()
		if err != nil {
			t.Errorf("%s: %v", ty, err)
			continue
		}
		name := fmt.Sprintf("%T", v)
		if other, dup := seen[name]; dup {
			t.Errorf("%s and %s both decode to %s", ty, other, name)
		}
		seen[name] = ty
	}
	for _, ty := range []Type{"", "commitment", "commitment.made ", "seal"} {
		if _, err := (Event{ID: "e", Type: ty, Schema: 1, Data: json.RawMessage(`{}`)}).Decode(); err == nil || !strings.Contains(err.Error(), "unknown type") {
			t.Errorf("%q: %v, want unknown type", ty, err)
		}
	}
}
