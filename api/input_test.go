package api_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"testing"
)

// edgeCase is a request that must be refused, and how.
type edgeCase struct {
	name         string
	as           string // the principal sending it; "" is the supervisor
	method, path string
	body         any
	headers      []string
	status       int
	code, field  string
}

// refuseAll sends each request and checks its status, error code and field,
// that it has a message, and that the stream did not grow.
func refuseAll(t *testing.T, h *harness, tests []edgeCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hh := *h
			if tt.as != "" {
				hh = *h.as(tt.as)
			}
			hh.t = t
			before := hh.events()
			r := hh.do(tt.method, tt.path, tt.body, tt.headers...)
			if r.status != tt.status || r.errCode() != tt.code || r.errField() != tt.field {
				t.Errorf("got %d %s field %q, want %d %s field %q: %s", r.status, r.errCode(), r.errField(), tt.status, tt.code, tt.field, r.raw)
			}
			if r.errMessage() == "" {
				t.Errorf("no message: %s", r.raw)
			}
			if got := hh.events(); got != before {
				t.Fatalf("stream grew from %d to %d events on a refused request", before, got)
			}
		})
	}
}

// raw marshals body and then puts raw bytes where the string "\x00" stood,
// to send what encoding/json would never write.
func raw(t *testing.T, body any, bad string) string {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	const mark = `\u0000`
	if !bytes.Contains(b, []byte(mark)) {
		t.Fatalf("no mark in %s", b)
	}
	return string(bytes.Replace(b, []byte(mark), []byte(bad), 1))
}

// TestAPI_InvalidUTF8 sends text that is not UTF-8 in each kind of field:
// encoding/json would store it as U+FFFD; the ledger refuses it and names
// the field.
func TestAPI_InvalidUTF8(t *testing.T) {
	h := newHarness(t)
	id := h.must(201, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31")).str("id")
	base := "/api/v1/commitments/" + id

	made := func(field, value string) map[string]any {
		c := commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31")
		if field == "investor.name" {
			c["investor"].(map[string]any)["name"] = value
		} else {
			c[field] = value
		}
		return c
	}
	evidence := fulfilment("1", "mu", "2020-10-01")
	evidence["evidence"] = "合同\x00"
	token := map[string]any{"name": "楚雄\x00", "role": "auditor"}

	refuseAll(t, h, []edgeCase{
		{"investor name", "", "POST", "/api/v1/commitments", raw(t, made("investor.name", "楚雄\x00某某"), "\xff"), nil, 400, "validation_failed", "investor.name"},
		{"description, a cut multibyte character", "", "POST", "/api/v1/commitments", raw(t, made("description", "保障\x00"), "\xe4\xbf"), nil, 400, "validation_failed", "description"},
		{"department, Latin-1", "", "POST", "/api/v1/commitments", raw(t, made("department", "caf\x00"), "\xe9"), nil, 400, "validation_failed", "department"},
		{"an overlong encoding", "", "POST", "/api/v1/commitments", raw(t, made("project", "\x00"), "\xc0\xaf"), nil, 400, "validation_failed", "project"},
		{"a surrogate encoded in UTF-8", "", "POST", "/api/v1/commitments", raw(t, made("reference", "\x00"), "\xed\xa0\x80"), nil, 400, "validation_failed", "reference"},
		{"a lone surrogate escape", "", "POST", "/api/v1/commitments", raw(t, made("description", "\x00"), `\ud800`), nil, 400, "validation_failed", "description"},
		{"evidence", "", "POST", base + "/fulfillments", raw(t, evidence, "\xff"), nil, 400, "validation_failed", "evidence"},
		{"token name", "admin", "POST", "/api/v1/tokens", raw(t, token, "\xfe"), nil, 400, "validation_failed", "name"},
		{"a member's name", "", "POST", "/api/v1/commitments", raw(t, map[string]any{"investor": map[string]any{"\x00": "x"}}, "\xff"), nil, 400, "validation_failed", "investor"},
		{"outside any string", "", "POST", "/api/v1/commitments", "{\"county\": 5\xff}", nil, 400, "invalid_json", ""},
		{"a high surrogate and another", "", "POST", "/api/v1/commitments", raw(t, made("description", "\x00"), `\ud83d\ud83d`), nil, 400, "validation_failed", "description"},
		{"a low surrogate first", "", "POST", "/api/v1/commitments", raw(t, made("description", "\x00"), `\ude00\ud83d`), nil, 400, "validation_failed", "description"},
		{"a whole body that is a string", "", "POST", "/api/v1/commitments", "\"\xff\"", nil, 400, "validation_failed", ""},
	})

	// A surrogate pair is one character, and an escaped backslash before
	// "ud800" is no escape: both are valid.
	for _, ok := range []string{`\ud83d\ude00`, `\\ud800`} {
		c := h.must(201, "POST", "/api/v1/commitments", raw(t, made("description", "保障\x00"), ok))
		var want string
		if err := json.Unmarshal([]byte(`"保障`+ok+`"`), &want); err != nil || c.str("description") != want {
			t.Errorf("%s: stored %q, want %q (%v)", ok, c.str("description"), want, err)
		}
	}
}

// TestAPI_BidiAndControlCharacters: every text field of every command, and
// a token's name, refuses the bidirectional overrides and isolates that can
// make text read as other text, and control characters: names and codes
// all of them, free text all but tab, line feed and carriage return.
func TestAPI_BidiAndControlCharacters(t *testing.T) {
	h := newHarness(t)
	c := h.must(201, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31"))
	base := "/api/v1/commitments/" + c.str("id")
	f := h.must(201, "POST", base+"/fulfillments", fulfilment("10", "mu", "2020-10-01"))
	fulfilled := f.body["fulfillments"].([]any)[0].(map[string]any)["id"].(string)
	d := h.must(201, "POST", base+"/disputes", map[string]any{"complainant": "某企业", "summary": "补贴未到位"})
	dispute := d.body["disputes"].([]any)[0].(map[string]any)["id"].(string)

	made := func(field, value string) map[string]any {
		b := commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31")
		if field == "investor.name" {
			b["investor"].(map[string]any)["name"] = value
		} else {
			b[field] = value
		}
		return b
	}
	with := func(b map[string]any, field, value string) map[string]any {
		out := map[string]any{}
		for k, v := range b {
			out[k] = v
		}
		out[field] = value
		return out
	}
	amend := map[string]any{"due": "2027-06-30", "reason": "规划调整", "approval": "州投促局〔2026〕9号"}
	release := map[string]any{"reason": "企业放弃", "approval": "州投促局〔2026〕1号"}
	const rlo, lri = "\u202e", "\u2066"
	const commitments = "/api/v1/commitments"
	refuseAll(t, h, []edgeCase{
		{"department, override", "", "POST", commitments, made("department", "自然资源局"+rlo), nil, 400, "validation_failed", "department"},
		{"department, line feed", "", "POST", commitments, made("department", "自然\n资源局"), nil, 400, "validation_failed", "department"},
		{"project, isolate", "", "POST", commitments, made("project", lri+"项目"), nil, 400, "validation_failed", "project"},
		{"project, tab", "", "POST", commitments, made("project", "项\t目"), nil, 400, "validation_failed", "project"},
		{"investor name, override", "", "POST", commitments, made("investor.name", "某某公司"+rlo+"gpj.exe"), nil, 400, "validation_failed", "investor.name"},
		{"investor name, carriage return", "", "POST", commitments, made("investor.name", "某某公司\r"), nil, 400, "validation_failed", "investor.name"},
		{"description, embedding", "", "POST", commitments, made("description", "保障\u202a用地"), nil, 400, "validation_failed", "description"},
		{"description, escape", "", "POST", commitments, made("description", "\x1b[2J保障用地"), nil, 400, "validation_failed", "description"},
		{"reference, pop isolate", "", "POST", commitments, made("reference", "17号\u2069"), nil, 400, "validation_failed", "reference"},
		{"reference, line feed", "", "POST", commitments, made("reference", "楚投促协\n17号"), nil, 400, "validation_failed", "reference"},
		{"evidence, isolate", "", "POST", base + "/fulfillments", with(fulfilment("1", "mu", "2020-10-02"), "evidence", "合同"+lri), nil, 400, "validation_failed", "evidence"},
		{"evidence, NUL", "", "POST", base + "/fulfillments", with(fulfilment("1", "mu", "2020-10-02"), "evidence", "合同\x00"), nil, 400, "validation_failed", "evidence"},
		{"reversal reason, override", "", "POST", base + "/reversals", map[string]any{"fulfillment_id": fulfilled, "reason": rlo + "录入错误"}, nil, 400, "validation_failed", "reason"},
		{"amendment reason, override", "", "POST", base + "/amendments", with(amend, "reason", "调整"+rlo), nil, 400, "validation_failed", "reason"},
		{"amendment approval, tab", "", "POST", base + "/amendments", with(amend, "approval", "州投促局\t9号"), nil, 400, "validation_failed", "approval"},
		{"waiver reason, isolate", "", "POST", base + "/waiver", with(release, "reason", lri), nil, 400, "validation_failed", "reason"},
		{"waiver approval, override", "", "POST", base + "/waiver", with(release, "approval", "批复"+rlo), nil, 400, "validation_failed", "approval"},
		{"cancellation approval, carriage return", "", "POST", base + "/cancellation", with(release, "approval", "批复\r\n"), nil, 400, "validation_failed", "approval"},
		{"complainant, line feed", "", "POST", base + "/disputes", map[string]any{"complainant": "某\n企业", "summary": "x"}, nil, 400, "validation_failed", "complainant"},
		{"complainant, override", "", "POST", base + "/disputes", map[string]any{"complainant": rlo + "某企业", "summary": "x"}, nil, 400, "validation_failed", "complainant"},
		{"dispute summary, isolate", "", "POST", base + "/disputes", map[string]any{"complainant": "某企业", "summary": "未到位" + lri}, nil, 400, "validation_failed", "summary"},
		{"resolution note, override", "", "POST", base + "/disputes/" + dispute + "/resolution", map[string]any{"outcome": "upheld", "note": rlo}, nil, 400, "validation_failed", "note"},
		{"supervision order note, bell", "", "POST", base + "/supervision-orders", map[string]any{"deadline": "2027-03-31", "note": "限期\x07"}, nil, 400, "validation_failed", "note"},
		{"supervision order note, isolate", "", "POST", base + "/supervision-orders", map[string]any{"deadline": "2027-03-31", "note": "\u2067限期"}, nil, 400, "validation_failed", "note"},
		{"token name, override", "admin", "POST", "/api/v1/tokens", map[string]any{"name": "楚雄市" + rlo + "局", "role": "auditor"}, nil, 400, "validation_failed", "name"},
		{"token name, line feed", "admin", "POST", "/api/v1/tokens", map[string]any{"name": "楚雄市\n投资促进局", "role": "auditor"}, nil, 400, "validation_failed", "name"},
	})

	// Free text keeps its lines, whichever line ends the client uses.
	b := made("description", "保障项目用地300亩：\r\n\t一期100亩\r\n\t二期200亩")
	if got := h.must(201, "POST", commitments, b).str("description"); got != b["description"] {
		t.Errorf("description stored as %q", got)
	}
	h.must(201, "POST", base+"/fulfillments", with(fulfilment("1", "mu", "2020-10-02"), "evidence", "合同\r\n发票"))
}

// TestAPI_IfMatch: If-Match as RFC 9110 has it. Only the strong entity tag
// the ledger gave ("1") matches; a weak tag never does in If-Match, nor a
// tag that only reads as the same number ("01", "+1"): those are 412, as a
// stale version is. A value that is not an entity tag at all is 400.
func TestAPI_IfMatch(t *testing.T) {
	h := newHarness(t)
	path := "/api/v1/commitments/" + h.must(201, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31")).str("id") + "/fulfillments"
	body := fulfilment("1", "mu", "2020-10-01")
	ifMatch := func(v string) []string { return []string{"If-Match", v} }

	refuseAll(t, h, []edgeCase{
		{"weak tag of the version", "", "POST", path, body, ifMatch(`W/"1"`), 412, "version_mismatch", "If-Match"},
		{"leading zero", "", "POST", path, body, ifMatch(`"01"`), 412, "version_mismatch", "If-Match"},
		{"plus sign", "", "POST", path, body, ifMatch(`"+1"`), 412, "version_mismatch", "If-Match"},
		{"empty tag", "", "POST", path, body, ifMatch(`""`), 412, "version_mismatch", "If-Match"},
		{"another version", "", "POST", path, body, ifMatch(`"2"`), 412, "version_mismatch", "If-Match"},
		{"list without the version", "", "POST", path, body, ifMatch(`"2", W/"1", "x"`), 412, "version_mismatch", "If-Match"},
		{"unquoted", "", "POST", path, body, ifMatch(`1`), 400, "validation_failed", "If-Match"},
		{"weak unquoted", "", "POST", path, body, ifMatch(`W/1`), 400, "validation_failed", "If-Match"},
		{"empty", "", "POST", path, body, ifMatch(``), 400, "validation_failed", "If-Match"},
		{"only commas", "", "POST", path, body, ifMatch(`, ,`), 400, "validation_failed", "If-Match"},
		{"lowercase weak", "", "POST", path, body, ifMatch(`w/"1"`), 400, "validation_failed", "If-Match"},
		{"unterminated", "", "POST", path, body, ifMatch(`"1`), 400, "validation_failed", "If-Match"},
		{"space inside", "", "POST", path, body, ifMatch(`"1 "`), 400, "validation_failed", "If-Match"},
		{"star in a list", "", "POST", path, body, ifMatch(`*, "1"`), 400, "validation_failed", "If-Match"},
		{"list missing a comma", "", "POST", path, body, ifMatch(`"2" "1"`), 400, "validation_failed", "If-Match"},
		{"a word", "", "POST", path, body, ifMatch(`yesterday`), 400, "validation_failed", "If-Match"},
	})

	for _, tt := range []struct{ ifMatch, etag string }{
		{`"1"`, `"2"`},             // the version's tag
		{`"9", W/"2", "2"`, `"3"`}, // a list holding it
		{` , "3",`, `"4"`},         // empty list elements are ignored
		{`*`, `"5"`},               // any current version
	} {
		r := h.do("POST", path, body, "If-Match", tt.ifMatch)
		if r.status != 201 || r.header.Get("ETag") != tt.etag {
			t.Errorf("If-Match %s: %d ETag %s, want 201 ETag %s: %s", tt.ifMatch, r.status, r.header.Get("ETag"), tt.etag, r.raw)
		}
	}

	// A retry is answered with its first result, though the version has moved on since.
	first := h.must(201, "POST", path, body, "If-Match", `"5"`, "Idempotency-Key", "if-match-retry")
	h.must(201, "POST", path, body)
	again := h.must(201, "POST", path, body, "If-Match", `"5"`, "Idempotency-Key", "if-match-retry")
	if string(again.raw) != string(first.raw) {
		t.Errorf("retry answered\n%s\nnot\n%s", again.raw, first.raw)
	}
}

// TestAPI_AsOfOffset: an instant whose offset has more than 23 hours or 59
// minutes (time.Parse takes +24:00) is not RFC 3339, and is refused.
func TestAPI_AsOfOffset(t *testing.T) {
	h := newHarness(t)
	base := "/api/v1/commitments/" + h.must(201, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31")).str("id")
	at := func(path, instant string) string { return path + "?as_of=" + url.QueryEscape(instant) }

	var tests []edgeCase
	for _, instant := range []string{"2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00-24:00", "2026-01-01T00:00:00+23:60", "2026-01-01T00:00:00+00:60", "2026-01-01T00:00:00+99:99"} {
		for name, path := range map[string]string{"commitment": base, "history": base + "/history", "list": "/api/v1/commitments", "counties": "/api/v1/counties",
			"county": "/api/v1/counties/532301", "aging": "/api/v1/aging", "bulletin": "/api/v1/reports/overdue"} {
			tests = append(tests, edgeCase{name + " " + instant, "", "GET", at(path, instant), nil, nil, 400, "validation_failed", "as_of"})
		}
	}
	refuseAll(t, h, tests)

	// The instant the commitment was made (testNow), written with the widest offsets.
	for _, instant := range []string{"2026-11-28T03:59:00+23:59", "2026-11-26T04:01:00-23:59", "2026-11-27T18:00:00+14:00", "2026-11-27T12:00:00+08:00", "2026-11-27T04:00:00Z"} {
		h.must(200, "GET", at(base, instant), nil)
		h.must(200, "GET", at("/api/v1/reports/overdue", instant), nil)
	}
}
