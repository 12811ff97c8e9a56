package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// seedPast records, in November 2026, a subsidy of 楚雄市 due on 10
// November (17 days overdue today, 27 November) and a tax commitment of
// 禄丰市 not yet due, and returns the first one's id. The clock is then
// back at testNow.
func seedPast(h *harness) string {
	h.t.Helper()
	h.clock.Set(time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC))
	id := h.must(201, "POST", "/api/v1/commitments", commitment("532301", "subsidy", "500", "CNY", "2026-10-01", "2026-11-10")).str("id")
	h.clock.Set(time.Date(2026, 11, 5, 2, 0, 0, 0, time.UTC))
	h.must(201, "POST", "/api/v1/commitments", commitment("532331", "tax", "50000", "CNY", "2026-10-01", "2026-12-31"))
	h.clock.Set(testNow)
	return id
}

// get sends a GET as the harness's principal. Unlike do it may be called
// from any goroutine: a request that fails is an answer with status 0.
func (h *harness) get(path string) response {
	req, err := http.NewRequest("GET", h.url+path, nil)
	if err != nil {
		return response{raw: []byte(err.Error())}
	}
	req.Header.Set("Authorization", "Bearer "+h.auth)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{raw: []byte(err.Error())}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// stuck is how long a test waits for what must come before it calls it a
// hang: a guard against a test that never ends, not a measure of speed.
const stuck = time.Minute

// receive takes the next answer.
func receive(t *testing.T, answers <-chan response) response {
	t.Helper()
	select {
	case r := <-answers:
		return r
	case <-time.After(stuck):
		t.Fatal("no answer: the request hangs")
		return response{}
	}
}

// waitUntil waits until cond holds, saying what it waited for when it never does.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for give := time.Now().Add(stuck); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(give) {
			t.Fatalf("never: %s", what)
		}
	}
}

// TestAsOf_OneFoldAtATimePerPrincipal: a county token asking for forty past
// instants at once gets one fold; the other 39 are refused at once (429,
// naming as_of, with Retry-After), and an auditor's past view is served while
// the county's fold is still running.
func TestAsOf_OneFoldAtATimePerPrincipal(t *testing.T) {
	h := newHarnessSetup(t, setup{holdFolds: true})
	seedPast(h)
	past := h.reads.Past()
	hold := h.folds.Hold(t, 1) // the first fold runs until released

	county := h.as("county-532301")
	paths := []string{"/api/v1/counties", "/api/v1/counties/532301", "/api/v1/aging", "/api/v1/commitments", "/api/v1/reports/overdue"}
	answers := make(chan response, 40)
	for i := range 40 {
		path := paths[i%len(paths)] + "?as_of=" + testNow.Add(-time.Duration(i+2)*time.Hour).Format(time.RFC3339)
		go func() { answers <- county.get(path) }()
	}
	for range 39 {
		r := receive(t, answers)
		if r.status != http.StatusTooManyRequests || r.errCode() != "rate_limited" || r.errField() != "as_of" || !strings.Contains(r.errMessage(), "as_of") {
			t.Fatalf("a second instant while the first is folded: %d %s", r.status, r.raw)
		}
		if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
			t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
		}
	}
	waitUntil(t, "the county's fold is held", func() bool { return hold.Held() == 1 })
	if n := past.Stats().Folds; n != 1 {
		t.Fatalf("%d folds for one county, want 1", n)
	}
	// Refused like any other 429: counted by route and role, and the folds in /metrics.
	metrics := string(h.as("auditor").must(200, "GET", "/metrics", nil).raw)
	refused := 0
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, `ledger_http_refused_total{role="county",`) && strings.Contains(line, `status="429"}`) {
			n, _ := strconv.Atoi(line[strings.LastIndexByte(line, ' ')+1:])
			refused += n
		}
	}
	if refused != 39 || !strings.Contains(metrics, "\nledger_asof_folds_total 1\n") || !strings.Contains(metrics, "\nledger_asof_refused_total 39\n") || !strings.Contains(metrics, "\nledger_asof_waiting 1\n") {
		t.Errorf("/metrics: %d refusals counted, want 39:\n%s", refused, grep(metrics, "refused_total")+"\n"+grep(metrics, "ledger_asof"))
	}

	// The county's fold holds one of the two slots: the auditor gets the other.
	auditor := h.as("auditor").must(200, "GET", "/api/v1/counties?as_of="+testNow.Add(-30*time.Hour).Format(time.RFC3339), nil)
	if auditor.str("as_of") != "2026-11-25T22:00:00Z" {
		t.Fatalf("auditor: %s", auditor.raw)
	}
	if n := past.Stats().Folds; n != 2 {
		t.Fatalf("%d folds, want 2", n)
	}

	hold.Release()
	if r := receive(t, answers); r.status != 200 {
		t.Fatalf("the county's fold: %d %s", r.status, r.raw)
	}
	// Its fold done, the county may ask for another instant.
	county.must(200, "GET", "/api/v1/aging?as_of="+testNow.Add(-50*time.Hour).Format(time.RFC3339), nil)
	if n := past.Stats().Folds; n != 3 {
		t.Fatalf("%d folds, want 3", n)
	}
}

// TestAsOf_SameInstantFoldedOnce: twenty requests for one past instant, from
// five principals (four each, the same instant, so none is refused), on four
// views, wait for one fold; repeats are answered from the kept view.
func TestAsOf_SameInstantFoldedOnce(t *testing.T) {
	h := newHarnessSetup(t, setup{holdFolds: true})
	seedPast(h)
	past := h.reads.Past()
	at := "?as_of=" + testNow.Add(-36*time.Hour).Format(time.RFC3339)
	hold := h.folds.Hold(t, 100)

	who := []string{"supervisor", "auditor", "admin", "county-532301", "county-532331"}
	paths := []string{"/api/v1/counties", "/api/v1/aging", "/api/v1/commitments", "/api/v1/reports/overdue"}
	type answer struct {
		key string
		r   response
	}
	answers := make(chan answer, len(who)*len(paths))
	for _, name := range who {
		for _, path := range paths {
			go func() { answers <- answer{name + " " + path, h.as(name).get(path + at)} }()
		}
	}
	n := int64(len(who) * len(paths))
	waitUntil(t, "every request waits for the fold", func() bool { return past.Stats().Waiting == n })
	hold.Release()
	got := map[string]string{}
	for range n {
		var a answer
		select {
		case a = <-answers:
		case <-time.After(stuck):
			t.Fatal("no answer: the request hangs")
		}
		if a.r.status != 200 {
			t.Fatalf("%s: %d %s", a.key, a.r.status, a.r.raw)
		}
		got[a.key] = string(a.r.raw)
	}
	if s := past.Stats(); s.Folds != 1 {
		t.Fatalf("%d folds for %d requests of one instant, want 1", s.Folds, n)
	}
	// Repeats come from the kept view, and answer the same.
	for _, name := range who {
		for _, path := range paths {
			if r := h.as(name).must(200, "GET", path+at, nil); string(r.raw) != got[name+" "+path] {
				t.Errorf("%s %s again:\n got %s\nwant %s", name, path, r.raw, got[name+" "+path])
			}
		}
	}
	if s := past.Stats(); s.Folds != 1 || s.Cached != uint64(n) {
		t.Fatalf("after repeats: %+v, want 1 fold and %d cached", s, n)
	}
}

// TestAsOf_FutureIsTheLiveView: an instant after now, on every endpoint that
// takes as_of, answers what the live view answers, without a fold; and the
// bulletin's date of today or of a later day, whose end is still to come, too.
func TestAsOf_FutureIsTheLiveView(t *testing.T) {
	h := newHarness(t)
	id := seedPast(h)
	paths := []string{"/api/v1/counties", "/api/v1/counties/532301", "/api/v1/aging", "/api/v1/commitments", "/api/v1/commitments?overdue=true",
		"/api/v1/commitments/" + id, "/api/v1/commitments/" + id + "/history",
		"/api/v1/reports/overdue", "/api/v1/reports/overdue?format=md", "/api/v1/reports/overdue?format=csv&lang=en"}
	with := func(path, asOf string) string {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		return path + sep + "as_of=" + url.QueryEscape(asOf)
	}
	live := map[string]string{}
	for _, p := range paths {
		live[p] = string(h.must(200, "GET", p, nil).raw)
	}
	for _, future := range []string{"2026-11-27T04:00:01Z", "2026-11-28T04:00:00+08:00", "2027-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-23:59"} {
		for _, p := range paths {
			if got := string(h.must(200, "GET", with(p, future), nil).raw); got != live[p] {
				t.Errorf("%s as of %s:\n got %s\nwant %s", p, future, got, live[p])
			}
		}
	}
	for _, day := range []string{"2026-11-27", "2026-11-28", "9999-12-31"} {
		for _, p := range paths[7:] {
			if got := string(h.must(200, "GET", with(p, day), nil).raw); got != live[p] {
				t.Errorf("%s as of %s:\n got %s\nwant %s", p, day, got, live[p])
			}
		}
	}
	// The answer says which instant it is of: now.
	if got := h.must(200, "GET", "/api/v1/aging?as_of=2027-01-01T00:00:00Z", nil).str("as_of"); got != "2026-11-27T04:00:00Z" {
		t.Errorf("as_of answered %s, want now", got)
	}
	if n := h.reads.Past().Stats().Folds; n != 0 {
		t.Errorf("%d folds for instants to come, want 0", n)
	}
}

// TestAsOf_LastInstant: as of 9999-12-31T23:59:59Z — a date of the year
// 10000 in the jurisdiction, and days overdue past what a duration holds —
// is now: the bulletin is dated today and counts the days overdue until
// today, in every format, and so do the list and the commitment.
func TestAsOf_LastInstant(t *testing.T) {
	h := newHarness(t)
	id := seedPast(h)
	const last = "?as_of=9999-12-31T23:59:59Z"
	for _, q := range []string{last, "?as_of=9999-12-31"} {
		j := h.must(200, "GET", "/api/v1/reports/overdue"+q, nil)
		first := j.body["counties"].([]any)[0].(map[string]any)["commitments"].([]any)
		if j.str("date") != "2026-11-27" || j.str("as_of") != "2026-11-27T04:00:00Z" || len(first) != 1 || first[0].(map[string]any)["days_overdue"] != 17.0 {
			t.Errorf("bulletin %s: %s", q, j.raw)
		}
		if md := string(h.must(200, "GET", "/api/v1/reports/overdue"+q+"&format=md", nil).raw); !strings.Contains(md, "截至 2026-11-27\n") || !strings.Contains(md, "| 1 | 17 |") {
			t.Errorf("bulletin %s in Markdown:\n%s", q, md)
		}
		if csv := string(h.must(200, "GET", "/api/v1/reports/overdue"+q+"&format=csv", nil).raw); !strings.Contains(csv, "\n532301,楚雄市,17,") {
			t.Errorf("bulletin %s in CSV:\n%s", q, csv)
		}
	}
	if c := h.must(200, "GET", "/api/v1/commitments/"+id+last, nil); c.body["days_overdue"] != 17.0 {
		t.Errorf("commitment: %s", c.raw)
	}
	items := h.must(200, "GET", "/api/v1/commitments"+last+"&overdue=true", nil).body["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["days_overdue"] != 17.0 {
		t.Errorf("overdue list: %v", items)
	}
}

// TestAsOf_BeforeTheLedger: an instant before 2000-01-01T00:00:00Z — such as
// 0001-01-01T00:00:00Z, a client's unset time, once read as "now" — is
// refused on every endpoint that takes as_of, naming the rule; from then on
// the views answer what was recorded: nothing yet.
func TestAsOf_BeforeTheLedger(t *testing.T) {
	h := newHarness(t)
	base := "/api/v1/commitments/" + seedPast(h)
	paths := map[string]string{"commitment": base, "history": base + "/history", "list": "/api/v1/commitments", "counties": "/api/v1/counties",
		"county": "/api/v1/counties/532301", "aging": "/api/v1/aging", "bulletin": "/api/v1/reports/overdue"}
	var tests []edgeCase
	for _, instant := range []string{"0001-01-01T00:00:00Z", "0000-01-01T00:00:00+23:59", "1999-12-31T23:59:59Z", "2000-01-01T07:59:59+08:00"} {
		for name, path := range paths {
			tests = append(tests, edgeCase{name + " " + instant, "", "GET", path + "?as_of=" + url.QueryEscape(instant), nil, nil, 400, "validation_failed", "as_of"})
		}
	}
	for _, day := range []string{"0001-01-01", "1999-12-31"} {
		tests = append(tests, edgeCase{"bulletin " + day, "", "GET", "/api/v1/reports/overdue?as_of=" + day, nil, nil, 400, "validation_failed", "as_of"})
	}
	refuseAll(t, h, tests)
	if m := h.do("GET", "/api/v1/counties?as_of=0001-01-01T00:00:00Z", nil).errMessage(); !strings.Contains(m, "as_of") || !strings.Contains(m, "2000-01-01T00:00:00Z") {
		t.Errorf("message %q does not name the rule", m)
	}

	const first = "?as_of=2000-01-01T00:00:00Z"
	h.must(404, "GET", base+first, nil)
	h.must(404, "GET", base+"/history"+first, nil)
	if items := h.must(200, "GET", "/api/v1/commitments"+first, nil).body["items"].([]any); len(items) != 0 {
		t.Errorf("list as of 2000: %v", items)
	}
	counties := h.must(200, "GET", "/api/v1/counties"+first, nil)
	for _, c := range counties.body["counties"].([]any) {
		if c.(map[string]any)["commitments"] != 0.0 {
			t.Errorf("counties as of 2000: %s", counties.raw)
		}
	}
	if c := h.must(200, "GET", "/api/v1/counties/532301"+first, nil); c.body["commitments"] != 0.0 || c.str("as_of") != "2000-01-01T00:00:00Z" {
		t.Errorf("county as of 2000: %s", c.raw)
	}
	for _, q := range []string{first, "?as_of=2000-01-01"} {
		b := h.must(200, "GET", "/api/v1/reports/overdue"+q, nil)
		for _, c := range b.body["counties"].([]any) {
			if n := len(c.(map[string]any)["commitments"].([]any)); n != 0 || b.str("date") != "2000-01-01" {
				t.Errorf("bulletin %s: %s", q, b.raw)
			}
		}
	}
}

// TestAsOf_CheckedFirst: a commitment and its history check as_of before
// the id, as the lists do before their filters: the same bad as_of is the
// same 400 whichever commitment it is asked of, seen, unseen or none.
func TestAsOf_CheckedFirst(t *testing.T) {
	h := newHarness(t)
	id := seedPast(h)
	var tests []edgeCase
	for _, bad := range []string{"0001-01-01T00:00:00Z", "2026-01-01T00:00:00+24:00", "yesterday"} {
		for who, c := range map[string]string{"county-532301": id, "county-532322": id, "supervisor": "01a21f8c-0000-7000-8000-000000000000"} {
			for _, tail := range []string{"", "/history"} {
				tests = append(tests, edgeCase{who + " " + c + tail + " " + bad, who, "GET", "/api/v1/commitments/" + c + tail + "?as_of=" + url.QueryEscape(bad), nil, nil, 400, "validation_failed", "as_of"})
			}
		}
	}
	refuseAll(t, h, tests)
}
