package api_test

import (
	"net/http"
	"testing"
)

// An extension approved long after a promise was late does not make it look
// as if it was never late: the original due date and the extension (with
// how late it was) are shown, it counts in extended_after_overdue, and it
// counts against kept_on_original_due_rate while kept_on_time_rate calls it
// kept.
func TestLateness_ExtensionAfterOverdueIsRemembered(t *testing.T) {
	h := newHarness(t)
	// Due 2025-10-22: on 2026-11-27 (the harness's today) it is 401 days late.
	id := h.must(http.StatusCreated, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2025-10-22")).str("id")
	r := h.must(http.StatusCreated, "POST", "/api/v1/commitments/"+id+"/amendments", map[string]any{"due": "2026-12-31", "reason": "延期", "approval": "批复"})
	if r.str("due") != "2026-12-31" || r.str("original_due") != "2025-10-22" {
		t.Fatalf("after the extension: due %s, original_due %s", r.str("due"), r.str("original_due"))
	}
	ext, _ := r.body["extensions"].([]any)
	if len(ext) != 1 {
		t.Fatalf("extensions: %v", r.body["extensions"])
	}
	x := ext[0].(map[string]any)
	if x["from"] != "2025-10-22" || x["to"] != "2026-12-31" || x["days_overdue"] != float64(401) || x["effective_on"] != "2026-11-27" {
		t.Fatalf("the extension: %v", x)
	}
	// Delivered on time for the new date, long after the first.
	h.must(http.StatusCreated, "POST", "/api/v1/commitments/"+id+"/fulfillments", fulfilment("300", "mu", "2026-11-20"))
	county := h.must(http.StatusOK, "GET", "/api/v1/counties/532301", nil)
	if county.body["extended_after_overdue"] != float64(1) {
		t.Errorf("extended_after_overdue: %v", county.body["extended_after_overdue"])
	}
	if county.body["kept_on_original_due_rate"] != "0.0000" {
		t.Errorf("kept_on_original_due_rate: %v, want 0.0000 (kept only after an extension)", county.body["kept_on_original_due_rate"])
	}
	// kept_on_time_rate judges on the current due date, not yet passed: no rate.
	if county.body["kept_on_time_rate"] != nil {
		t.Errorf("kept_on_time_rate: %v", county.body["kept_on_time_rate"])
	}
	// An extension granted before the due date is not late.
	early := h.must(http.StatusCreated, "POST", "/api/v1/commitments", commitment("532301", "land", "10", "mu", "2020-03-15", "2027-06-30")).str("id")
	r = h.must(http.StatusCreated, "POST", "/api/v1/commitments/"+early+"/amendments", map[string]any{"due": "2027-12-31", "reason": "延期", "approval": "批复"})
	if x := r.body["extensions"].([]any)[0].(map[string]any); x["days_overdue"] != float64(0) {
		t.Fatalf("an early extension: %v", x)
	}
	if c := h.must(http.StatusOK, "GET", "/api/v1/counties/532301", nil); c.body["extended_after_overdue"] != float64(1) {
		t.Errorf("extended_after_overdue after an early extension: %v", c.body["extended_after_overdue"])
	}
}
