package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// An unknown query parameter is a 400 naming it, never silently ignored: an
// auditor who filters by a parameter that does not exist must not believe
// the whole list is the filtered one.
func TestAPI_UnknownQueryParameter(t *testing.T) {
	h := newHarness(t)
	made := h.must(http.StatusCreated, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2027-12-31"))
	id := made.str("id")
	for _, tc := range []struct{ method, path, param string }{
		{"GET", "/api/v1/commitments?investor_name=楚雄某某", "investor_name"},
		{"GET", "/api/v1/commitments?county=532301&Kind=land", "Kind"},
		{"GET", "/api/v1/commitments/" + id + "?version=1", "version"},
		{"GET", "/api/v1/commitments/" + id + "/history?from=2020-01-01", "from"},
		{"GET", "/api/v1/counties?date=2026-06-30", "date"},
		{"GET", "/api/v1/counties/532301?kind=land", "kind"},
		{"GET", "/api/v1/aging?county=532301", "county"},
		{"GET", "/api/v1/alerts?rules=overdue", "rules"},
		{"GET", "/api/v1/reports/overdue?asof=2026-06-30", "asof"},
		{"GET", "/api/v1/audit/seals?limit=1", "limit"},
		{"POST", "/api/v1/commitments/" + id + "/fulfillments?dry_run=1", "dry_run"},
	} {
		before := h.events()
		var body any
		if tc.method == "POST" {
			body = fulfilment("10", "mu", "2021-01-01")
		}
		r := h.do(tc.method, tc.path, body)
		if r.status != http.StatusBadRequest || r.errField() != tc.param || !strings.Contains(r.errMessage(), "unknown query parameter") {
			t.Errorf("%s %s: %d %s; want 400 naming %s", tc.method, tc.path, r.status, r.raw, tc.param)
		}
		if h.events() != before {
			t.Errorf("%s %s appended an event", tc.method, tc.path)
		}
	}
	// The parameters a route takes are still taken.
	for _, path := range []string{
		"/api/v1/commitments?county=532301&kind=land&status=open&department=x&overdue=false&limit=5",
		"/api/v1/commitments/" + id + "?as_of=2026-11-27T04:00:00Z",
		"/api/v1/alerts?county=532301&rule=overdue&state=open",
		"/api/v1/reports/overdue?format=json&lang=en",
	} {
		h.must(http.StatusOK, "GET", path, nil)
	}
}

// A date is accepted wherever an instant is, meaning the end of that day in
// the jurisdiction's calendar.
func TestAPI_AsOfDateEverywhere(t *testing.T) {
	h := newHarness(t)
	made := h.must(http.StatusCreated, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2027-12-31"))
	id := made.str("id")
	for _, path := range []string{"/api/v1/counties", "/api/v1/counties/532301", "/api/v1/aging", "/api/v1/commitments", "/api/v1/commitments/" + id, "/api/v1/commitments/" + id + "/history", "/api/v1/reports/overdue"} {
		// Yesterday in Chuxiong ended at 2026-11-26T16:00Z: the commitment, recorded at 04:00Z on the 27th, is not there yet.
		date := h.do("GET", path+"?as_of=2026-11-26", nil)
		instant := h.do("GET", path+"?as_of=2026-11-26T15:59:59.999999999Z", nil)
		if date.status != instant.status || strings.ReplaceAll(string(date.raw), "2026-11-26T15:59:59Z", "") != strings.ReplaceAll(string(instant.raw), "2026-11-26T15:59:59Z", "") {
			t.Errorf("%s: as_of=2026-11-26 answered %d %.200s\nthe end of that day answered %d %.200s", path, date.status, date.raw, instant.status, instant.raw)
		}
	}
}
