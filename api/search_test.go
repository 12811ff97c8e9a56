package api_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// ids lists the ids of a page of commitments.
func ids(r response) []string {
	var out []string
	items, _ := r.body["items"].([]any)
	for _, it := range items {
		out = append(out, it.(map[string]any)["id"].(string))
	}
	slices.Sort(out)
	return out
}

func idSet(s ...string) []string { slices.Sort(s); return s }

// One investor seen across counties, and the list searched by every filter.
func TestSearch_InvestorsProjectsAndFilters(t *testing.T) {
	h := newHarness(t)
	mk := func(county, project, investor, code, due string) string {
		c := commitment(county, "subsidy", "1000", "CNY", "2020-03-15", due)
		c["project"], c["investor"] = project, map[string]any{"name": investor, "credit_code": code}
		return h.must(http.StatusCreated, "POST", "/api/v1/commitments", c).str("id")
	}
	a1 := mk("532301", "单晶硅棒项目", "楚雄硅材料有限公司", creditCode(1), "2026-06-30")
	a2 := mk("532322", "硅片二期项目", "楚雄硅材料有限公司", creditCode(1), "2027-06-30")
	b1 := mk("532301", "绿色食品加工项目", "双柏食品有限公司", creditCode(2), "2027-12-31")
	h.as("county-532301").must(http.StatusCreated, "POST", "/api/v1/commitments/"+a1+"/fulfillments", fulfilment("100", "CNY", "2026-01-05"))
	h.must(http.StatusCreated, "POST", "/api/v1/commitments/"+b1+"/disputes", map[string]any{"complainant": "双柏食品有限公司", "summary": "补贴未到位"})

	inv := h.must(http.StatusOK, "GET", "/api/v1/investors?q="+url.QueryEscape("硅材料"), nil)
	list, _ := inv.body["investors"].([]any)
	if len(list) != 1 {
		t.Fatalf("investors q=硅材料: %s", inv.raw)
	}
	a := list[0].(map[string]any)
	if a["credit_code"] != creditCode(1) || a["commitments"] != float64(2) || len(a["counties"].([]any)) != 2 {
		t.Fatalf("investor A: %v", a)
	}
	one := h.must(http.StatusOK, "GET", "/api/v1/investors/"+creditCode(1), nil)
	if cs, _ := one.body["commitments"].([]any); len(cs) != 2 {
		t.Fatalf("investor A's promises: %s", one.raw)
	}
	// A county office sees its own county's promises to the investor only.
	if cs, _ := h.as("county-532322").must(http.StatusOK, "GET", "/api/v1/investors/"+creditCode(1), nil).body["commitments"].([]any); len(cs) != 1 || cs[0].(map[string]any)["id"] != a2 {
		t.Fatalf("investor A as 532322: %v", cs)
	}
	if r := h.as("county-532323").do("GET", "/api/v1/investors/"+creditCode(1), nil); r.status != http.StatusNotFound {
		t.Fatalf("investor A as 532323: %d", r.status)
	}
	projects := h.must(http.StatusOK, "GET", "/api/v1/projects?q="+url.QueryEscape("硅"), nil)
	if ps, _ := projects.body["projects"].([]any); len(ps) != 2 {
		t.Fatalf("projects q=硅: %s", projects.raw)
	}

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"q=" + url.QueryEscape("硅 项目"), idSet(a1, a2)},
		{"q=" + url.QueryEscape("食品 补贴"), nil}, // "补贴" is in the dispute, not the promise
		{"credit_code=" + creditCode(2), []string{b1}},
		{"investor=" + url.QueryEscape("食品"), []string{b1}},
		{"project=" + url.QueryEscape("二期"), []string{a2}},
		{"actor=county-532301", []string{a1}},
		{"event_type=dispute.opened", []string{b1}},
		{"event_type=fulfillment.recorded&county=532301", []string{a1}},
		{"due_from=2027-01-01", idSet(a2, b1)},
		{"due_to=2027-06-30", idSet(a1, a2)},
		{"due_from=2027-01-01&due_to=2027-06-30", []string{a2}},
		{"recorded_from=2026-11-27&recorded_to=2026-11-27", idSet(a1, a2, b1)},
		{"recorded_to=2026-11-26", nil},
		{"light=yellow", []string{b1}}, // an open dispute
		{"light=green", []string{a2}},
		{"light=red", []string{a1}}, // overdue since 2026-06-30
	} {
		if got := ids(h.must(http.StatusOK, "GET", "/api/v1/commitments?"+tc.query, nil)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	for _, tc := range []struct{ query, field string }{
		{"event_type=commitment.deleted", "event_type"},
		{"light=blue", "light"},
		{"due_from=2027-13-01", "due_from"},
		{"recorded_to=yesterday", "recorded_to"},
	} {
		if r := h.do("GET", "/api/v1/commitments?"+tc.query, nil); r.status != http.StatusBadRequest || r.errField() != tc.field {
			t.Errorf("%s: %d %s", tc.query, r.status, r.raw)
		}
	}
}

// An enterprise not registered yet is recorded without a credit code when
// the request says so, and gets one later by a correction.
func TestSearch_UnregisteredInvestor(t *testing.T) {
	h := newHarness(t)
	c := commitment("532301", "subsidy", "1000", "CNY", "2020-03-15", "2027-06-30")
	c["investor"] = map[string]any{"name": "筹建中的新能源公司", "registered": false}
	r := h.must(http.StatusCreated, "POST", "/api/v1/commitments", c)
	id := r.str("id")
	if inv := r.body["investor"].(map[string]any); inv["registered"] != false || inv["credit_code"] != "" {
		t.Fatalf("an unregistered investor: %v", inv)
	}
	before := h.events()
	c["investor"] = map[string]any{"name": "筹建中的新能源公司", "registered": false, "credit_code": creditCode(9)}
	if r := h.do("POST", "/api/v1/commitments", c); r.status != http.StatusBadRequest || r.errField() != "investor.credit_code" {
		t.Fatalf("registered false with a credit code: %d %s", r.status, r.raw)
	}
	c["investor"] = map[string]any{"name": "筹建中的新能源公司"}
	if r := h.do("POST", "/api/v1/commitments", c); r.status != http.StatusBadRequest || r.errField() != "investor.credit_code" {
		t.Fatalf("no credit code, not said unregistered: %d %s", r.status, r.raw)
	}
	if h.events() != before {
		t.Fatal("a refused request appended an event")
	}
	invs := h.must(http.StatusOK, "GET", "/api/v1/investors?q="+url.QueryEscape("新能源"), nil).body["investors"].([]any)
	if len(invs) != 1 || invs[0].(map[string]any)["credit_code"] != "" {
		t.Fatalf("investors before registration: %v", invs)
	}
	r = h.must(http.StatusCreated, "POST", "/api/v1/commitments/"+id+"/corrections", map[string]any{"fields": map[string]any{"investor": map[string]any{"credit_code": creditCode(9)}}, "reason": "企业已登记注册"})
	if inv := r.body["investor"].(map[string]any); inv["credit_code"] != creditCode(9) || inv["registered"] != nil {
		t.Fatalf("after registration: %v", inv)
	}
	h.must(http.StatusOK, "GET", "/api/v1/investors/"+creditCode(9), nil)
}
