package api_test

import (
	"bytes"
	"encoding/json"
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
