package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"promiseledger/events"
)

// The fuzz targets of the canonical form and the event hash: every input is
// answered with a value or an error, never a panic. scripts/fuzz-smoke.sh
// runs them all; seeds are below and under testdata/fuzz.

// FuzzCanonicalJSON fuzzes [Canonical] and the hashing of a top-level
// object without some members (canonicalTopSum, what [EventHash] and
// verification use). What canonicalizes was JSON and gives JSON, valid
// UTF-8, that means what the input meant (as encoding/json reads both) and
// is its own canonical form; and JSON that encoding/json reads, numbers
// within a double, canonicalizes. The hash of an object leaves out exactly
// the members it names.
func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range []string{
		`{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}`,
		`{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew", "1": "One", "\ud83d\ude00": "Emoji", "\u0080": "Control", "\u00f6": "o"}`,
		`[0, -0, 1, -1, 1e21, 1e20, 123456789012345680000, 0.000001, 1e-7, 5e-324, 1.7976931348623157e308, 9007199254740993]`,
		`{"id":"e1","type":"commitment.made","schema":1,"data":{"quantity":{"value":"300","unit":"mu"}},"prev_hash":"","hash":"ab","sequence":7}`,
		`{"a":1,"a":2}`, `1e400`, `1e1000000`, `-`, `01`, `1.`, `-.5`, `[1-2]`, `"\ud800\u0041"`, `"\udc00"`,
		"\"\xff\xfe\"", "\"a\x00b\"", "{\"\xff\":1,\"\xfe\":2}", `{"a":[1,2,{"b":null}]}  `, ``,
		strings.Repeat("[", 200) + strings.Repeat("]", 200),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		out, err := Canonical(doc)
		var want any
		readable := json.Unmarshal(doc, &want) == nil
		if err != nil {
			if readable && numbersFit(doc) && !duplicateNames(doc) {
				t.Fatalf("Canonical(%q): %v, but it is JSON", doc, err)
			}
			return
		}
		if !readable {
			t.Fatalf("Canonical(%q) = %q, but it is not JSON", doc, out)
		}
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("Canonical(%q) = %q: not JSON in UTF-8", doc, out)
		}
		var got any
		if err := json.Unmarshal(out, &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Canonical(%q) = %q, which means %#v, not %#v (%v)", doc, out, got, want, err)
		}
		again, err := Canonical(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("Canonical(%q) = %q, whose canonical form is %q (%v)", doc, out, again, err)
		}

		// An object's hash without "hash" and "sequence" is the hash of its
		// canonical form without them.
		var members map[string]json.RawMessage
		if json.Unmarshal(doc, &members) != nil || members == nil {
			return
		}
		sum, err := EventHash(doc)
		if err != nil {
			t.Fatalf("EventHash(%q): %v, but it canonicalizes", doc, err)
		}
		delete(members, "hash")
		delete(members, "sequence")
		rest, err := json.Marshal(members)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Canonical(rest)
		if err != nil {
			t.Fatalf("Canonical(%q): %v", rest, err)
		}
		if h := sha256.Sum256(c); hex.EncodeToString(h[:]) != sum {
			t.Fatalf("EventHash(%q) = %s, not the hash of %q", doc, sum, c)
		}
	})
}

// numbersFit reports whether every number in a JSON text is within a
// double (RFC 8785 requires them to be).
func numbersFit(doc []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return true
		}
		if n, ok := tok.(json.Number); ok {
			if _, err := n.Float64(); err != nil {
				return false
			}
		}
	}
}

// duplicateNames reports whether an object in a JSON text has two members
// of one name (I-JSON, which RFC 8785 requires, has none).
func duplicateNames(doc []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(doc))
	type frame struct {
		object  bool
		wantKey bool
		names   map[string]bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{', '[':
				if top != nil && top.object {
					top.wantKey = true
				}
				stack = append(stack, &frame{object: tok == '{', wantKey: true, names: map[string]bool{}})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if top != nil && top.object && top.wantKey {
				if top.names[tok] {
					return true
				}
				top.names[tok] = true
				top.wantKey = false
				continue
			}
		}
		if top != nil && top.object {
			top.wantKey = true
		}
	}
}

// FuzzEventHash fuzzes [HashEvent] with every event encoding/json reads: it
// hashes or fails, and the hash it sets is the one verification computes
// from the event as stored ([EventHash] of its JSON), whatever its
// sequence.
func FuzzEventHash(f *testing.F) {
	for _, s := range []string{
		`{"id":"01a21d00-0000-7000-8000-000000000001","type":"commitment.made","schema":1,"commitment_id":"c1","county":"532301","effective_on":"2020-03-15","recorded_at":"2020-03-16T01:02:03.456789Z","actor":{"name":"楚雄市投资促进局","role":"county"},"data":{"quantity":{"value":"300","unit":"mu"},"description":"a\n\"b\""},"prev_hash":""}`,
		`{"id":"e2","data":{"x":1e400}}`,
		`{"id":"e3","data":{"x":1E30,"y":-0,"z":"\ud800"}}`,
		"{\"id\":\"\xff\",\"data\":null}",
		`{"hash":"x","sequence":5,"data":[]}`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var ev events.Event
		if json.Unmarshal(doc, &ev) != nil {
			return
		}
		if err := HashEvent(&ev); err != nil {
			return
		}
		if len(ev.Hash) != 64 || ev.Sequence != 0 {
			t.Fatalf("HashEvent: hash %q, sequence %d", ev.Hash, ev.Sequence)
		}
		first := ev.Hash
		if err := HashEvent(&ev); err != nil || ev.Hash != first {
			t.Fatalf("HashEvent twice: %s, then %s (%v)", first, ev.Hash, err)
		}
		ev.Sequence = 42 // set when read, never hashed
		stored, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if h, err := EventHash(stored); err != nil || h != first {
			t.Fatalf("HashEvent set %s, EventHash of %s is %s (%v)", first, stored, h, err)
		}
	})
}
