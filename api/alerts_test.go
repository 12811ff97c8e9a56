package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"promiseledger/alerts"
	"promiseledger/events"
	"promiseledger/jsstore"
)

// day sets the test clock to noon of a date in Chuxiong.
func (h *harness) day(d string) {
	t, err := time.Parse("2006-01-02", d)
	if err != nil {
		h.t.Fatal(err)
	}
	h.clock.Set(t.Add(4 * time.Hour))
}

// evaluate runs the engine over every commitment, as its timer does.
func (h *harness) evaluate() {
	h.t.Helper()
	if err := h.engine.EvaluateAll(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

// messages is every message of the alerts stream, in order.
func (h *harness) messages() []alerts.Alert {
	h.t.Helper()
	var out []alerts.Alert
	last, err := h.alertStore.LastSequence(context.Background())
	if err != nil || last == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_ = h.alertStore.Follow(ctx, 0, func(a alerts.Alert) error {
		out = append(out, a)
		if a.Sequence >= last {
			cancel()
		}
		return nil
	})
	return out
}

// trail is "rule state" for each message of one commitment, in order.
func trail(msgs []alerts.Alert, commitmentID string) []string {
	var out []string
	for _, a := range msgs {
		if a.CommitmentID == commitmentID {
			out = append(out, string(a.Rule)+" "+string(a.State))
		}
	}
	return out
}

func noDuplicates(t *testing.T, msgs []alerts.Alert) {
	t.Helper()
	seen := map[string]bool{}
	for _, a := range msgs {
		k := a.ID + " " + string(a.State)
		if seen[k] {
			t.Fatalf("alert %s was %s twice", a.ID, a.State)
		}
		seen[k] = true
	}
}

func TestAlerts_RaisedOnceInOrderAndResolved(t *testing.T) {
	h := newHarness(t)
	h.day("2026-01-01")
	a := h.must(201, "POST", "/api/v1/commitments", commitment("532301", "subsidy", "100", "CNY", "2025-06-01", "2026-03-31")).str("id")
	b := h.must(201, "POST", "/api/v1/commitments", commitment("532322", "land", "50", "mu", "2025-06-01", "2026-03-31")).str("id")

	steps := []string{"2026-02-01", "2026-03-01", "2026-03-15", "2026-03-31", "2026-04-01", "2026-04-02", "2026-06-29", "2026-06-30", "2026-07-01", "2026-07-02"}
	for _, d := range steps {
		h.day(d)
		h.evaluate()
		h.evaluate() // a re-evaluation changes nothing
	}
	msgs := h.messages()
	noDuplicates(t, msgs)
	want := []string{"due_soon raised", "due_soon resolved", "overdue raised", "escalated raised"}
	for _, id := range []string{a, b} {
		if got := trail(msgs, id); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("commitment %s: %v, want %v", id, got, want)
		}
	}
	// Due on 31 March: due_soon from 1 March (30 days before), overdue from
	// 1 April, escalated after 90 days overdue (1 July is day 92... 30 June is day 91).
	for _, m := range msgs {
		if m.CommitmentID != a || m.State != alerts.Raised {
			continue
		}
		want := map[alerts.Rule]string{alerts.DueSoon: "2026-03-01", alerts.Overdue: "2026-04-01", alerts.Escalated: "2026-06-30"}[m.Rule]
		if m.On.String() != want {
			t.Errorf("%s raised on %s, want %s", m.Rule, m.On, want)
		}
	}

	// A fulfilment resolves them, at once (the engine reacts to the event).
	h.must(201, "POST", "/api/v1/commitments/"+a+"/fulfillments", fulfilment("100", "CNY", "2026-07-02"))
	waitFor(t, func() bool { return len(trail(h.messages(), a)) == 6 })
	if got := trail(h.messages(), a)[4:]; !(contains(got, "overdue resolved") && contains(got, "escalated resolved")) {
		t.Fatalf("after fulfilment: %v", got)
	}
	for _, m := range h.messages() {
		if m.CommitmentID == a && m.State == alerts.Resolved && m.Rule != alerts.DueSoon && m.Reason != "fulfilled" {
			t.Errorf("reason %q", m.Reason)
		}
	}

	// An extension resolves, and the new due date raises anew when it passes.
	h.must(201, "POST", "/api/v1/commitments/"+b+"/amendments", map[string]any{"due": "2026-12-31", "reason": "延期", "approval": "批复"})
	waitFor(t, func() bool { return len(trail(h.messages(), b)) == 6 })
	h.day("2027-01-01")
	h.evaluate()
	got := trail(h.messages(), b)
	want = []string{"due_soon raised", "due_soon resolved", "overdue raised", "escalated raised", "overdue resolved", "escalated resolved", "overdue raised"}
	if fmt.Sprint(sorted(got[4:6])) != fmt.Sprint(sorted(want[4:6])) || fmt.Sprint(got[:4]) != fmt.Sprint(want[:4]) || got[len(got)-1] != "overdue raised" {
		t.Fatalf("extension: %v", got)
	}
	// (due_soon for the new date came and went while the clock jumped: it was never true on an evaluated day.)
	noDuplicates(t, h.messages())
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition never held")
}

// TestAlerts_RestartAndSecondInstance: a fresh view and engine (a restart),
// and two engines at once (two instances), never raise an alert twice and
// miss none.
func TestAlerts_RestartAndSecondInstance(t *testing.T) {
	h := newHarness(t)
	h.day("2026-01-01")
	var ids []string
	for i := 0; i < 10; i++ {
		ids = append(ids, h.must(201, "POST", "/api/v1/commitments", commitment(events.Chuxiong[i].Code, "tax", "10", "CNY", "2025-01-01", "2026-02-15")).str("id"))
	}
	h.day("2026-02-01")
	h.evaluate()

	restart := func() (*alerts.Engine, func()) {
		v := alerts.NewView()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = v.Run(ctx, h.alertStore); close(done) }()
		for !v.Ready() {
			time.Sleep(time.Millisecond)
		}
		return alerts.NewEngine(alerts.DefaultConfig, events.DefaultJurisdiction(), commitmentsOf(h), h.alertStore, v, h.clock.Now, quiet()), func() { cancel(); <-done }
	}
	e1, stop1 := restart()
	defer stop1()
	if err := e1.EvaluateAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.day("2026-05-20") // overdue 94 days: overdue and escalated
	e2, stop2 := restart()
	defer stop2()
	var wg sync.WaitGroup
	for _, e := range []*alerts.Engine{e1, e2, h.engine} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = e.EvaluateAll(context.Background()) }()
	}
	wg.Wait()
	msgs := h.messages()
	noDuplicates(t, msgs)
	for _, id := range ids {
		if got := trail(msgs, id); fmt.Sprint(got) != "[due_soon raised due_soon resolved overdue raised escalated raised]" {
			t.Fatalf("%s: %v", id, got)
		}
	}
}

// commitmentsOf is the harness's projection, as the engine reads it.
func commitmentsOf(h *harness) alerts.Commitments { return h.engineCommitments }

func TestAlerts_WebhookGetsEveryAlertOnce(t *testing.T) {
	h := newHarness(t)
	secret := []byte("a-signing-key-for-tests")
	var mu sync.Mutex
	accepted := map[string]int{}
	var order []string
	refusals := 0
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !alerts.Verify(secret, r.Header.Get(alerts.HeaderTimestamp), body, r.Header.Get(alerts.HeaderSignature)) {
			t.Errorf("bad signature")
			w.WriteHeader(400)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if refusals < 5 { // down for a while
			refusals++
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var a alerts.Alert
		_ = json.Unmarshal(body, &a)
		accepted[a.ID+" "+string(a.State)]++
		order = append(order, a.ID+" "+string(a.State))
	}))
	defer recv.Close()

	h.day("2026-01-01")
	for i := 0; i < 3; i++ {
		h.must(201, "POST", "/api/v1/commitments", commitment("532301", "fee", "10", "CNY", "2025-01-01", "2026-01-20"))
	}
	h.day("2026-01-10")
	h.evaluate()
	h.day("2026-01-21")
	h.evaluate()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sender := alerts.Sender{Client: recv.Client(), Secret: secret, Now: time.Now}
	go func() {
		_ = h.alertStore.Deliver(ctx, recv.URL, "test receiver", jsstore.Subjects(nil, nil), alerts.Backoff(20*time.Millisecond, 100*time.Millisecond),
			func(a alerts.Alert) error { return sender.Send(ctx, recv.URL, a) })
	}()
	all := h.messages()
	if len(all) != 9 { // 3 × (due_soon raised, resolved, overdue raised)
		t.Fatalf("%d alert messages", len(all))
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == len(all) })
	mu.Lock()
	defer mu.Unlock()
	for i, a := range all {
		k := a.ID + " " + string(a.State)
		if accepted[k] != 1 || order[i] != k {
			t.Fatalf("alert %s delivered %d times (position %d: %s)", k, accepted[k], i, order[i])
		}
	}
	if refusals != 5 {
		t.Fatalf("receiver refused %d times", refusals)
	}
}

// sse reads events from the alert stream until it has n or the time is up.
func sse(t *testing.T, h *harness, lastEventID string, n int) (ids []string, data []alerts.Alert) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.url+"/api/v1/alerts/stream", nil)
	req.Header.Set("Authorization", "Bearer "+h.auth)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(res.Body)
	var id string
	for len(ids) < n && sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			var a alerts.Alert
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &a); err != nil {
				t.Fatal(err)
			}
			ids, data = append(ids, id), append(data, a)
		}
	}
	return ids, data
}

func TestAlerts_EventStreamResumesWithLastEventID(t *testing.T) {
	h := newHarness(t)
	h.day("2026-01-01")
	for i := 0; i < 4; i++ {
		h.must(201, "POST", "/api/v1/commitments", commitment("532301", "fee", "10", "CNY", "2025-01-01", fmt.Sprintf("2026-01-%02d", 10+i)))
	}
	h.day("2026-01-05")
	h.evaluate() // 4 due_soon
	ids, first := sse(t, h, "", 4)
	if len(first) != 4 {
		t.Fatalf("first connection got %d", len(first))
	}
	// Disconnected after the second; meanwhile more alerts arrive.
	h.day("2026-01-12")
	h.evaluate() // 2 due_soon resolved, 2 overdue raised
	all := h.messages()
	ids2, missed := sse(t, h, ids[1], len(all)-2)
	if len(missed) != len(all)-2 {
		t.Fatalf("after reconnecting: %d, want %d", len(missed), len(all)-2)
	}
	for i, a := range missed {
		if a.Sequence != all[i+2].Sequence || ids2[i] != fmt.Sprint(a.Sequence) {
			t.Fatalf("event %d: %d (id %s), want %d", i, a.Sequence, ids2[i], all[i+2].Sequence)
		}
	}
	// A county office hears only its own county, and only its rules.
	other := h.as("county-532322")
	if got := other.must(200, "GET", "/api/v1/alerts", nil).body["alerts"].([]any); len(got) != 0 {
		t.Fatalf("another county's alerts: %v", got)
	}
	own := h.as("county-532301").must(200, "GET", "/api/v1/alerts?state=open", nil).body["alerts"].([]any)
	if len(own) != 4 {
		t.Fatalf("own open alerts: %d", len(own))
	}
}

func TestAlerts_OverdueBulletin(t *testing.T) {
	h := newHarness(t)
	h.day("2026-01-01")
	a := commitment("532301", "land", "300", "mu", "2025-01-01", "2025-06-30")
	a["project"] = "年产10GW单晶硅棒项目"
	h.must(201, "POST", "/api/v1/commitments", a)
	h.must(201, "POST", "/api/v1/commitments", commitment("532301", "subsidy", "1000000", "CNY", "2025-01-01", "2025-12-01"))
	h.must(201, "POST", "/api/v1/commitments", commitment("532331", "tax", "50000", "CNY", "2025-01-01", "2025-11-01"))
	h.must(201, "POST", "/api/v1/commitments", commitment("532331", "tax", "50000", "CNY", "2025-01-01", "2026-11-01")) // not due

	j := h.must(200, "GET", "/api/v1/reports/overdue?as_of=2026-01-01", nil)
	counties := j.body["counties"].([]any)
	first := counties[0].(map[string]any)["commitments"].([]any)
	if len(first) != 2 || first[0].(map[string]any)["days_overdue"] != 185.0 || first[1].(map[string]any)["days_overdue"] != 31.0 {
		t.Fatalf("楚雄市, longest overdue first: %v", first)
	}
	md := string(h.must(200, "GET", "/api/v1/reports/overdue?as_of=2026-01-01&format=md", nil).raw)
	for _, want := range []string{"# 招商引资承诺逾期未兑现情况通报", "截至 2026-01-01", "共 2 个县市区、3 项承诺逾期未兑现。", "## 楚雄市（532301）：逾期 2 项", "| 1 | 185 | 年产10GW单晶硅棒项目 |", "300 亩", "## 禄丰市（532331）：逾期 1 项"} {
		if !strings.Contains(md, want) {
			t.Errorf("bulletin lacks %q:\n%s", want, md)
		}
	}
	en := string(h.must(200, "GET", "/api/v1/reports/overdue?as_of=2026-01-01&format=md&lang=en", nil).raw)
	if !strings.Contains(en, "Bulletin of overdue incentive commitments") {
		t.Errorf("English bulletin:\n%s", en)
	}
	csv := string(h.must(200, "GET", "/api/v1/reports/overdue?as_of=2026-01-01&format=csv", nil).raw)
	if lines := strings.Split(strings.TrimSpace(csv), "\n"); len(lines) != 4 || !strings.HasPrefix(lines[0], "\ufeff县市区代码,") {
		t.Errorf("csv:\n%s", csv)
	}
	// A county office's bulletin is its own county's.
	own := h.as("county-532331").must(200, "GET", "/api/v1/reports/overdue", nil).body["counties"].([]any)
	if len(own) != 1 || own[0].(map[string]any)["code"] != "532331" {
		t.Fatalf("county bulletin: %v", own)
	}
	for _, bad := range []string{"format=pdf", "lang=fr", "as_of=yesterday"} {
		if r := h.do("GET", "/api/v1/reports/overdue?"+bad, nil); r.status != 400 {
			t.Errorf("%s: %d", bad, r.status)
		}
	}
}

// TestAlerts_RaisedAgainWhenTrueAgain: a promise fulfilled, then the
// fulfilment reversed, is overdue again, and is alerted again, under a new id.
func TestAlerts_RaisedAgainWhenTrueAgain(t *testing.T) {
	h := newHarness(t)
	h.day("2026-01-01")
	c := h.must(201, "POST", "/api/v1/commitments", commitment("532301", "fee", "10", "CNY", "2025-01-01", "2025-12-01")).str("id")
	h.evaluate()
	f := h.must(201, "POST", "/api/v1/commitments/"+c+"/fulfillments", fulfilment("10", "CNY", "2025-12-20"))
	waitFor(t, func() bool { return len(trail(h.messages(), c)) == 2 })
	h.must(201, "POST", "/api/v1/commitments/"+c+"/reversals", map[string]any{"fulfillment_id": f.body["fulfillments"].([]any)[0].(map[string]any)["id"], "reason": "银行退票"})
	waitFor(t, func() bool { return len(trail(h.messages(), c)) == 3 })
	h.evaluate()
	msgs := h.messages()
	noDuplicates(t, msgs)
	if got := trail(msgs, c); fmt.Sprint(got) != "[overdue raised overdue resolved overdue raised]" {
		t.Fatalf("%v", got)
	}
	if msgs[0].Key != msgs[2].Key || msgs[0].ID == msgs[2].ID || msgs[2].Generation != 2 {
		t.Fatalf("the second raise: key %s id %s generation %d", msgs[2].Key, msgs[2].ID, msgs[2].Generation)
	}
	open := h.must(200, "GET", "/api/v1/alerts?state=open", nil).body["alerts"].([]any)
	if len(open) != 1 || open[0].(map[string]any)["id"] != msgs[2].ID {
		t.Fatalf("open alerts: %v", open)
	}
}
