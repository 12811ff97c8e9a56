package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestAPI_BadInputAppendsNothing sends every kind of bad input to every
// endpoint and checks the status, the error code, the field named, and that
// the stream did not grow.
func TestAPI_BadInputAppendsNothing(t *testing.T) {
	h := newHarness(t)

	// A commitment of 100 CNY with a fulfilment of 10, a reversed one, and a resolved dispute.
	c := h.must(201, "POST", "/api/v1/commitments", commitment("532301", "subsidy", "100", "CNY", "2024-01-10", "2025-06-30"))
	id := c.str("id")
	base := "/api/v1/commitments/" + id
	f := h.must(201, "POST", base+"/fulfillments", fulfilment("10", "CNY", "2024-03-01"))
	fulfilled := f.body["fulfillments"].([]any)[0].(map[string]any)["id"].(string)
	r := h.must(201, "POST", base+"/fulfillments", fulfilment("5", "CNY", "2024-03-02"))
	mistaken := r.body["fulfillments"].([]any)[1].(map[string]any)["id"].(string)
	h.must(201, "POST", base+"/reversals", map[string]any{"fulfillment_id": mistaken, "reason": "录入错误"})
	d := h.must(201, "POST", base+"/disputes", map[string]any{"complainant": "某企业", "summary": "补贴未到位"})
	dispute := d.body["disputes"].([]any)[0].(map[string]any)["id"].(string)
	h.must(201, "POST", base+"/disputes/"+dispute+"/resolution", map[string]any{"outcome": "rejected", "note": "已核实"})
	version := `"6"`

	// A waived commitment and a fulfilled one.
	w := h.must(201, "POST", "/api/v1/commitments", commitment("532322", "land", "30", "mu", "2024-01-10", "2025-06-30"))
	waived := "/api/v1/commitments/" + w.str("id")
	h.must(201, "POST", waived+"/waiver", map[string]any{"reason": "企业放弃", "approval": "州投促局〔2025〕1号"})
	ff := h.must(201, "POST", "/api/v1/commitments", commitment("532322", "infrastructure", "1", "item", "2024-01-10", "2025-06-30"))
	full := "/api/v1/commitments/" + ff.str("id")
	h.must(201, "POST", full+"/fulfillments", fulfilment("1", "item", "2024-05-01"))

	with := func(key string, v any) map[string]any {
		b := commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31")
		switch parts := strings.Split(key, "."); len(parts) {
		case 1:
			if v == nil {
				delete(b, key)
			} else {
				b[key] = v
			}
		case 2:
			b[parts[0]].(map[string]any)[parts[1]] = v
		}
		return b
	}
	fulfil := func(key string, v any) map[string]any {
		b := fulfilment("1", "CNY", "2024-06-01")
		if q, ok := b["quantity"].(map[string]any); ok && strings.HasPrefix(key, "quantity.") {
			q[strings.TrimPrefix(key, "quantity.")] = v
			return b
		}
		if v == nil {
			delete(b, key)
		} else {
			b[key] = v
		}
		return b
	}
	approved := map[string]any{"reason": "规划调整", "approval": "州投促局〔2025〕2号"}
	const commitments = "/api/v1/commitments"
	unknown := "/api/v1/commitments/01930000-0000-7000-8000-000000000000"

	tests := []struct {
		name         string
		method, path string
		body         any
		headers      []string
		status       int
		code, field  string
	}{
		// The envelope of every POST.
		{"malformed JSON", "POST", commitments, `{"county":`, nil, 400, "invalid_json", ""},
		{"empty body", "POST", commitments, ``, nil, 400, "invalid_json", ""},
		{"array body", "POST", commitments, `[]`, nil, 400, "invalid_json", ""},
		{"two objects", "POST", commitments, `{} {}`, nil, 400, "invalid_json", ""},
		{"unknown field", "POST", commitments, with("colour", "red"), nil, 400, "unknown_field", "colour"},
		{"unknown nested field", "POST", commitments, with("investor.phone", "123"), nil, 400, "unknown_field", "investor.phone"},
		{"wrong type", "POST", commitments, with("county", 532301), nil, 400, "validation_failed", "county"},
		{"not JSON content type", "POST", commitments, with("", nil), []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", "Content-Type"},
		{"body too large", "POST", commitments, with("description", strings.Repeat("长", 40000)), nil, 413, "body_too_large", ""},
		{"idempotency key too long", "POST", commitments, with("", nil), []string{"Idempotency-Key", strings.Repeat("k", 300)}, 400, "validation_failed", "Idempotency-Key"},

		// POST /commitments: every field.
		{"county missing", "POST", commitments, with("county", nil), nil, 400, "validation_failed", "county"},
		{"county unknown", "POST", commitments, with("county", "110101"), nil, 400, "validation_failed", "county"},
		{"department missing", "POST", commitments, with("department", "  "), nil, 400, "validation_failed", "department"},
		{"department too long", "POST", commitments, with("department", strings.Repeat("局", 201)), nil, 400, "validation_failed", "department"},
		{"project missing", "POST", commitments, with("project", nil), nil, 400, "validation_failed", "project"},
		{"investor missing", "POST", commitments, with("investor", nil), nil, 400, "validation_failed", "investor.name"},
		{"investor name control character", "POST", commitments, with("investor.name", "a\x07b"), nil, 400, "validation_failed", "investor.name"},
		{"credit code missing", "POST", commitments, with("investor.credit_code", ""), nil, 400, "validation_failed", "investor.credit_code"},
		{"credit code wrong check", "POST", commitments, with("investor.credit_code", creditCode(1)[:17]+"0"), nil, 400, "validation_failed", "investor.credit_code"},
		{"credit code 17 characters", "POST", commitments, with("investor.credit_code", creditCode(1)[:17]), nil, 400, "validation_failed", "investor.credit_code"},
		{"credit code with O", "POST", commitments, with("investor.credit_code", "91532301MO6000001X"), nil, 400, "validation_failed", "investor.credit_code"},
		{"kind unknown", "POST", commitments, with("kind", "gift"), nil, 400, "validation_failed", "kind"},
		{"description missing", "POST", commitments, with("description", ""), nil, 400, "validation_failed", "description"},
		{"quantity missing", "POST", commitments, with("quantity", nil), nil, 400, "validation_failed", "quantity"},
		{"unit missing", "POST", commitments, with("quantity.unit", ""), nil, 400, "validation_failed", "quantity.unit"},
		{"unit unknown", "POST", commitments, with("quantity.unit", "USD"), nil, 400, "validation_failed", "quantity.unit"},
		{"value missing", "POST", commitments, with("quantity.value", nil), nil, 400, "validation_failed", "quantity.value"},
		{"value not a number", "POST", commitments, with("quantity.value", "三百"), nil, 400, "validation_failed", "quantity.value"},
		{"value zero", "POST", commitments, with("quantity.value", "0"), nil, 400, "validation_failed", "quantity.value"},
		{"value negative", "POST", commitments, with("quantity.value", -5), nil, 400, "validation_failed", "quantity.value"},
		{"mu with 5 decimals", "POST", commitments, with("quantity.value", "1.00001"), nil, 400, "validation_failed", "quantity.value"},
		{"number not exact in unit", "POST", commitments, with("quantity.value", 0.00001), nil, 400, "validation_failed", "quantity.value"},
		{"made_on missing", "POST", commitments, with("made_on", nil), nil, 400, "validation_failed", "made_on"},
		{"made_on not a date", "POST", commitments, with("made_on", "2020-02-30"), nil, 400, "validation_failed", "made_on"},
		{"made_on in the future", "POST", commitments, with("made_on", "2027-01-01"), nil, 400, "validation_failed", "made_on"},
		{"due missing", "POST", commitments, with("due", ""), nil, 400, "validation_failed", "due"},
		{"due before made_on", "POST", commitments, with("due", "2020-03-14"), nil, 400, "validation_failed", "due"},
		{"due as an instant", "POST", commitments, with("due", "2020-12-31T00:00:00Z"), nil, 400, "validation_failed", "due"},
		{"reference too long", "POST", commitments, with("reference", strings.Repeat("号", 201)), nil, 400, "validation_failed", "reference"},

		// Fulfilments.
		{"fulfil unknown commitment", "POST", unknown + "/fulfillments", fulfil("", nil), nil, 404, "not_found", ""},
		{"fulfil malformed id", "POST", commitments + "/not-an-id/fulfillments", fulfil("", nil), nil, 404, "not_found", ""},
		{"fulfil in another unit", "POST", base + "/fulfillments", fulfil("quantity.unit", "mu"), nil, 400, "validation_failed", "quantity.unit"},
		{"fulfil three decimals of CNY", "POST", base + "/fulfillments", fulfil("quantity.value", "1.005"), nil, 400, "validation_failed", "quantity.value"},
		{"fulfil nothing", "POST", base + "/fulfillments", fulfil("quantity.value", "0.00"), nil, 400, "validation_failed", "quantity.value"},
		{"fulfilled_on missing", "POST", base + "/fulfillments", fulfil("fulfilled_on", nil), nil, 400, "validation_failed", "fulfilled_on"},
		{"fulfilled_on before made_on", "POST", base + "/fulfillments", fulfil("fulfilled_on", "2024-01-09"), nil, 400, "validation_failed", "fulfilled_on"},
		{"fulfilled_on in the future", "POST", base + "/fulfillments", fulfil("fulfilled_on", "2026-11-28"), nil, 400, "validation_failed", "fulfilled_on"},
		{"evidence missing", "POST", base + "/fulfillments", fulfil("evidence", nil), nil, 400, "validation_failed", "evidence"},
		{"fulfil more than outstanding", "POST", base + "/fulfillments", fulfil("quantity.value", "90.01"), nil, 409, "exceeds_outstanding", "quantity.value"},
		{"fulfil a fulfilled commitment", "POST", full + "/fulfillments", fulfilment("1", "item", "2024-06-01"), nil, 409, "exceeds_outstanding", "quantity.value"},
		{"fulfil a waived commitment", "POST", waived + "/fulfillments", fulfilment("1", "mu", "2024-06-01"), nil, 409, "invalid_state", ""},
		{"stale If-Match", "POST", base + "/fulfillments", fulfil("", nil), []string{"If-Match", `"2"`}, 412, "version_mismatch", "If-Match"},
		{"malformed If-Match", "POST", base + "/fulfillments", fulfil("", nil), []string{"If-Match", "yesterday"}, 400, "validation_failed", "If-Match"},

		// Reversals.
		{"reversal without fulfilment id", "POST", base + "/reversals", map[string]any{"reason": "x"}, nil, 400, "validation_failed", "fulfillment_id"},
		{"reversal without reason", "POST", base + "/reversals", map[string]any{"fulfillment_id": fulfilled}, nil, 400, "validation_failed", "reason"},
		{"reversal of an unknown fulfilment", "POST", base + "/reversals", map[string]any{"fulfillment_id": dispute, "reason": "x"}, nil, 404, "not_found", "fulfillment_id"},
		{"reversal twice", "POST", base + "/reversals", map[string]any{"fulfillment_id": mistaken, "reason": "x"}, nil, 409, "invalid_state", "fulfillment_id"},
		{"reversal on a waived commitment", "POST", waived + "/reversals", map[string]any{"fulfillment_id": fulfilled, "reason": "x"}, nil, 409, "invalid_state", ""},

		// Amendments.
		{"amendment of nothing", "POST", base + "/amendments", approved, nil, 400, "validation_failed", ""},
		{"amendment due not a date", "POST", base + "/amendments", map[string]any{"due": "明年", "reason": "x", "approval": "y"}, nil, 400, "validation_failed", "due"},
		{"amendment due before made_on", "POST", base + "/amendments", map[string]any{"due": "2023-12-31", "reason": "x", "approval": "y"}, nil, 400, "validation_failed", "due"},
		{"amendment below fulfilled", "POST", base + "/amendments", map[string]any{"quantity": map[string]any{"value": "9.99", "unit": "CNY"}, "reason": "x", "approval": "y"}, nil, 409, "invalid_state", "quantity.value"},
		{"amendment in another unit", "POST", base + "/amendments", map[string]any{"quantity": map[string]any{"value": "200", "unit": "mu"}, "reason": "x", "approval": "y"}, nil, 400, "validation_failed", "quantity.unit"},
		{"amendment without reason", "POST", base + "/amendments", map[string]any{"due": "2027-06-30", "approval": "y"}, nil, 400, "validation_failed", "reason"},
		{"amendment without approval", "POST", base + "/amendments", map[string]any{"due": "2027-06-30", "reason": "x"}, nil, 400, "validation_failed", "approval"},
		{"amendment of a waived commitment", "POST", waived + "/amendments", map[string]any{"due": "2027-06-30", "reason": "x", "approval": "y"}, nil, 409, "invalid_state", ""},

		// Waivers and cancellations.
		{"waiver without reason", "POST", base + "/waiver", map[string]any{"approval": "y"}, nil, 400, "validation_failed", "reason"},
		{"waiver without approval", "POST", base + "/waiver", map[string]any{"reason": "x"}, nil, 400, "validation_failed", "approval"},
		{"waiver twice", "POST", waived + "/waiver", approved, nil, 409, "invalid_state", ""},
		{"waiver of a fulfilled commitment", "POST", full + "/waiver", approved, nil, 409, "invalid_state", ""},
		{"cancellation without reason", "POST", base + "/cancellation", map[string]any{"approval": "y"}, nil, 400, "validation_failed", "reason"},
		{"cancellation of a waived commitment", "POST", waived + "/cancellation", approved, nil, 409, "invalid_state", ""},
		{"cancellation of a fulfilled commitment", "POST", full + "/cancellation", approved, nil, 409, "invalid_state", ""},

		// Disputes and their resolution.
		{"dispute without complainant", "POST", base + "/disputes", map[string]any{"summary": "x"}, nil, 400, "validation_failed", "complainant"},
		{"dispute without summary", "POST", base + "/disputes", map[string]any{"complainant": "x"}, nil, 400, "validation_failed", "summary"},
		{"resolution with a bad outcome", "POST", base + "/disputes/" + dispute + "/resolution", map[string]any{"outcome": "maybe"}, nil, 400, "validation_failed", "outcome"},
		{"resolution of an unknown dispute", "POST", base + "/disputes/" + fulfilled + "/resolution", map[string]any{"outcome": "upheld"}, nil, 404, "not_found", "dispute_id"},
		{"resolution twice", "POST", base + "/disputes/" + dispute + "/resolution", map[string]any{"outcome": "upheld"}, nil, 409, "invalid_state", "dispute_id"},

		// Supervision orders.
		{"order without deadline", "POST", base + "/supervision-orders", map[string]any{"note": "x"}, nil, 400, "validation_failed", "deadline"},
		{"order with a past deadline", "POST", base + "/supervision-orders", map[string]any{"deadline": "2026-11-26"}, nil, 400, "validation_failed", "deadline"},
		{"order on a waived commitment", "POST", waived + "/supervision-orders", map[string]any{"deadline": "2027-03-31"}, nil, 409, "invalid_state", ""},
		{"order on a fulfilled commitment", "POST", full + "/supervision-orders", map[string]any{"deadline": "2027-03-31"}, nil, 409, "invalid_state", ""},

		// Reads.
		{"get unknown", "GET", unknown, nil, nil, 404, "not_found", ""},
		{"get malformed id", "GET", commitments + "/x", nil, nil, 404, "not_found", ""},
		{"get bad as_of", "GET", base + "?as_of=yesterday", nil, nil, 400, "validation_failed", "as_of"},
		{"history unknown", "GET", unknown + "/history", nil, nil, 404, "not_found", ""},
		{"list bad limit", "GET", commitments + "?limit=0", nil, nil, 400, "validation_failed", "limit"},
		{"list limit too high", "GET", commitments + "?limit=501", nil, nil, 400, "validation_failed", "limit"},
		{"list bad kind", "GET", commitments + "?kind=gift", nil, nil, 400, "validation_failed", "kind"},
		{"list bad status", "GET", commitments + "?status=late", nil, nil, 400, "validation_failed", "status"},
		{"list bad county", "GET", commitments + "?county=110101", nil, nil, 400, "validation_failed", "county"},
		{"list bad overdue", "GET", commitments + "?overdue=maybe", nil, nil, 400, "validation_failed", "overdue"},
		{"list bad cursor", "GET", commitments + "?cursor=abc", nil, nil, 400, "validation_failed", "cursor"},
		{"unknown county", "GET", "/api/v1/counties/110101", nil, nil, 404, "not_found", ""},
		{"counties bad as_of", "GET", "/api/v1/counties?as_of=2020-13-01", nil, nil, 400, "validation_failed", "as_of"},
		{"no such endpoint", "GET", "/api/v1/promises", nil, nil, 404, "not_found", ""},
	}
	before := h.events()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hh := *h
			hh.t = t
			r := hh.do(tt.method, tt.path, tt.body, tt.headers...)
			if r.status != tt.status || r.errCode() != tt.code || r.errField() != tt.field {
				t.Errorf("got %d %s field %q, want %d %s field %q: %s", r.status, r.errCode(), r.errField(), tt.status, tt.code, tt.field, r.raw)
			}
			if msg, _ := r.body["error"].(map[string]any)["message"].(string); msg == "" {
				t.Errorf("no message: %s", r.raw)
			}
			if got := hh.events(); got != before {
				t.Fatalf("stream grew from %d to %d events on a refused request", before, got)
			}
		})
	}
	// The commitment is as it was.
	got := h.must(http.StatusOK, "GET", base, nil)
	if got.header.Get("ETag") != version || got.str("status") != "partially_fulfilled" {
		t.Fatalf("commitment changed: %s %s", got.header.Get("ETag"), got.raw)
	}
}
