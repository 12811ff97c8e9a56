package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// historyOf returns a commitment's events as the API shows them.
func historyOf(t *testing.T, h *harness, id string) []map[string]any {
	t.Helper()
	r := h.must(http.StatusOK, "GET", "/api/v1/commitments/"+id+"/history", nil)
	var out struct {
		Events []map[string]any `json:"events"`
	}
	if err := json.Unmarshal(r.raw, &out); err != nil {
		t.Fatal(err)
	}
	return out.Events
}

// A typo is put right by a correction event that keeps the old value beside
// the new; nothing is edited.
func TestCorrections_TypoCorrected(t *testing.T) {
	h := newHarness(t)
	c := commitment("532301", "land", "300", "mu", "2020-03-15", "2027-12-31")
	c["project"] = "年产10GW单晶硅棒项木"
	id := h.as("county-532301").must(http.StatusCreated, "POST", "/api/v1/commitments", c).str("id")

	r := h.as("county-532301").must(http.StatusCreated, "POST", "/api/v1/commitments/"+id+"/corrections", map[string]any{
		"fields": map[string]any{"project": "年产10GW单晶硅棒项目", "investor": map[string]any{"name": "楚雄某某硅材料股份有限公司"}},
		"reason": "项目名称与企业名称笔误",
	})
	if r.str("project") != "年产10GW单晶硅棒项目" {
		t.Fatalf("corrected project: %s", r.raw)
	}
	inv, _ := r.body["investor"].(map[string]any)
	if inv["name"] != "楚雄某某硅材料股份有限公司" || inv["credit_code"] != creditCode(1) {
		t.Fatalf("corrected investor: %v", inv)
	}
	evs := historyOf(t, h, id)
	last := evs[len(evs)-1]
	if last["type"] != "commitment.corrected" {
		t.Fatalf("last event: %v", last)
	}
	data, _ := json.Marshal(last["data"])
	for _, want := range []string{`"field":"project"`, `"old":"年产10GW单晶硅棒项木"`, `"new":"年产10GW单晶硅棒项目"`, `"field":"investor.name"`, `"old":"楚雄某某硅材料有限公司"`, `"reason":"项目名称与企业名称笔误"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the correction event lacks %s: %s", want, data)
		}
	}
	if first, _ := json.Marshal(evs[0]["data"]); !strings.Contains(string(first), "年产10GW单晶硅棒项木") {
		t.Errorf("the first event was edited: %s", first)
	}

	// Bad corrections name the field and append nothing.
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"fields": map[string]any{}, "reason": "x"}, "fields"},
		{map[string]any{"fields": map[string]any{"project": "年产10GW单晶硅棒项目"}, "reason": "x"}, "fields.project"},
		{map[string]any{"fields": map[string]any{"department": ""}, "reason": "x"}, "fields.department"},
		{map[string]any{"fields": map[string]any{"investor": map[string]any{"credit_code": "91350100M000100Y44"}}, "reason": "x"}, "fields.investor.credit_code"},
		{map[string]any{"fields": map[string]any{"reference": "新文号"}}, "reason"},
		{map[string]any{"fields": map[string]any{"kind": "tax"}, "reason": "x"}, "fields.kind"},
	} {
		before := h.events()
		r := h.do("POST", "/api/v1/commitments/"+id+"/corrections", tc.body)
		if r.status != http.StatusBadRequest || r.errField() != tc.field {
			t.Errorf("%v: %d %s; want 400 naming %s", tc.body, r.status, r.raw, tc.field)
		}
		if h.events() != before {
			t.Errorf("%v appended an event", tc.body)
		}
	}
}

// After a reorganisation the successor department answers for the promise,
// and what is delivered next is recorded against it.
func TestCorrections_HandoverThenFulfilment(t *testing.T) {
	h := newHarness(t)
	id := h.as("county-532301").must(http.StatusCreated, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2027-12-31")).str("id")
	if r := h.as("county-532301").do("POST", "/api/v1/commitments/"+id+"/handover", map[string]any{"department": "楚雄市自然资源和规划局", "reason": "机构改革", "approval": "楚编〔2024〕3号"}); r.status != http.StatusForbidden {
		t.Fatalf("a county office handing over: %d", r.status)
	}
	r := h.must(http.StatusCreated, "POST", "/api/v1/commitments/"+id+"/handover", map[string]any{"department": "楚雄市自然资源和规划局", "reason": "机构改革：原自然资源局职责划入", "approval": "楚编〔2024〕3号"})
	if r.str("department") != "楚雄市自然资源和规划局" {
		t.Fatalf("after the handover: %s", r.raw)
	}
	r = h.as("county-532301").must(http.StatusCreated, "POST", "/api/v1/commitments/"+id+"/fulfillments", fulfilment("100", "mu", "2024-05-01"))
	if r.str("department") != "楚雄市自然资源和规划局" || qty(r, "outstanding") != "200" {
		t.Fatalf("the fulfilment after the handover: %s", r.raw)
	}
	evs := historyOf(t, h, id)
	data, _ := json.Marshal(evs[1]["data"])
	if evs[1]["type"] != "commitment.handed_over" || !strings.Contains(string(data), `"previous_department":"楚雄市自然资源局"`) {
		t.Fatalf("the handover event: %v %s", evs[1]["type"], data)
	}
	county := h.must(http.StatusOK, "GET", "/api/v1/counties/532301", nil)
	depts, _ := county.body["by_department"].([]any)
	if len(depts) != 1 || depts[0].(map[string]any)["department"] != "楚雄市自然资源和规划局" {
		t.Fatalf("the county's departments: %v", depts)
	}
}

// A voided entry leaves every county figure, and stays in history and in
// the list filtered by status=void.
func TestCorrections_VoidedLeavesEveryFigure(t *testing.T) {
	h := newHarness(t)
	kept := h.must(http.StatusCreated, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31")).str("id")
	h.must(http.StatusCreated, "POST", "/api/v1/commitments/"+kept+"/fulfillments", fulfilment("100", "mu", "2020-10-01"))
	summary := func() string {
		r := h.must(http.StatusOK, "GET", "/api/v1/counties/532301", nil)
		delete(r.body, "as_of")
		b, _ := json.Marshal(r.body)
		return string(b)
	}
	want := summary()

	wrong := h.must(http.StatusCreated, "POST", "/api/v1/commitments", commitment("532301", "subsidy", "500000", "CNY", "2020-03-15", "2020-06-30")).str("id")
	h.must(http.StatusCreated, "POST", "/api/v1/commitments/"+wrong+"/disputes", map[string]any{"complainant": "某公司", "summary": "未兑现"})
	if summary() == want {
		t.Fatal("the second entry changed nothing: the test proves nothing")
	}
	if r := h.as("county-532301").do("POST", "/api/v1/commitments/"+wrong+"/voiding", map[string]any{"reason": "重复录入", "approval": "批复"}); r.status != http.StatusForbidden {
		t.Fatalf("a county office voiding: %d", r.status)
	}
	r := h.must(http.StatusCreated, "POST", "/api/v1/commitments/"+wrong+"/voiding", map[string]any{"reason": "重复录入：同一承诺已登记", "approval": "州投资促进局批复"})
	if r.str("status") != "void" {
		t.Fatalf("after voiding: %s", r.raw)
	}
	got := summary()
	// Every figure is as if the entry had never been made; the void entry is
	// reported apart (void: 1, and a kind row of none but it).
	var county struct {
		Void   int              `json:"void"`
		ByKind []map[string]any `json:"by_kind"`
	}
	if err := json.Unmarshal([]byte(got), &county); err != nil {
		t.Fatal(err)
	}
	if county.Void != 1 {
		t.Fatalf("void: %d, want 1", county.Void)
	}
	aside := strings.ReplaceAll(got, `"void":1`, `"void":0`)
	for _, k := range county.ByKind {
		if k["commitments"] == float64(0) {
			row, _ := json.Marshal(k)
			aside = strings.Replace(aside, ","+strings.ReplaceAll(string(row), `"void":1`, `"void":0`), "", 1)
		}
	}
	if aside != want {
		t.Fatalf("county figures after voiding:\n%s\nwant (void aside):\n%s", got, want)
	}
	list := h.must(http.StatusOK, "GET", "/api/v1/commitments?status=void", nil)
	items, _ := list.body["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["id"] != wrong {
		t.Fatalf("status=void: %s", list.raw)
	}
	if evs := historyOf(t, h, wrong); evs[len(evs)-1]["type"] != "commitment.voided" {
		t.Fatalf("history: %v", evs)
	}
	before := h.events()
	if r := h.do("POST", "/api/v1/commitments/"+wrong+"/fulfillments", fulfilment("1", "CNY", "2021-01-01")); r.status != http.StatusConflict || r.errCode() != "invalid_state" {
		t.Fatalf("a fulfilment of a void entry: %d %s", r.status, r.raw)
	}
	if r := h.do("POST", "/api/v1/commitments/"+wrong+"/voiding", map[string]any{"reason": "再次", "approval": "批复"}); r.status != http.StatusConflict {
		t.Fatalf("voiding twice: %d %s", r.status, r.raw)
	}
	if h.events() != before {
		t.Fatal("a refused request appended an event")
	}
}

// A hand-over moves the promise from one department's figures to the
// other's, in the kept county figures too: the old department, left with
// nothing, is no longer listed.
func TestCorrections_HandoverMovesTheKeptFigures(t *testing.T) {
	h := newHarness(t)
	id := h.must(201, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31")).str("id")
	depts := func() []string {
		var out []string
		for _, d := range h.must(200, "GET", "/api/v1/counties/532301", nil).body["by_department"].([]any) {
			out = append(out, d.(map[string]any)["department"].(string))
		}
		return out
	}
	if got := depts(); len(got) != 1 || got[0] != "楚雄市自然资源局" {
		t.Fatalf("before: %v", got)
	}
	h.must(201, "POST", "/api/v1/commitments/"+id+"/handover", map[string]any{"department": "楚雄市自然资源和规划局", "reason": "机构改革", "approval": "楚编〔2024〕3号"})
	if got := depts(); len(got) != 1 || got[0] != "楚雄市自然资源和规划局" {
		t.Fatalf("after the hand-over: %v", got)
	}
}
