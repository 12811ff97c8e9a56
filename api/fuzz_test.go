package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"unicode/utf8"

	"promiseledger/access"
	"promiseledger/events"
)

// FuzzRequestDecode fuzzes decode, the one JSON reader of every handler,
// with a real request: a Content-Type, a body, and one of the request types
// the handlers read. Every request is answered: nil, and the value is what
// encoding/json reads from a body that is one valid UTF-8 JSON object of
// JSON media type; or an *apiError whose status is a client error and whose
// envelope writeError writes as JSON.
func FuzzRequestDecode(f *testing.F) {
	const ct = "application/json"
	for _, s := range []struct {
		contentType, body string
		target            uint8
	}{
		{ct, `{"county":"532301","department":"楚雄市自然资源局","project":"p","investor":{"name":"n","credit_code":"91350100M000100Y43"},"kind":"land","description":"d","quantity":{"value":"300","unit":"mu"},"made_on":"2020-03-15","due":"2020-12-31"}`, 0},
		{ct + "; charset=utf-8", `{"quantity":{"value":1250000.5,"unit":"CNY"},"fulfilled_on":"2020-06-01","attachments":["sha256:ab"]}`, 1},
		{ct, `{"due":"2021-06-30","reason":"approved"}`, 2},
		{ct, `{"name":"x","role":"county","county":"532301"}`, 3},
		{ct, `{"county":"532301","investor":{"phone":"1"}}`, 0},
		{ct, `{"county":532301}`, 0},
		{ct, `[]`, 1},
		{ct, `null`, 2},
		{ct, `{} {}`, 2},
		{ct, `{}x`, 2},
		{ct, ``, 0},
		{ct, "{\"county\":\"\xff\"}", 0},
		{ct, `{"investor":{"name":"\ud800"}}`, 0},
		{ct, "{\"\xfe\":1}", 1},
		{ct, `{"quantity":{"value":1e1000000,"unit":"CNY"}}`, 1},
		{ct, `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`, 3},
		{"text/plain", `{}`, 0},
		{"", `{}`, 0},
		{"application/json; charset=\"", `{}`, 0},
	} {
		f.Add(s.contentType, []byte(s.body), s.target)
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte, target uint8) {
		newTarget := []func() any{
			func() any { return &events.MakeCommitment{} },
			func() any { return &events.RecordFulfillment{} },
			func() any { return &events.Amend{} },
			func() any { return &access.TokenRequest{} },
		}[int(target)%4]
		r := httptest.NewRequest(http.MethodPost, "/api/v1/commitments", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		w := httptest.NewRecorder()
		v := newTarget()
		err := decode(w, r, v)

		if err == nil {
			if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" {
				t.Fatalf("accepted Content-Type %q", contentType)
			}
			if len(body) > MaxBodyBytes || !utf8.Valid(body) || !json.Valid(body) {
				t.Fatalf("accepted a body that is too long, not UTF-8 or not JSON: %q", body)
			}
			if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
				t.Fatalf("accepted a body that is not a JSON object: %q", body)
			}
			if replaced(body) {
				t.Fatalf("accepted a string that is not UTF-8 (a lone surrogate): %q", body)
			}
			want := newTarget()
			if err := json.Unmarshal(body, want); err != nil || !reflect.DeepEqual(v, want) {
				t.Fatalf("decode gave %+v, encoding/json %+v (%v)", v, want, err)
			}
			return
		}

		var ae *apiError
		if !errors.As(err, &ae) {
			t.Fatalf("decode error %v (%T) is not an *apiError", err, err)
		}
		switch ae.status {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		default:
			t.Fatalf("decode error %v: status %d", err, ae.status)
		}
		if ae.Code == "" || ae.Message == "" {
			t.Fatalf("decode error without a code or message: %+v", ae)
		}
		out := httptest.NewRecorder()
		writeError(out, err)
		var envelope struct {
			Error struct{ Code, Message, Field string } `json:"error"`
		}
		if out.Code != ae.status {
			t.Fatalf("writeError wrote status %d for %d", out.Code, ae.status)
		}
		if err := json.Unmarshal(out.Body.Bytes(), &envelope); err != nil || envelope.Error.Code != ae.Code || envelope.Error.Field != ae.Field {
			t.Fatalf("writeError wrote %s for %+v (%v)", out.Body.Bytes(), ae, err)
		}
	})
}

// replaced reports whether encoding/json reads a U+FFFD from body that
// body does not hold: a \u escape of a lone surrogate, which it quietly
// replaces.
func replaced(body []byte) bool {
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return false
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return false
	}
	return bytes.Contains(b, []byte("\ufffd")) && !bytes.Contains(body, []byte("\ufffd")) &&
		!bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`))
}
