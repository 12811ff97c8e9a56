package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// The supervision loop (交办 → 签收 → 反馈 → 申请销号 → 销号/退回) and
// extension requests, with the traffic light.
func TestLoop_OrderAndExtensionRequests(t *testing.T) {
	h := newHarness(t)
	county := h.as("county-532301")
	id := county.must(http.StatusCreated, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2027-06-30")).str("id")
	base := "/api/v1/commitments/" + id
	if l := county.must(http.StatusOK, "GET", base, nil).str("light"); l != "green" {
		t.Fatalf("light before anything: %s", l)
	}
	r := h.must(http.StatusCreated, "POST", base+"/supervision-orders", map[string]any{"deadline": "2027-03-31", "note": "限期完成供地"})
	order := r.body["supervision_orders"].([]any)[0].(map[string]any)
	oid := order["id"].(string)
	if order["state"] != "issued" {
		t.Fatalf("a new order: %v", order)
	}
	ob := base + "/supervision-orders/" + oid
	state := func() string {
		o := county.must(http.StatusOK, "GET", base, nil).body["supervision_orders"].([]any)[0].(map[string]any)
		return o["state"].(string)
	}
	// Out of order: no closure before it is signed for; a county may not close.
	if r := county.do("POST", ob+"/closure-request", map[string]any{"evidence": "供地合同"}); r.status != http.StatusConflict {
		t.Fatalf("closure asked before signing for: %d %s", r.status, r.raw)
	}
	county.must(http.StatusCreated, "POST", ob+"/acknowledgement", map[string]any{"note": "已签收"})
	if state() != "acknowledged" {
		t.Fatalf("after signing for: %s", state())
	}
	if r := county.do("POST", ob+"/acknowledgement", map[string]any{}); r.status != http.StatusConflict {
		t.Fatalf("signing for twice: %d", r.status)
	}
	county.must(http.StatusCreated, "POST", ob+"/progress", map[string]any{"note": "已完成土地征收", "evidence": "征收公告"})
	county.must(http.StatusCreated, "POST", ob+"/closure-request", map[string]any{"note": "已供地", "evidence": "国有建设用地使用权出让合同"})
	if r := county.do("POST", ob+"/closure", map[string]any{"outcome": "closed"}); r.status != http.StatusForbidden {
		t.Fatalf("a county closing its own order: %d", r.status)
	}
	h.must(http.StatusCreated, "POST", ob+"/closure", map[string]any{"outcome": "returned", "note": "证明材料不全"})
	if state() != "returned" {
		t.Fatalf("after a return: %s", state())
	}
	county.must(http.StatusCreated, "POST", ob+"/closure-request", map[string]any{"evidence": "补充：不动产权证书"})
	h.must(http.StatusCreated, "POST", ob+"/closure", map[string]any{"outcome": "closed"})
	o := county.must(http.StatusOK, "GET", base, nil).body["supervision_orders"].([]any)[0].(map[string]any)
	if o["state"] != "closed" || len(o["trail"].([]any)) != 6 {
		t.Fatalf("the closed order: %v", o)
	}
	if r := county.do("POST", ob+"/progress", map[string]any{"note": "x"}); r.status != http.StatusConflict {
		t.Fatalf("a step on a closed order: %d", r.status)
	}
	if r := county.do("POST", base+"/supervision-orders/nope/acknowledgement", map[string]any{}); r.status != http.StatusNotFound || r.errField() != "order_id" {
		t.Fatalf("an unknown order: %d %s", r.status, r.raw)
	}

	// An extension request rejected, then one approved (the due date moves).
	rq := county.must(http.StatusCreated, "POST", base+"/extension-requests", map[string]any{"due": "2027-12-31", "reason": "征地拆迁延误"})
	reqs := rq.body["extension_requests"].([]any)
	if reqs[0].(map[string]any)["state"] != "pending" || rq.str("light") != "yellow" {
		t.Fatalf("a pending request: %v, light %s", reqs, rq.str("light"))
	}
	if r := county.do("POST", base+"/extension-requests", map[string]any{"due": "2028-01-31", "reason": "再次"}); r.status != http.StatusConflict {
		t.Fatalf("a second request while one is pending: %d", r.status)
	}
	first := reqs[0].(map[string]any)["id"].(string)
	if r := county.do("POST", base+"/extension-requests/"+first+"/decision", map[string]any{"outcome": "approved", "approval": "x"}); r.status != http.StatusForbidden {
		t.Fatalf("a county deciding: %d", r.status)
	}
	d := h.must(http.StatusCreated, "POST", base+"/extension-requests/"+first+"/decision", map[string]any{"outcome": "rejected", "approval": "州投资促进局"})
	if d.str("due") != "2027-06-30" || d.body["extension_requests"].([]any)[0].(map[string]any)["state"] != "rejected" {
		t.Fatalf("after a rejection: due %s, %v", d.str("due"), d.body["extension_requests"])
	}
	rq = county.must(http.StatusCreated, "POST", base+"/extension-requests", map[string]any{"due": "2027-09-30", "reason": "征地拆迁延误，调整方案"})
	second := rq.body["extension_requests"].([]any)[1].(map[string]any)["id"].(string)
	d = h.must(http.StatusCreated, "POST", base+"/extension-requests/"+second+"/decision", map[string]any{"outcome": "approved", "approval": "州投资促进局〔2026〕9号"})
	if d.str("due") != "2027-09-30" || d.str("original_due") != "2027-06-30" || len(d.body["extensions"].([]any)) != 1 {
		t.Fatalf("after an approval: due %s, original %s, extensions %v", d.str("due"), d.str("original_due"), d.body["extensions"])
	}
	if r := h.do("POST", base+"/extension-requests/"+second+"/decision", map[string]any{"outcome": "rejected", "approval": "x"}); r.status != http.StatusConflict {
		t.Fatalf("deciding twice: %d", r.status)
	}
	// Lights in the county view.
	c := h.must(http.StatusOK, "GET", "/api/v1/counties/532301", nil)
	if c.body["green"] != float64(1) || c.body["red"] != float64(0) {
		t.Fatalf("the county's lights: red %v yellow %v green %v", c.body["red"], c.body["yellow"], c.body["green"])
	}
}

// The bulletin lists each overdue promise's open orders and where they stand.
func TestLoop_BulletinListsOpenOrders(t *testing.T) {
	h := newHarness(t)
	id := h.must(http.StatusCreated, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31")).str("id")
	h.must(http.StatusCreated, "POST", "/api/v1/commitments/"+id+"/supervision-orders", map[string]any{"deadline": "2027-03-31"})
	md := string(h.must(http.StatusOK, "GET", "/api/v1/reports/overdue?format=md", nil).raw)
	if !strings.Contains(md, "| 督办 |") || !strings.Contains(md, "2027-03-31（已交办未签收）") {
		t.Fatalf("the bulletin:\n%s", md)
	}
	en := string(h.must(http.StatusOK, "GET", "/api/v1/reports/overdue?format=md&lang=en", nil).raw)
	if !strings.Contains(en, "2027-03-31 (issued, not signed for)") {
		t.Fatalf("the English bulletin:\n%s", en)
	}
}

// An approval never moves a due date earlier, nor acts on a released entry;
// a closed order's deadline escalates nothing.
func TestLoop_ApprovalRules(t *testing.T) {
	h := newHarness(t)
	county := h.as("county-532301")
	id := county.must(http.StatusCreated, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2027-06-30")).str("id")
	base := "/api/v1/commitments/" + id
	rq := county.must(http.StatusCreated, "POST", base+"/extension-requests", map[string]any{"due": "2027-09-30", "reason": "延误"})
	req := rq.body["extension_requests"].([]any)[0].(map[string]any)["id"].(string)
	// Meanwhile an amendment moves the due date past the one asked.
	h.must(http.StatusCreated, "POST", base+"/amendments", map[string]any{"due": "2027-12-31", "reason": "调整", "approval": "批复"})
	before := h.events()
	if r := h.do("POST", base+"/extension-requests/"+req+"/decision", map[string]any{"outcome": "approved", "approval": "批复"}); r.status != http.StatusConflict {
		t.Fatalf("approving a date earlier than the one in force: %d %s", r.status, r.raw)
	}
	if h.events() != before {
		t.Fatal("a refused approval appended an event")
	}
	h.must(http.StatusCreated, "POST", base+"/extension-requests/"+req+"/decision", map[string]any{"outcome": "rejected", "approval": "批复"})
	rq = county.must(http.StatusCreated, "POST", base+"/extension-requests", map[string]any{"due": "2028-06-30", "reason": "再次"})
	req2 := rq.body["extension_requests"].([]any)[1].(map[string]any)["id"].(string)
	h.must(http.StatusCreated, "POST", base+"/voiding", map[string]any{"reason": "重复录入", "approval": "批复"})
	if r := h.do("POST", base+"/extension-requests/"+req2+"/decision", map[string]any{"outcome": "approved", "approval": "批复"}); r.status != http.StatusConflict {
		t.Fatalf("approving on a void entry: %d %s", r.status, r.raw)
	}
}
