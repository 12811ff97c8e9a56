package events

import (
	"encoding/json"
	"errors"
	"math/big"
	"testing"
)

func TestQuantityInput_Parse(t *testing.T) {
	tests := []struct {
		raw, unit string
		want      string // canonical value; empty when an error is expected
		field     string
	}{
		{`"1250000.00"`, "CNY", "1250000.00", ""},
		{`"1250000"`, "CNY", "1250000.00", ""},
		{`1250000.5`, "CNY", "1250000.50", ""},
		{`"0.01"`, "CNY", "0.01", ""},
		{`"0.001"`, "CNY", "", "quantity.value"},
		{`0.001`, "CNY", "", "quantity.value"},
		{`1e3`, "CNY", "1000.00", ""},
		{`1.5e-1`, "mu", "0.15", ""},
		{`"300"`, "mu", "300", ""},
		{`"300.1234"`, "mu", "300.1234", ""},
		{`"300.12345"`, "mu", "", "quantity.value"},
		{`"300.10000"`, "mu", "300.1", ""},
		{`"12.34"`, "m2", "12.34", ""},
		{`"1"`, "item", "1", ""},
		{`"1.5"`, "item", "", "quantity.value"},
		{`2.0`, "item", "2", ""},
		{`"0"`, "CNY", "", "quantity.value"},
		{`0`, "CNY", "", "quantity.value"},
		{`"-5"`, "CNY", "", "quantity.value"},
		{`-5`, "CNY", "", "quantity.value"},
		{`"1e3"`, "CNY", "", "quantity.value"},
		{`" 5"`, "CNY", "", "quantity.value"},
		{`"5,000"`, "CNY", "", "quantity.value"},
		{`"0x10"`, "CNY", "", "quantity.value"},
		{`"1/3"`, "CNY", "", "quantity.value"},
		{`"NaN"`, "CNY", "", "quantity.value"},
		{`true`, "CNY", "", "quantity.value"},
		{`null`, "CNY", "", "quantity.value"},
		{`"1000000000000000"`, "CNY", "", "quantity.value"},
		{`"999999999999999.99"`, "CNY", "999999999999999.99", ""},
		{`1e1000000`, "CNY", "", "quantity.value"}, // refused before a million digits are made
		{`1e-1000000`, "CNY", "", "quantity.value"},
		{`1e+5`, "CNY", "100000.00", ""},
		{`"5"`, "", "", "quantity.unit"},
		{`"5"`, "USD", "", "quantity.unit"},
	}
	for _, tt := range tests {
		t.Run(tt.raw+" "+tt.unit, func(t *testing.T) {
			in := &QuantityInput{Unit: tt.unit}
			if err := json.Unmarshal([]byte(tt.raw), &in.Value); err != nil {
				t.Fatal(err)
			}
			q, err := in.parse("quantity", "")
			if tt.want == "" {
				var fe *FieldError
				if !errors.As(err, &fe) || !errors.Is(err, ErrValidation) || fe.Field != tt.field {
					t.Fatalf("got %v, want a validation error on %s", err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := q.String(); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDecimal_ExactArithmetic(t *testing.T) {
	// 0.1 + 0.2 is exactly 0.3: no binary floating point anywhere.
	sum := MustDecimal("0.1").Add(MustDecimal("0.2"))
	if sum.Cmp(MustDecimal("0.3")) != 0 {
		t.Fatalf("0.1 + 0.2 = %s", sum)
	}
	big := MustDecimal("999999999999999.9999")
	if got := big.Add(big).String(); got != "1999999999999999.9998" {
		t.Fatalf("sum of large values: %s", got)
	}
	if got := MustDecimal("5").Sub(MustDecimal("7.25")).String(); got != "-2.25" {
		t.Fatalf("negative: %s", got)
	}
}

func TestQuantity_JSONRoundTrip(t *testing.T) {
	for _, q := range []Quantity{
		{MustDecimal("1250000"), CNY}, {MustDecimal("120.5"), Mu}, {MustDecimal("3"), Item}, {MustDecimal("0.05"), M2},
	} {
		b, err := json.Marshal(q)
		if err != nil {
			t.Fatal(err)
		}
		var back Quantity
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.Unit != q.Unit || back.Value.Cmp(q.Value) != 0 {
			t.Fatalf("%s: round trip gave %+v", b, back)
		}
	}
	if b, _ := json.Marshal(Quantity{MustDecimal("1250000"), CNY}); string(b) != `{"value":"1250000.00","unit":"CNY"}` {
		t.Fatalf("CNY is written with two decimals: %s", b)
	}
}

// The fast paths write what the general ones do.
func TestDecimal_FormatFastPathsAgree(t *testing.T) {
	values := []string{"0", "1", "0.0001", "0.001", "0.01", "0.1", "12.3400", "999999999999999.99", "300.1234", "100000"}
	for _, v := range values {
		for _, neg := range []bool{false, true} {
			d := MustDecimal(v)
			if neg {
				d = Decimal{}.Sub(d)
			}
			for _, decimals := range []int{0, 2, 4} {
				for _, fixed := range []bool{false, true} {
					slow := d.formatBig(decimals, fixed)
					if got := d.Format(decimals, fixed); got != slow {
						t.Errorf("%s (neg %v) Format(%d, %v) = %q, big.Int gives %q", v, neg, decimals, fixed, got, slow)
					}
				}
			}
			for _, u := range append([]Unit{""}, Units...) {
				q := Quantity{Value: d, Unit: u}
				got, _ := q.MarshalJSON()
				want, _ := json.Marshal(quantityJSON{Value: q.String(), Unit: u})
				if string(got) != string(want) {
					t.Errorf("MarshalJSON %s %s = %s, want %s", v, u, got, want)
				}
			}
		}
	}
}

// The 64-bit path reads what the general one does, and leaves it every
// error and every value it cannot hold.
func TestDecimal_ParseFastPathAgrees(t *testing.T) {
	inputs := []string{"0", "1", "007", "0.5", "1.2345", "1.23450", "1.2", "12345678901234", "123456789012345", "99999999999999.9999",
		"1.", ".5", "1.2.3", "1e3", "", "-1", "1.00000", "1.0000", "300.1234", "300.12345", "1,000", "１２", "0.0001"}
	for _, in := range inputs {
		for _, decimals := range []int{0, 2, 4} {
			fast, ok := parseSmallDecimal(in, decimals)
			slow, err := func() (Decimal, error) {
				if len(in) > 40 || !plainDecimal.MatchString(in) {
					return Decimal{}, errors.New("not plain")
				}
				r, ok := new(big.Rat).SetString(in)
				if !ok {
					return Decimal{}, errors.New("no")
				}
				return fromRat(r, decimals)
			}()
			if ok && (err != nil || fast.Cmp(slow) != 0) {
				t.Errorf("%q with %d decimals: fast %s, general %v %v", in, decimals, fast, slow, err)
			}
		}
	}
}
