package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"promiseledger/api"
	"promiseledger/events"
	"promiseledger/ledger"
	"promiseledger/projections"
)

func TestAPI_CommitmentLifecycle(t *testing.T) {
	h := newHarness(t)
	made := h.must(201, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31"))
	id := made.str("id")
	if loc := made.header.Get("Location"); loc != "/api/v1/commitments/"+id {
		t.Fatalf("Location %q", loc)
	}
	if made.header.Get("ETag") != `"1"` || made.str("status") != "open" || made.str("county_name") != "楚雄市" {
		t.Fatalf("made: %s %s", made.header.Get("ETag"), made.raw)
	}
	// 2026-11-27 is 2157 days after 2020-12-31.
	if made.body["overdue"] != true || made.body["days_overdue"] != float64(2157) {
		t.Fatalf("overdue: %v %v", made.body["overdue"], made.body["days_overdue"])
	}
	base := "/api/v1/commitments/" + id

	f := h.must(201, "POST", base+"/fulfillments", fulfilment("120", "mu", "2020-10-01"), "If-Match", `"1"`)
	if f.str("status") != "partially_fulfilled" || qty(f, "fulfilled") != "120" || qty(f, "outstanding") != "180" || f.header.Get("ETag") != `"2"` {
		t.Fatalf("after fulfilment: %s", f.raw)
	}
	got := h.must(200, "GET", base, nil)
	if string(got.raw) != string(f.raw) {
		t.Fatalf("read after write differs:\n%s\n%s", got.raw, f.raw)
	}

	// A mistaken fulfilment, then its reversal.
	m := h.must(201, "POST", base+"/fulfillments", fulfilment("180", "mu", "2020-11-01"))
	if m.str("status") != "fulfilled" || m.body["overdue"] != false {
		t.Fatalf("fulfilled: %s", m.raw)
	}
	mistaken := m.body["fulfillments"].([]any)[1].(map[string]any)["id"].(string)
	r := h.must(201, "POST", base+"/reversals", map[string]any{"fulfillment_id": mistaken, "reason": "合同未生效"})
	if r.str("status") != "partially_fulfilled" || qty(r, "outstanding") != "180" {
		t.Fatalf("reversed: %s", r.raw)
	}

	// An approved extension and a larger quantity.
	a := h.must(201, "POST", base+"/amendments", map[string]any{"due": "2027-06-30", "quantity": map[string]any{"value": "320.5", "unit": "mu"}, "reason": "规划调整", "approval": "州投促局〔2026〕9号"})
	if a.str("due") != "2027-06-30" || qty(a, "outstanding") != "200.5" || a.body["overdue"] != false {
		t.Fatalf("amended: %s", a.raw)
	}

	// A complaint, a supervision order, the complaint upheld.
	d := h.must(201, "POST", base+"/disputes", map[string]any{"complainant": "楚雄某某硅材料有限公司", "summary": "剩余用地迟迟未供"})
	if d.body["disputed"] != true {
		t.Fatalf("disputed: %s", d.raw)
	}
	dispute := d.body["disputes"].([]any)[0].(map[string]any)["id"].(string)
	o := h.must(201, "POST", base+"/supervision-orders", map[string]any{"deadline": "2027-03-31", "note": "限期兑现"})
	if n := len(o.body["supervision_orders"].([]any)); n != 1 {
		t.Fatalf("orders: %s", o.raw)
	}
	res := h.must(201, "POST", base+"/disputes/"+dispute+"/resolution", map[string]any{"outcome": "upheld", "note": "情况属实"})
	if res.body["disputed"] != false || res.body["disputes"].([]any)[0].(map[string]any)["state"] != "upheld" {
		t.Fatalf("resolved: %s", res.raw)
	}

	// Cancelled: terminal; still a dispute may be opened.
	x := h.must(201, "POST", base+"/cancellation", map[string]any{"reason": "企业未按期投产", "approval": "州投促局〔2026〕10号"})
	if x.str("status") != "cancelled" || qty(x, "outstanding") != "0" {
		t.Fatalf("cancelled: %s", x.raw)
	}
	h.must(409, "POST", base+"/fulfillments", fulfilment("1", "mu", "2026-11-01"))
	h.must(201, "POST", base+"/disputes", map[string]any{"complainant": "企业", "summary": "对取消有异议"})

	hist := h.must(200, "GET", base+"/history", nil)
	evs := hist.body["events"].([]any)
	want := []events.Type{events.CommitmentMadeType, events.FulfillmentRecordedType, events.FulfillmentRecordedType, events.FulfillmentReversedType,
		events.CommitmentAmendedType, events.DisputeOpenedType, events.SupervisionOrderedType, events.DisputeResolvedType, events.CommitmentCancelledType, events.DisputeOpenedType}
	if len(evs) != len(want) {
		t.Fatalf("history has %d events, want %d", len(evs), len(want))
	}
	for i, e := range evs {
		ev := e.(map[string]any)
		if ev["type"] != string(want[i]) || ev["commitment_id"] != id || ev["county"] != "532301" || ev["schema"] != float64(want[i].Schema()) ||
			ev["sequence"] == nil || ev["recorded_at"] == nil || ev["actor"].(map[string]any)["name"] != "supervisor" || ev["actor"].(map[string]any)["role"] != "supervisor" || ev["data"] == nil {
			t.Errorf("event %d: %v", i, ev)
		}
	}
	if evs[1].(map[string]any)["effective_on"] != "2020-10-01" {
		t.Errorf("a fulfilment is effective on its fulfilled_on date: %v", evs[1])
	}
}

func qty(r response, key string) string {
	q, _ := r.body[key].(map[string]any)
	s, _ := q["value"].(string)
	return s
}

// TestAPI_ConcurrentFulfilments: 20 offices each record 10 of a 100-unit
// promise at the same moment. Exactly 10 succeed; the ledger never over-fulfils.
func TestAPI_ConcurrentFulfilments(t *testing.T) {
	h := newHarness(t)
	c := h.must(201, "POST", "/api/v1/commitments", commitment("532323", "subsidy", "100", "CNY", "2025-01-01", "2026-06-30"))
	path := "/api/v1/commitments/" + c.str("id") + "/fulfillments"

	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]response, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = h.do("POST", path, fulfilment("10", "CNY", "2026-01-15"))
		}()
	}
	close(start)
	wg.Wait()
	ok, exceeded := 0, 0
	for _, r := range results {
		switch {
		case r.status == 201:
			ok++
		case r.status == 409 && r.errCode() == "exceeds_outstanding":
			exceeded++
		default:
			t.Errorf("unexpected answer %d: %s", r.status, r.raw)
		}
	}
	if ok != 10 || exceeded != 10 {
		t.Fatalf("%d succeeded and %d exceeded, want 10 and 10", ok, exceeded)
	}
	evs, err := h.store.Load(context.Background(), c.str("id"))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 11 {
		t.Fatalf("stream holds %d events for the commitment, want 11", len(evs))
	}
	got := h.must(200, "GET", "/api/v1/commitments/"+c.str("id"), nil)
	if got.str("status") != "fulfilled" || qty(got, "fulfilled") != "100.00" || got.body["version"] != float64(11) {
		t.Fatalf("final state: %s", got.raw)
	}
}

func TestAPI_Idempotency(t *testing.T) {
	h := newHarness(t)
	body := commitment("532324", "fee", "350000", "CNY", "2025-02-01", "2026-02-01")
	first := h.must(201, "POST", "/api/v1/commitments", body, "Idempotency-Key", "make-1")
	n := h.events()

	again := h.must(201, "POST", "/api/v1/commitments", body, "Idempotency-Key", "make-1")
	if string(again.raw) != string(first.raw) || again.header.Get("Location") != first.header.Get("Location") {
		t.Fatalf("retry answered differently:\n%s\n%s", again.raw, first.raw)
	}
	if h.events() != n {
		t.Fatal("a retried make appended")
	}
	other := commitment("532324", "fee", "350001", "CNY", "2025-02-01", "2026-02-01")
	if r := h.do("POST", "/api/v1/commitments", other, "Idempotency-Key", "make-1"); r.status != 409 || r.errCode() != "idempotency_key_reused" {
		t.Fatalf("reused key: %d %s", r.status, r.raw)
	}
	// Keys belong to who sent them: another office's same key is its own request.
	if r := h.as("county-532324").do("POST", "/api/v1/commitments", other, "Idempotency-Key", "make-1"); r.status != 201 || r.str("id") == first.str("id") {
		t.Fatalf("another office's key: %d %s", r.status, r.raw)
	}
	if h.events() != n+1 {
		t.Fatalf("another office's request appended %d events, want 1", h.events()-n)
	}

	// A fulfilment retried after later events still answers with its first result.
	path := "/api/v1/commitments/" + first.str("id") + "/fulfillments"
	f1 := h.must(201, "POST", path, fulfilment("100000", "CNY", "2025-03-01"), "Idempotency-Key", "pay-1")
	h.must(201, "POST", path, fulfilment("50000", "CNY", "2025-04-01"))
	n = h.events()
	f2 := h.must(201, "POST", path, fulfilment("100000", "CNY", "2025-03-01"), "Idempotency-Key", "pay-1")
	if string(f2.raw) != string(f1.raw) || f2.header.Get("ETag") != `"2"` {
		t.Fatalf("retried fulfilment:\n%s\n%s", f2.raw, f1.raw)
	}
	if h.events() != n {
		t.Fatal("a retried fulfilment appended")
	}

	// The same request sent ten times at once, as a client that retries on a
	// timeout might: one event, ten identical answers. Some of these meet the
	// stored first attempt as a sequence conflict (nats-server ≥ 2.12 checks
	// the expected sequence before de-duplicating) and must still answer with it.
	var wg sync.WaitGroup
	answers := make([]response, 10)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = h.do("POST", path, fulfilment("1000", "CNY", "2025-05-01"), "Idempotency-Key", "pay-burst")
		}()
	}
	wg.Wait()
	for _, a := range answers {
		if a.status != 201 || string(a.raw) != string(answers[0].raw) {
			t.Fatalf("burst answers differ: %d %s / %s", a.status, a.raw, answers[0].raw)
		}
	}
	if got := h.events(); got != n+1 {
		t.Fatalf("burst appended %d events, want 1", got-n)
	}
}

func TestAPI_ListPagination(t *testing.T) {
	h := newHarness(t)
	var ids []string
	for i := 0; i < 7; i++ {
		county := "532301"
		if i%2 == 1 {
			county = "532331"
		}
		due := "2027-12-31"
		if i < 3 {
			due = "2025-12-31"
		}
		ids = append(ids, h.must(201, "POST", "/api/v1/commitments", commitment(county, "tax", fmt.Sprint(1000+i), "CNY", "2025-01-01", due)).str("id"))
	}
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		path := "/api/v1/commitments?limit=3"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := h.must(200, "GET", path, nil)
		for _, it := range r.body["items"].([]any) {
			seen = append(seen, it.(map[string]any)["id"].(string))
		}
		// A commitment made while paging appears at the end, never in the middle.
		if page == 0 {
			ids = append(ids, h.must(201, "POST", "/api/v1/commitments", commitment("532301", "tax", "5", "CNY", "2025-01-01", "2027-12-31")).str("id"))
		}
		cursor = r.str("next_cursor")
		if cursor == "" {
			break
		}
	}
	if fmt.Sprint(seen) != fmt.Sprint(ids) {
		t.Fatalf("pages gave\n%v\nwant\n%v", seen, ids)
	}
	filtered := h.must(200, "GET", "/api/v1/commitments?county=532331&overdue=true", nil)
	if items := filtered.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != ids[1] || filtered.body["next_cursor"] != nil {
		t.Fatalf("filtered: %s", filtered.raw)
	}
	if items := h.must(200, "GET", "/api/v1/commitments?status=open&kind=land", nil).body["items"].([]any); len(items) != 0 {
		t.Fatalf("kind filter: %d items", len(items))
	}
}

func TestAPI_AsOf(t *testing.T) {
	h := newHarness(t)
	t0 := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	h.clock.Set(t0)
	c := h.must(201, "POST", "/api/v1/commitments", commitment("532325", "subsidy", "500", "CNY", "2026-10-01", "2026-11-10"))
	base := "/api/v1/commitments/" + c.str("id")
	// The fulfilment happened on 2026-11-09, before the due date, but the
	// ledger learned of it on 2026-11-20.
	h.clock.Set(time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC))
	h.must(201, "POST", base+"/fulfillments", fulfilment("500", "CNY", "2026-11-09"))

	between := h.must(200, "GET", base+"?as_of=2026-11-15T00:00:00Z", nil)
	if between.str("status") != "open" || between.body["overdue"] != true || between.body["days_overdue"] != float64(5) || between.header.Get("ETag") != `"1"` {
		t.Fatalf("as of 15 November the ledger showed an overdue open promise: %s", between.raw)
	}
	after := h.must(200, "GET", base+"?as_of=2026-11-21T00:00:00Z", nil)
	if after.str("status") != "fulfilled" || after.body["overdue"] != false {
		t.Fatalf("as of 21 November: %s", after.raw)
	}
	if r := h.do("GET", base+"?as_of=2026-10-01T00:00:00Z", nil); r.status != 404 {
		t.Fatalf("before it was recorded: %d", r.status)
	}
	// Kept on time: the fulfilment's own date counts, not when it was recorded.
	county := h.must(200, "GET", "/api/v1/counties/532325", nil)
	if county.body["kept_on_time_rate"] != "1.0000" {
		t.Fatalf("kept on time now: %s", county.raw)
	}
	past := h.must(200, "GET", "/api/v1/counties/532325?as_of=2026-11-15T00:00:00Z", nil)
	if past.body["overdue"] != float64(1) || past.body["kept_on_time_rate"] != "0.0000" {
		t.Fatalf("county as of 15 November: %s", past.raw)
	}
}

func TestAPI_Counties(t *testing.T) {
	h := newHarness(t)
	mk := func(county, kind, v, unit, due string) string {
		return h.must(201, "POST", "/api/v1/commitments", commitment(county, kind, v, unit, "2024-01-01", due)).str("id")
	}
	a := mk("532301", "land", "300", "mu", "2025-12-31")           // partially fulfilled, overdue
	b := mk("532301", "subsidy", "1000000", "CNY", "2025-06-30")   // fulfilled on time
	c := mk("532301", "subsidy", "200000.50", "CNY", "2027-01-01") // open, not due
	d := mk("532301", "tax", "50000", "CNY", "2025-01-01")         // waived
	e := mk("532301", "fee", "8000", "CNY", "2025-03-01")          // fulfilled late, disputed
	mk("532322", "infrastructure", "2", "item", "2026-01-01")      // another county: open, overdue
	p := func(id, what string, body any) { h.must(201, "POST", "/api/v1/commitments/"+id+"/"+what, body) }
	p(a, "fulfillments", fulfilment("120.25", "mu", "2025-05-01"))
	p(b, "fulfillments", fulfilment("1000000", "CNY", "2025-06-30"))
	p(d, "waiver", map[string]any{"reason": "企业放弃", "approval": "批复"})
	p(e, "fulfillments", fulfilment("8000", "CNY", "2025-03-02"))
	p(e, "disputes", map[string]any{"complainant": "企业", "summary": "迟延兑现"})
	_ = c

	r := h.must(200, "GET", "/api/v1/counties", nil)
	counties := r.body["counties"].([]any)
	if len(counties) != 10 || r.body["as_of"] == nil {
		t.Fatalf("counties: %s", r.raw)
	}
	got := counties[0].(map[string]any)
	want := map[string]any{
		"code": "532301", "name": "楚雄市", "commitments": 5.0, "open": 2.0, "fulfilled": 2.0, "waived": 1.0, "cancelled": 0.0,
		"overdue": 1.0, "disputed": 1.0, "kept_on_time_rate": "0.3333", // b of {a, b, e}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if fmt.Sprint(got["outstanding"]) != "[map[unit:CNY value:200000.50] map[unit:mu value:179.75]]" ||
		fmt.Sprint(got["overdue_outstanding"]) != "[map[unit:mu value:179.75]]" {
		t.Errorf("outstanding %v overdue %v", got["outstanding"], got["overdue_outstanding"])
	}
	empty := counties[2].(map[string]any)
	if empty["commitments"] != 0.0 || empty["kept_on_time_rate"] != nil || fmt.Sprint(empty["outstanding"]) != "[]" {
		t.Errorf("a county with nothing: %v", empty)
	}
	detail := h.must(200, "GET", "/api/v1/counties/532301", nil)
	kinds := detail.body["by_kind"].([]any)
	if len(kinds) != 4 || kinds[2].(map[string]any)["kind"] != "subsidy" || kinds[2].(map[string]any)["commitments"] != 2.0 {
		t.Errorf("by kind: %v", kinds)
	}
	if depts := detail.body["by_department"].([]any); len(depts) != 1 || depts[0].(map[string]any)["commitments"] != 5.0 {
		t.Errorf("by department: %v", depts)
	}
}

// TestAPI_HealthAndReady: without a token, /healthz and /readyz say whether
// the ledger is alive and ready, why not when it is not, and nothing else:
// no counts.
func TestAPI_HealthAndReady(t *testing.T) {
	h := newHarness(t)
	h.must(201, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31"))
	anon := h.as("")
	if r := anon.must(http.StatusOK, "GET", "/healthz", nil); strings.TrimSpace(string(r.raw)) != `{"status":"ok"}` {
		t.Fatalf("healthz: %s", r.raw)
	}
	if r := anon.must(http.StatusOK, "GET", "/readyz", nil); strings.TrimSpace(string(r.raw)) != `{"ready":true}` {
		t.Fatalf("readyz: %s", r.raw)
	}

	// A ledger still reading its events: not ready, and why. Its metrics,
	// to a token that may read them, show how far it has got.
	view := projections.New(quiet()) // never run: never catches up
	srv := httptest.NewServer(api.New(ledger.New(h.store, view, events.DefaultJurisdiction(), h.clock.Now), projections.NewReads(h.store, view, events.DefaultJurisdiction(), h.clock.Now, nil), api.Config{Tokens: h.tokens, Log: quiet()}))
	defer srv.Close()
	starting := *anon
	starting.url = srv.URL
	r := starting.must(http.StatusServiceUnavailable, "GET", "/readyz", nil)
	if r.body["ready"] != false || r.str("problem") == "" || len(r.body) != 2 {
		t.Fatalf("readyz while starting: %s", r.raw)
	}
	if r := starting.do("GET", "/api/v1/counties", nil); r.status != http.StatusServiceUnavailable || r.errCode() != "not_ready" {
		t.Fatalf("the API while starting: %d %s", r.status, r.raw)
	}
	starting.auth = h.bearer["auditor"]
	if m := starting.must(http.StatusOK, "GET", "/metrics", nil); !strings.Contains(string(m.raw), `ledger_projection_applied_sequence{projection="commitments"} 0`) {
		t.Fatalf("metrics while starting:\n%s", grep(string(m.raw), "projection"))
	}
}

func TestAPI_Metrics(t *testing.T) {
	h := newHarness(t)
	c := h.must(201, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31"))
	h.must(404, "GET", "/api/v1/commitments/"+c.str("id")+"x", nil)
	r := h.must(200, "GET", "/metrics", nil)
	for _, want := range []string{
		`ledger_http_requests_total{method="POST",route="POST /api/v1/commitments",status="201"} 1`,
		`ledger_http_requests_total{method="GET",route="GET /api/v1/commitments/{id}",status="404"} 1`,
		`ledger_http_request_duration_seconds_count{route="POST /api/v1/commitments",status="201"} 1`,
		`ledger_projection_applied_sequence{projection="commitments"} 1`,
		`ledger_projection_events_applied_total{projection="commitments"} 1`,
		`ledger_projection_lag_events{projection="commitments"} 0`,
		`ledger_projection_rebuild_seconds{projection="commitments"}`,
		`ledger_commitments{projection="commitments"} 1`,
	} {
		if !strings.Contains(string(r.raw), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
