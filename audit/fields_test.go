package audit

import "testing"

func TestTopStrings(t *testing.T) {
	keys := []string{"id", "hash"}
	for _, tc := range []struct {
		doc      string
		id, hash string
		bad      bool
	}{
		{doc: `{"id":"a","data":{"hash":"inner","x":[1,{"id":"no"}],"s":"}\"{"},"hash":"h"}`, id: "a", hash: "h"},
		{doc: ` { "hash" : "h\u0041" , "n": -1.5e3, "t": true, "id":"a" } `, id: "a", hash: "hA"},
		{doc: `{}`},
		{doc: `[]`, bad: true},
		{doc: `{"id":1}`, bad: true},
		{doc: `{"id":"a"`, bad: true},
		{doc: `{"id":"a" "hash":"h"}`, bad: true},
		{doc: `{"data":{"x":"unterminated}`, bad: true},
	} {
		out := make([]string, 2)
		err := topStrings([]byte(tc.doc), keys, out)
		if (err != nil) != tc.bad || (!tc.bad && (out[0] != tc.id || out[1] != tc.hash)) {
			t.Errorf("%s: %q %v", tc.doc, out, err)
		}
	}
}
