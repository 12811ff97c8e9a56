package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Unit is the unit of a quantity. Each unit has a fixed number of decimals.
type Unit string

// The units of the contract.
const (
	CNY  Unit = "CNY"  // yuan, at most 2 decimals
	Mu   Unit = "mu"   // 亩, at most 4 decimals
	M2   Unit = "m2"   // square metres, at most 2 decimals
	Item Unit = "item" // a whole number of things promised
)

// Units lists the valid units in a stable order.
var Units = []Unit{CNY, Mu, M2, Item}

// Decimals is the number of decimals the unit allows; -1 for an unknown unit.
func (u Unit) Decimals() int {
	switch u {
	case CNY, M2:
		return 2
	case Mu:
		return 4
	case Item:
		return 0
	}
	return -1
}

// Valid reports whether u is one of [Units].
func (u Unit) Valid() bool { return slices.Contains(Units, u) }

// scale is the fixed point of every Decimal: 10^-4, enough for every unit.
const scaleDigits = 4

var (
	scale    = big.NewInt(10_000)
	maxValue = new(big.Int).Mul(big.NewInt(1_000_000_000_000_000), scale) // 10^15 units
)

// Decimal is an exact, non-negative or negative, fixed-point decimal with
// four decimals. The zero value is 0. A Decimal is immutable: every operation
// returns a new one, so values may be shared freely.
type Decimal struct {
	n *big.Int // value × 10^4; nil is zero
}

func (d Decimal) int() *big.Int {
	if d.n == nil {
		return new(big.Int)
	}
	return d.n
}

// Add returns d + e.
func (d Decimal) Add(e Decimal) Decimal { return Decimal{new(big.Int).Add(d.int(), e.int())} }

// Sub returns d − e.
func (d Decimal) Sub(e Decimal) Decimal { return Decimal{new(big.Int).Sub(d.int(), e.int())} }

// Cmp compares d and e: -1, 0 or +1.
func (d Decimal) Cmp(e Decimal) int { return d.int().Cmp(e.int()) }

// Sign returns -1, 0 or +1.
func (d Decimal) Sign() int { return d.int().Sign() }

// IsZero reports whether d is 0.
func (d Decimal) IsZero() bool { return d.Sign() == 0 }

// Format writes d with exactly decimals decimals when fixed, or with trailing
// zeros removed (up to four) when not.
func (d Decimal) Format(decimals int, fixed bool) string {
	n := d.int()
	if n.IsInt64() { // every real amount: formatted without big.Int's allocations
		return formatInt64(n.Int64(), decimals, fixed)
	}
	return d.formatBig(decimals, fixed)
}

// formatBig is Format on big.Int.
func (d Decimal) formatBig(decimals int, fixed bool) string {
	n := d.int()
	neg := n.Sign() < 0
	abs := new(big.Int).Abs(n)
	q, r := new(big.Int).QuoRem(abs, scale, new(big.Int))
	frac := fmt.Sprintf("%0*d", scaleDigits, r.Int64())
	if fixed {
		frac = frac[:decimals]
	} else {
		frac = strings.TrimRight(frac, "0")
	}
	s := q.String()
	if frac != "" {
		s += "." + frac
	}
	if neg {
		s = "-" + s
	}
	return s
}

// formatInt64 is Format for a value that fits in an int64 (v × 10^4).
func formatInt64(v int64, decimals int, fixed bool) string {
	var buf [32]byte
	b := buf[:0]
	if v < 0 {
		b = append(b, '-')
	}
	u := uint64(v)
	if v < 0 {
		u = uint64(-(v + 1)) + 1 // also right for math.MinInt64
	}
	b = strconv.AppendUint(b, u/10_000, 10)
	frac := u % 10_000
	digits := [scaleDigits]byte{byte('0' + frac/1000), byte('0' + frac/100%10), byte('0' + frac/10%10), byte('0' + frac%10)}
	keep := decimals
	if !fixed {
		keep = scaleDigits
		for keep > 0 && digits[keep-1] == '0' {
			keep--
		}
	}
	if keep > 0 {
		b = append(b, '.')
		b = append(b, digits[:keep]...)
	}
	return string(b)
}

// String writes d with trailing zeros removed.
func (d Decimal) String() string { return d.Format(scaleDigits, false) }

// MustDecimal parses a plain decimal string; it panics on bad input and is
// meant for constants in code and tests.
func MustDecimal(s string) Decimal {
	d, err := parseDecimalText(s, scaleDigits)
	if err != nil {
		panic(err)
	}
	return d
}

var (
	plainDecimal = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	jsonNumber   = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
)

// parseDecimalText parses a plain decimal (digits, optional point and digits)
// that must be exact with at most decimals decimals.
func parseDecimalText(s string, decimals int) (Decimal, error) {
	if d, ok := parseSmallDecimal(s, decimals); ok {
		return d, nil
	}
	if len(s) > 40 || !plainDecimal.MatchString(s) {
		return Decimal{}, fmt.Errorf("must be a decimal number written as digits with an optional decimal point, e.g. \"1250000.00\"")
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return Decimal{}, fmt.Errorf("must be a decimal number")
	}
	return fromRat(r, decimals)
}

// parseSmallDecimal is parseDecimalText's fast path for what every stored
// amount is: up to 14 digits, a point and up to four decimals (those beyond
// decimals zeros), computed in 64 bits. Anything else — and every error —
// is left to the general path (ok false).
func parseSmallDecimal(s string, decimals int) (d Decimal, ok bool) {
	var v int64
	i, intDigits := 0, 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		v = v*10 + int64(s[i]-'0')
		intDigits++
	}
	if intDigits == 0 || intDigits > 14 {
		return Decimal{}, false
	}
	fracDigits := 0
	if i < len(s) {
		if s[i] != '.' || i == len(s)-1 {
			return Decimal{}, false
		}
		for i++; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' || fracDigits == scaleDigits || (fracDigits >= decimals && c != '0') {
				return Decimal{}, false
			}
			v = v*10 + int64(c-'0')
			fracDigits++
		}
	}
	for ; fracDigits < scaleDigits; fracDigits++ {
		v *= 10
	}
	return Decimal{big.NewInt(v)}, true
}

func fromRat(r *big.Rat, decimals int) (Decimal, error) {
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(scale))
	if !scaled.IsInt() {
		return Decimal{}, fmt.Errorf("must have at most %d decimals", decimals)
	}
	n := new(big.Int).Set(scaled.Num())
	unit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scaleDigits-decimals)), nil)
	if new(big.Int).Rem(n, unit).Sign() != 0 {
		if decimals == 0 {
			return Decimal{}, fmt.Errorf("must be a whole number")
		}
		return Decimal{}, fmt.Errorf("must have at most %d decimals", decimals)
	}
	if new(big.Int).Abs(n).Cmp(maxValue) >= 0 {
		return Decimal{}, fmt.Errorf("must be less than 10^15")
	}
	return Decimal{n}, nil
}

// DecimalInput is a quantity's value as a client sent it: a JSON string such
// as "300.5" or a JSON number. It is kept as written until it is validated
// against its unit, so that the error can name the field and the rule.
type DecimalInput struct {
	raw []byte
}

// UnmarshalJSON keeps the raw JSON.
func (d *DecimalInput) UnmarshalJSON(b []byte) error {
	d.raw = bytes.Clone(b)
	return nil
}

// MarshalJSON writes the raw JSON back.
func (d DecimalInput) MarshalJSON() ([]byte, error) {
	if d.raw == nil {
		return []byte("null"), nil
	}
	return d.raw, nil
}

// Text makes an input from a decimal string.
func Text(s string) DecimalInput {
	b, _ := json.Marshal(s)
	return DecimalInput{raw: b}
}

// parse validates the input for a unit: a string must be a plain decimal; a
// JSON number is accepted only when it is exactly representable in the unit.
func (d DecimalInput) parse(u Unit) (Decimal, error) {
	raw := bytes.TrimSpace(d.raw)
	if len(raw) == 0 || string(raw) == "null" {
		return Decimal{}, fmt.Errorf("is required")
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return Decimal{}, fmt.Errorf("must be a decimal string")
		}
		if strings.HasPrefix(s, "-") {
			return Decimal{}, fmt.Errorf("must be positive")
		}
		return parseDecimalText(s, u.Decimals())
	}
	if len(raw) > 40 || !jsonNumber.Match(raw) {
		return Decimal{}, fmt.Errorf("must be a decimal string such as \"300.5\" or a JSON number")
	}
	if raw[0] == '-' {
		return Decimal{}, fmt.Errorf("must be positive")
	}
	// 1e1000000 is 40 characters of JSON but a million digits to big.Rat:
	// no quantity needs an exponent beyond what the range allows anyway.
	if i := bytes.IndexAny(raw, "eE"); i >= 0 {
		if exp, err := strconv.Atoi(strings.TrimPrefix(string(raw[i+1:]), "+")); err != nil || exp > 40 || exp < -40 {
			return Decimal{}, fmt.Errorf("must be a decimal string such as \"300.5\" or a JSON number with an exponent of at most 40")
		}
	}
	r, ok := new(big.Rat).SetString(string(raw))
	if !ok {
		return Decimal{}, fmt.Errorf("must be a decimal number")
	}
	return fromRat(r, u.Decimals())
}

// Quantity is an exact amount in a unit.
type Quantity struct {
	Value Decimal
	Unit  Unit
}

// String writes the value in the unit's canonical form: CNY and m2 with two
// decimals, mu with up to four (trailing zeros removed), item as a whole number.
func (q Quantity) String() string {
	switch q.Unit {
	case CNY, M2:
		return q.Value.Format(2, true)
	case Item:
		return q.Value.Format(0, true)
	}
	return q.Value.Format(scaleDigits, false)
}

type quantityJSON struct {
	Value string `json:"value"`
	Unit  Unit   `json:"unit"`
}

// MarshalJSON writes {"value": "…", "unit": "…"} with the value as a string.
func (q Quantity) MarshalJSON() ([]byte, error) {
	if q.Unit != "" && !q.Unit.Valid() {
		return json.Marshal(quantityJSON{Value: q.String(), Unit: q.Unit})
	}
	// What json.Marshal writes, without its reflection: the value is digits,
	// a point and a sign, the unit one of Units.
	v := q.String()
	b := make([]byte, 0, len(`{"value":"","unit":""}`)+len(v)+len(q.Unit))
	b = append(b, `{"value":"`...)
	b = append(b, v...)
	b = append(b, `","unit":"`...)
	b = append(b, q.Unit...)
	return append(b, `"}`...), nil
}

// UnmarshalJSON reads what MarshalJSON wrote (stored events, not client input).
func (q *Quantity) UnmarshalJSON(b []byte) error {
	var j quantityJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j == (quantityJSON{Value: "0"}) { // the zero Quantity, as MarshalJSON writes it
		*q = Quantity{}
		return nil
	}
	if !j.Unit.Valid() {
		return fmt.Errorf("quantity: unknown unit %q", j.Unit)
	}
	var v Decimal
	if err := v.UnmarshalJSON([]byte(strconv.Quote(j.Value))); err != nil {
		return fmt.Errorf("quantity: %w", err)
	}
	// MarshalJSON writes the unit's decimals only: more would be cut off
	// when the quantity is written again.
	if _, frac, _ := strings.Cut(v.String(), "."); len(frac) > j.Unit.Decimals() {
		return fmt.Errorf("quantity: %q has more decimals than %s has (%d)", j.Value, j.Unit, j.Unit.Decimals())
	}
	*q = Quantity{Value: v, Unit: j.Unit}
	return nil
}

// QuantityInput is a quantity as a client sent it.
type QuantityInput struct {
	Value DecimalInput `json:"value"`
	Unit  string       `json:"unit"`
}

// parse validates the input; field is the JSON path of the quantity
// ("quantity"), and errors name "quantity.unit" or "quantity.value".
// want, when not empty, is the unit the quantity must have.
func (in *QuantityInput) parse(field string, want Unit) (Quantity, error) {
	if in == nil {
		return Quantity{}, invalid(field, "is required")
	}
	u := Unit(in.Unit)
	switch {
	case in.Unit == "":
		return Quantity{}, invalid(field+".unit", "is required: %s", OneOf(Units))
	case !u.Valid():
		return Quantity{}, invalid(field+".unit", "must be %s", OneOf(Units))
	case want != "" && u != want:
		return Quantity{}, invalid(field+".unit", "must be %s, the unit of the commitment", want)
	}
	v, err := in.Value.parse(u)
	if err != nil {
		return Quantity{}, invalid(field+".value", "%v", err)
	}
	if v.Sign() <= 0 {
		return Quantity{}, invalid(field+".value", "must be positive")
	}
	return Quantity{Value: v, Unit: u}, nil
}

// MarshalJSON writes the decimal as a string with trailing zeros removed.
func (d Decimal) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads what MarshalJSON wrote.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("decimal: %w", err)
	}
	neg := strings.HasPrefix(s, "-")
	v, err := parseDecimalText(strings.TrimPrefix(s, "-"), scaleDigits)
	if err != nil {
		return fmt.Errorf("decimal %q: %v", s, err)
	}
	if neg {
		v = Decimal{}.Sub(v)
	}
	*d = v
	return nil
}

// GobEncode lets a Decimal travel in a checkpoint (package gob).
func (d Decimal) GobEncode() ([]byte, error) { return d.int().GobEncode() }

// GobDecode reads what GobEncode wrote.
func (d *Decimal) GobDecode(b []byte) error {
	n := new(big.Int)
	if err := n.GobDecode(b); err != nil {
		return err
	}
	d.n = n
	return nil
}
