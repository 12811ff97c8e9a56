package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The fuzz targets of the package's parsers: every input is answered with a
// value or an error, never a panic, and what parses keeps the promises of
// its doc comment. scripts/fuzz-smoke.sh runs them all; seeds are below and
// under testdata/fuzz.

// FuzzEventDecode decodes a stored event as the store does (json.Unmarshal
// into an [Event]) and then its data ([Event.Decode]). What decodes must
// write back to JSON that decodes to the same thing: the envelope and the
// typed data are each a fixed point of one marshal and unmarshal.
func FuzzEventDecode(f *testing.F) {
	for _, s := range []string{
		`{"id":"01a21d00-0000-7000-8000-000000000001","type":"commitment.made","schema":1,"commitment_id":"01a21d00-0000-7000-8000-0000000000c1","county":"532301","effective_on":"2020-03-15","recorded_at":"2020-03-16T01:02:03.456789Z","actor":{"name":"楚雄市投资促进局","role":"county"},"idempotency_key":"cx-2020-17-land","data":{"department":"楚雄市自然资源局","project":"年产10GW单晶硅棒项目","investor":{"name":"楚雄某某硅材料有限公司","credit_code":"91350100M000100Y43"},"kind":"land","description":"保障项目用地300亩","quantity":{"value":"300","unit":"mu"},"made_on":"2020-03-15","due":"2020-12-31"},"prev_hash":""}`,
		`{"id":"e2","type":"fulfillment.recorded","schema":1,"commitment_id":"c1","county":"532301","effective_on":"2020-06-01","recorded_at":"2020-06-02T00:00:00Z","actor":{"name":"x","role":"county"},"data":{"quantity":{"value":"150.25","unit":"mu"},"fulfilled_on":"2020-06-01","attachments":["sha256:ab"]},"prev_hash":"9b0b"}`,
		`{"id":"e3","type":"commitment.amended","schema":1,"data":{"due":"2021-06-30","previous_due":"2020-12-31","quantity":{"value":"1250000.00","unit":"CNY"},"previous_quantity":{"value":"1000000","unit":"CNY"},"reason":"approved"}}`,
		`{"id":"e4","type":"dispute.resolved","schema":1,"data":{"dispute_id":"d1","outcome":"upheld"}}`,
		`{"id":"e5","type":"commitment.corrected","schema":1,"data":{"changes":[{"field":"investor.name","old":"a","new":"b"}],"reason":"typo"}}`,
		`{"id":"e6","type":"order.closed","schema":1,"data":{}}`,
		`{"id":"e7","type":"commitment.made","schema":2,"data":{}}`,
		`{"id":"e8","type":"no.such","schema":1,"data":{}}`,
		`{"type":"commitment.made","schema":1,"data":{"quantity":{"value":"1e1000000","unit":"CNY"}}}`,
		`{"type":"fulfillment.recorded","schema":1,"data":{"quantity":{"value":"1.2345","unit":"CNY"},"fulfilled_on":"0001-01-01"}}`,
		`{"type":"supervision.ordered","schema":1,"data":{"deadline":null,"note":"\u0000\ud800"}}`,
		`{"recorded_at":"0000-01-01T00:00:00+23:59","effective_on":null,"data":null}`,
		"{\"id\":\"\xff\xfe\",\"data\":[[[[[[[[[[]]]]]]]]]]}",
		`null`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev Event
		if json.Unmarshal(data, &ev) != nil {
			return
		}
		v, err := ev.Decode()
		if (v == nil) == (err == nil) {
			t.Fatalf("Decode: value %v and error %v: want exactly one", v, err)
		}

		// The envelope: what was read writes back, and reads back the same.
		b1, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("an event that decoded does not encode: %v", err)
		}
		var ev2 Event
		if err := json.Unmarshal(b1, &ev2); err != nil {
			t.Fatalf("an encoded event does not decode: %v\n%s", err, b1)
		}
		b2, err := json.Marshal(ev2)
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("envelope round trip:\n%s\n%s (%v)", b1, b2, err)
		}
		v2, err := ev2.Decode()
		if (v == nil) != (v2 == nil) {
			t.Fatalf("Decode before and after a round trip disagree: %v, then %v (%v)", v, v2, err)
		}
		if v == nil {
			return
		}

		// The data: the typed value writes back, and reads back the same.
		d1, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s data that decoded does not encode: %v", ev.Type, err)
		}
		w := reflect.New(reflect.TypeOf(v).Elem()).Interface()
		if err := json.Unmarshal(d1, w); err != nil {
			t.Fatalf("%s data does not decode what it encoded: %v\n%s", ev.Type, err, d1)
		}
		d2, err := json.Marshal(w)
		if err != nil || !bytes.Equal(d1, d2) {
			t.Fatalf("%s data round trip:\n%s\n%s (%v)", ev.Type, d1, d2, err)
		}
	})
}

// FuzzQuantity fuzzes the exact decimal parsers: plain decimal text
// (parseDecimalText), a stored [Decimal] and [Quantity] (UnmarshalJSON), and
// a client's quantity ([QuantityInput], a JSON string or number). A value
// that parses writes to a string that parses to the same value; a client's
// quantity that is accepted is positive, in its unit's decimals, and
// survives being stored and read back exactly.
func FuzzQuantity(f *testing.F) {
	for _, s := range []struct{ raw, unit string }{
		{`"1250000.00"`, "CNY"},
		{`1250000.5`, "CNY"},
		{`"300.1234"`, "mu"},
		{`1.5e-1`, "mu"},
		{`"12.34"`, "m2"},
		{`2.0`, "item"},
		{`"0.001"`, "CNY"},
		{`"-5"`, "CNY"},
		{`1e1000000`, "CNY"},
		{`1e-1000000`, "mu"},
		{`0e999999`, "item"},
		{`"999999999999999.9999"`, "mu"},
		{`"1000000000000000"`, "CNY"},
		{"\"1\x002\"", "CNY"},
		{"\"\xff\"", "CNY"},
		{`{"value":"1.2345","unit":"CNY"}`, "CNY"},
		{`{"value":"-0.5","unit":"item"}`, "item"},
		{`null`, ""},
	} {
		f.Add([]byte(s.raw), s.unit)
	}
	f.Fuzz(func(t *testing.T, raw []byte, unit string) {
		// Plain decimal text.
		if d, err := parseDecimalText(string(raw), scaleDigits); err == nil {
			if d.Sign() < 0 {
				t.Fatalf("parseDecimalText(%q) = %s: negative", raw, d)
			}
			d2, err := parseDecimalText(d.String(), scaleDigits)
			if err != nil || d2.Cmp(d) != 0 || d2.String() != d.String() {
				t.Fatalf("parseDecimalText(%q) = %s, which reads back as %s (%v)", raw, d, d2, err)
			}
		}

		// A stored decimal.
		var d Decimal
		if d.UnmarshalJSON(raw) == nil {
			b, err := d.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var d2 Decimal
			if err := d2.UnmarshalJSON(b); err != nil || d2.Cmp(d) != 0 {
				t.Fatalf("Decimal %s writes %s, which reads back as %s (%v)", raw, b, d2, err)
			}
		}

		// A stored quantity: after one write, writing and reading is exact.
		var q Quantity
		if q.UnmarshalJSON(raw) == nil {
			quantityRoundTrip(t, q, false)
		}

		// A client's quantity.
		in := &QuantityInput{Value: DecimalInput{raw: raw}, Unit: unit}
		got, err := in.parse("quantity", "")
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(fe.Field, "quantity") {
				t.Fatalf("QuantityInput(%q, %q): error %v does not name the field", raw, unit, err)
			}
			return
		}
		if got.Value.Sign() <= 0 || !got.Unit.Valid() || got.Unit != Unit(unit) {
			t.Fatalf("QuantityInput(%q, %q) = %s %s", raw, unit, got.Value, got.Unit)
		}
		if _, frac, _ := strings.Cut(got.Value.String(), "."); len(frac) > got.Unit.Decimals() {
			t.Fatalf("QuantityInput(%q, %q) = %s: more decimals than %s has", raw, unit, got.Value, got.Unit)
		}
		quantityRoundTrip(t, got, true)
		// Its canonical text, sent again, is the same quantity.
		again, err := (&QuantityInput{Value: Text(got.String()), Unit: unit}).parse("quantity", Unit(unit))
		if err != nil || again.Value.Cmp(got.Value) != 0 {
			t.Fatalf("QuantityInput(%q, %q) = %s, which reads back as %s (%v)", raw, unit, got, again.Value, err)
		}
	})
}

// quantityRoundTrip checks that q writes JSON that [Quantity.UnmarshalJSON]
// reads, and that writing that again gives the same JSON; with exact, that
// the value read is q's own.
func quantityRoundTrip(t *testing.T, q Quantity, exact bool) {
	t.Helper()
	b1, err := json.Marshal(q)
	if err != nil {
		t.Fatalf("quantity %s %s does not encode: %v", q.Value, q.Unit, err)
	}
	var q2 Quantity
	if err := json.Unmarshal(b1, &q2); err != nil {
		t.Fatalf("quantity %s %s writes %s, which does not read back: %v", q.Value, q.Unit, b1, err)
	}
	if exact && (q2.Value.Cmp(q.Value) != 0 || q2.Unit != q.Unit) {
		t.Fatalf("quantity %s %s writes %s, which reads back as %s %s", q.Value, q.Unit, b1, q2.Value, q2.Unit)
	}
	b2, err := json.Marshal(q2)
	if err != nil || !bytes.Equal(b1, b2) {
		t.Fatalf("quantity round trip: %s, then %s (%v)", b1, b2, err)
	}
}

// FuzzDate fuzzes [ParseDate] and the JSON form of a [Date]. A date that
// parses is a date (not the zero Date, which means "no date") and writes
// back as the very text it was read from; JSON writes and reads it back.
func FuzzDate(f *testing.F) {
	for _, s := range []string{
		"2020-12-31", "2020-02-29", "2021-02-29", "1949-10-01", "2200-12-31",
		"0001-01-01", "0000-01-01", "9999-12-31", "2020-1-5", "2020-12-31T00:00:00Z",
		"+2020-12-31", "2020-12-3\x00", "２０２０-12-31", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var fromJSON Date
		_ = fromJSON.UnmarshalJSON([]byte(s)) // no panic on any JSON

		d, err := ParseDate(s)
		if err != nil {
			if !d.IsZero() {
				t.Fatalf("ParseDate(%q): error %v and date %s", s, err, d)
			}
			return
		}
		if d.IsZero() {
			t.Fatalf("ParseDate(%q) = the zero Date (no date), without an error", s)
		}
		if d.String() != s {
			t.Fatalf("ParseDate(%q) writes back as %q", s, d.String())
		}
		b, err := d.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var d2 Date
		if err := d2.UnmarshalJSON(b); err != nil || d2 != d {
			t.Fatalf("Date %s writes %s, which reads back as %s (%v)", d, b, d2, err)
		}
		if d.AddDays(1).DaysSince(d) != 1 || !d.AddDays(-1).Before(d) {
			t.Fatalf("Date %s: the next and previous days are not where they should be", d)
		}
		if f, err := parseDateField("due", s); err == nil && f != d {
			t.Fatalf("parseDateField(%q) = %s, ParseDate %s", s, f, d)
		}
	})
}

// FuzzCreditCode fuzzes [ValidateCreditCode] and [CreditCodeCheck]. A valid
// code is 18 characters of the GB 32100-2015 alphabet ending in the check
// character of the rest; the check catches every single wrong character;
// and the check character of any 17 characters of the alphabet makes a
// valid code.
func FuzzCreditCode(f *testing.F) {
	for _, s := range []string{
		"91350100M000100Y43", "91350100M000100Y44", "91350100m000100y43", "911100001000013257",
		"91350100M000100Y4", "91350100M000100Y433", "9135010OM000100Y43", "91350100M000100YI3",
		"91350100M000100Y4３", "91350100M000100Y\x0043", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateCreditCode(s)
		if err != nil {
			var fe *FieldError
			if !errors.Is(err, ErrValidation) || !errors.As(err, &fe) || fe.Field != "investor.credit_code" {
				t.Fatalf("ValidateCreditCode(%q) = %v: not a validation error of investor.credit_code", s, err)
			}
		} else {
			if len(s) != 18 || strings.Trim(s, creditAlphabet) != "" {
				t.Fatalf("ValidateCreditCode(%q) accepts a code that is not 18 characters of the alphabet", s)
			}
			if c, ok := CreditCodeCheck(s[:17]); !ok || c != s[17] {
				t.Fatalf("ValidateCreditCode(%q) accepts a code whose check character is %c", s, c)
			}
			// Any one character changed is caught.
			for i := range 18 {
				for j := range len(creditAlphabet) {
					if creditAlphabet[j] == s[i] {
						continue
					}
					bad := s[:i] + creditAlphabet[j:j+1] + s[i+1:]
					if ValidateCreditCode(bad) == nil {
						t.Fatalf("ValidateCreditCode(%q) accepts %q, one character changed", s, bad)
					}
				}
			}
			if ValidateCreditCode(strings.ToLower(s)) == nil && strings.ToLower(s) != s {
				t.Fatalf("ValidateCreditCode accepts %q in lower case", s)
			}
		}

		// Any 17 characters of the alphabet and their check character.
		if len(s) < 17 {
			return
		}
		var first [17]byte
		for i := range first {
			first[i] = creditAlphabet[int(s[i])%len(creditAlphabet)]
		}
		c, ok := CreditCodeCheck(string(first[:]))
		if !ok {
			t.Fatalf("CreditCodeCheck(%q): refused", first)
		}
		if code := string(first[:]) + string(c); ValidateCreditCode(code) != nil {
			t.Fatalf("%q with its check character is refused: %v", code, ValidateCreditCode(code))
		}
	})
}
