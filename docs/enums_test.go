package docs

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"promiseledger/access"
	"promiseledger/alerts"
	"promiseledger/events"
)

func names[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// goEnums says, for every enum of openapi.json that is one of the domain's
// lists, where it is (a JSON pointer to the schema; a $ref there is
// followed) and which Go list it must equal, in the same order.
var goEnums = []struct {
	pointer string
	want    []string
}{
	{"#/components/schemas/Kind", names(events.Kinds)},
	{"#/components/parameters/KindFilter/schema", names(events.Kinds)},
	{"#/components/schemas/Unit", names(events.Units)},
	{"#/components/schemas/Status", names(events.Statuses)},
	{"#/components/parameters/StatusFilter/schema", names(events.Statuses)},
	{"#/components/schemas/Event/properties/type", names(events.Types)},
	{"#/components/schemas/DisputeState", names(events.DisputeStates)},
	{"#/components/schemas/ResolutionRequest/properties/outcome", names(events.Resolutions)},
	{"#/components/schemas/DisputeResolvedData/properties/outcome", names(events.Resolutions)},
	{"#/components/schemas/Role", names(access.Roles)},
	{"#/components/schemas/AlertRule", names(alerts.Rules)},
	{"#/components/parameters/AlertRuleFilter/schema", names(alerts.Rules)},
	{"#/components/schemas/AlertState", names(alerts.States)},
	// The filter also takes open, the same as raised (api/alerts.go).
	{"#/components/parameters/AlertStateFilter/schema", append([]string{"open"}, names(alerts.States)...)},
	{"#/components/schemas/Audience", alerts.Audiences},
	{"#/components/schemas/OrderState", names(events.OrderStates)},
	{"#/components/schemas/OrderClosureRequest/properties/outcome", names(events.OrderOutcomes)},
	{"#/components/schemas/RequestState", names(events.RequestStates)},
	{"#/components/schemas/ExtensionDecisionBody/properties/outcome", names(events.RequestOutcomes)},
	{"#/components/schemas/Light", names(events.Lights)},
}

// otherEnums are the document's enums that are not one of those lists.
// An enum found in neither table fails the test, so that a new one (an
// inline list of kinds, say) is not left unchecked.
var otherEnums = []string{
	"#/components/schemas/AgingBucket/properties/bucket",          // the aging buckets of package projections
	"#/components/schemas/Error/properties/error/properties/code", // the error codes of package api
	"#/components/schemas/Health/properties/status",
	"#/components/schemas/Seal/properties/type",
	"#/components/schemas/PublicKey/properties/algorithm",
	"#/components/schemas/Problem/properties/kind", // the problems of package audit
	"#/components/parameters/ReportFormat/schema",
	"#/components/parameters/ReportLang/schema",
	"#/components/parameters/ExportFormat/schema",
	"#/components/parameters/SheetFormat/schema",
	"#/components/parameters/SheetLang/schema",
}

// enumAt returns the enum of the schema at pointer, following a $ref.
func enumAt(tree any, pointer string) ([]string, error) {
	v, ok := resolve(tree, pointer)
	for i := 0; ok && i < 8; i++ {
		m, _ := v.(map[string]any)
		ref, isRef := m["$ref"].(string)
		if !isRef {
			break
		}
		v, ok = resolve(tree, ref)
	}
	if !ok {
		return nil, fmt.Errorf("%s: not in openapi.json", pointer)
	}
	m, _ := v.(map[string]any)
	raw, ok := m["enum"].([]any)
	if !ok {
		return nil, fmt.Errorf("%s: has no enum", pointer)
	}
	out := make([]string, len(raw))
	for i, x := range raw {
		if out[i], ok = x.(string); !ok {
			return nil, fmt.Errorf("%s: enum value %v is not a string", pointer, x)
		}
	}
	return out, nil
}

// TestOpenAPI_EnumsAreTheGoLists checks that every enum of the document that
// is a kind, unit, status, event type, dispute state, role, alert rule,
// alert state or audience lists exactly the values of the Go list, in its
// order: a value added on one side only fails here.
func TestOpenAPI_EnumsAreTheGoLists(t *testing.T) {
	_, tree := load(t)
	for _, e := range goEnums {
		got, err := enumAt(tree, e.pointer)
		if err != nil {
			t.Error(err)
			continue
		}
		if !slices.Equal(got, e.want) {
			t.Errorf("%s: enum %v, the Go list is %v (only in openapi.json: %v; only in Go: %v)",
				e.pointer, got, e.want, minus(got, e.want), minus(e.want, got))
		}
	}
}

// minus is what of a is not in b.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// TestOpenAPI_EveryEnumIsClassified finds every enum in the document and
// checks that it is in goEnums or otherEnums.
func TestOpenAPI_EveryEnumIsClassified(t *testing.T) {
	_, tree := load(t)
	known := map[string]bool{}
	for _, e := range goEnums {
		known[e.pointer] = true
	}
	for _, p := range otherEnums {
		known[p] = true
	}
	var found []string
	enums(tree, "#", &found)
	if len(found) < len(goEnums) {
		t.Fatalf("found only %d enums: %v", len(found), found)
	}
	sort.Strings(found)
	for _, p := range found {
		if !known[p] {
			t.Errorf("%s: an enum that is neither a Go list checked by TestOpenAPI_EnumsAreTheGoLists (goEnums) nor listed in otherEnums", p)
		}
	}
	for p := range known {
		if !slices.Contains(found, p) {
			// A goEnums entry may reach its enum through a $ref.
			if _, err := enumAt(tree, p); err != nil {
				t.Errorf("%s: listed, but %v", p, err)
			}
		}
	}
}

// enums collects the JSON pointer of every object with an enum member.
func enums(v any, at string, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v["enum"]; ok {
			*out = append(*out, at)
		}
		for k, x := range v {
			k = strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
			enums(x, at+"/"+k, out)
		}
	case []any:
		for i, x := range v {
			enums(x, fmt.Sprintf("%s/%d", at, i), out)
		}
	}
}

// TestEventsMD_OneSectionPerType checks that docs/events.md describes every
// event type of events.Types, in its order, and no other.
func TestEventsMD_OneSectionPerType(t *testing.T) {
	b, err := os.ReadFile("events.md")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range regexp.MustCompile("(?m)^### `([a-z._]+)`$").FindAllStringSubmatch(string(b), -1) {
		got = append(got, m[1])
	}
	if want := names(events.Types); !slices.Equal(got, want) {
		t.Errorf("events.md describes %v, events.Types is %v", got, want)
	}
}

// ticked returns the `quoted` words of s, in order.
func ticked(s string) []string {
	var out []string
	for _, m := range regexp.MustCompile("`([^`]*)`").FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// tableKeys returns the first column (`quoted`) of the Markdown table
// whose header row is header.
func tableKeys(t *testing.T, doc, header string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "\n"+header+"\n")
	if !ok {
		t.Fatalf("no table %q", header)
	}
	var out []string
	for _, line := range strings.Split(rest, "\n")[1:] { // after the |---| row
		if !strings.HasPrefix(line, "| `") {
			break
		}
		out = append(out, ticked(strings.Split(line, "|")[1])...)
	}
	return out
}

// TestProse_ListsAreTheGoLists checks the lists written out in README.md
// and events.md: the roles and alert rules tables, the kinds, units and
// dispute outcomes of the event catalog.
func TestProse_ListsAreTheGoLists(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := os.ReadFile("events.md")
	if err != nil {
		t.Fatal(err)
	}
	line := func(doc []byte, prefix string) string {
		for _, l := range strings.Split(string(doc), "\n") {
			if i := strings.Index(l, prefix); i >= 0 {
				return l[i+len(prefix):]
			}
		}
		t.Fatalf("no line with %q", prefix)
		return ""
	}
	units, _, _ := strings.Cut(line(catalog, "`unit` one of "), ";")
	tests := []struct {
		where string
		got   []string
		want  []string
	}{
		{"README.md, the roles table", tableKeys(t, string(readme), "| role | may |"), names(access.Roles)},
		{"README.md, the alert rules table", tableKeys(t, string(readme), "| rule | raised when | goes to |"), names(alerts.Rules)},
		{"events.md, kind", ticked(line(catalog, "| `kind` | string |")), names(events.Kinds)},
		{"events.md, unit", ticked(units), names(events.Units)},
		{"events.md, outcome", ticked(line(catalog, "| `outcome` | string |")), names(events.Resolutions)},
	}
	for _, tt := range tests {
		if !slices.Equal(tt.got, tt.want) {
			t.Errorf("%s lists %v, the Go list is %v", tt.where, tt.got, tt.want)
		}
	}
}
