package api_test

import (
	"net/http"
	"testing"
)

// Promises migrated from an old ledger (台账) are recorded today but dated
// in 2020: as_of (what the ledger had been told by a date) shows nothing
// then, while on= (the facts by their own dates) shows them owed and
// overdue on 2020-12-31, and kept by mid-2021. Both axes together show
// what was told by one date about the facts of another.
func TestOn_MigratedPromisesByTheDatesOfTheFacts(t *testing.T) {
	h := newHarness(t)
	id := h.must(http.StatusCreated, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2020-06-30")).str("id")
	h.must(http.StatusCreated, "POST", "/api/v1/commitments/"+id+"/fulfillments", fulfilment("300", "mu", "2021-05-01"))

	county := func(query string) map[string]any {
		return h.must(http.StatusOK, "GET", "/api/v1/counties/532301?"+query, nil).body
	}
	c := county("on=2020-12-31")
	if c["overdue"] != float64(1) || c["open"] != float64(1) || c["on"] != "2020-12-31" {
		t.Fatalf("on=2020-12-31: overdue %v, open %v, on %v", c["overdue"], c["open"], c["on"])
	}
	if c := county("on=2021-06-30"); c["fulfilled"] != float64(1) || c["overdue"] != float64(0) || c["kept_on_time_rate"] != "0.0000" {
		t.Fatalf("on=2021-06-30: %v", c)
	}
	if c := county("on=2020-01-31"); c["commitments"] != float64(0) {
		t.Fatalf("on=2020-01-31, before the promise was made: %v", c["commitments"])
	}
	if c := county("as_of=2020-12-31"); c["commitments"] != float64(0) {
		t.Fatalf("as_of=2020-12-31 (nothing recorded yet): %v", c["commitments"])
	}
	if c := county("as_of=2026-11-26&on=2020-12-31"); c["commitments"] != float64(0) {
		t.Fatalf("told by yesterday, about 2020-12-31: %v", c["commitments"])
	}

	one := h.must(http.StatusOK, "GET", "/api/v1/commitments/"+id+"?on=2020-12-31", nil)
	if one.str("status") != "open" || one.body["days_overdue"] != float64(184) {
		t.Fatalf("the commitment on 2020-12-31: %s, %v days overdue", one.str("status"), one.body["days_overdue"])
	}
	list := h.must(http.StatusOK, "GET", "/api/v1/commitments?overdue=true&on=2020-12-31", nil)
	if items, _ := list.body["items"].([]any); len(items) != 1 {
		t.Fatalf("overdue on 2020-12-31: %s", list.raw)
	}
	b := h.must(http.StatusOK, "GET", "/api/v1/reports/overdue?on=2020-12-31&format=json", nil)
	counties, _ := b.body["counties"].([]any)
	found := false
	for _, x := range counties {
		for _, it := range x.(map[string]any)["commitments"].([]any) {
			found = found || (it.(map[string]any)["id"] == id && it.(map[string]any)["days_overdue"] == float64(184))
		}
	}
	if !found || b.body["date"] != "2020-12-31" {
		t.Fatalf("the bulletin on 2020-12-31: %s", b.raw)
	}
	for _, q := range []string{"on=2026-11-28", "on=2020-13-01", "on=1999-12-31"} {
		if r := h.do("GET", "/api/v1/counties?"+q, nil); r.status != http.StatusBadRequest || r.errField() != "on" {
			t.Errorf("%s: %d %s", q, r.status, r.raw)
		}
	}
}
