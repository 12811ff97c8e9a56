package audit

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// Canonical returns the RFC 8785 (JSON Canonicalization Scheme) form of a
// JSON text: no insignificant whitespace, object members sorted by the
// UTF-16 code units of their names, strings with the minimal escapes, and
// numbers as ECMAScript writes them.
//
// It parses the text once and writes the canonical form as it goes, without
// building a tree of values: verification canonicalizes every event.
func Canonical(doc []byte) ([]byte, error) {
	c := canonicalizer{in: doc}
	out, err := c.document(nil, nil, nil)
	return out, err
}

// canonicalTopSum canonicalizes a JSON object leaving out the top-level
// members named in skip, sets sum to the SHA-256 of that form, and returns
// in got the top-level string members named in want (decoded, in want's
// order). Its buffers are reused from one call to the next.
func canonicalTopSum(doc []byte, skip, want, got []string, sum *[32]byte) error {
	c := canonicalizers.Get().(*canonicalizer)
	defer canonicalizers.Put(c)
	c.in, c.pos, c.depth, c.nest = doc, 0, 0, 0
	out, err := c.document(skip, want, got)
	if err != nil {
		return err
	}
	*sum = sha256.Sum256(out)
	return nil
}

// canonicalizers keep their buffers from one event to the next.
var canonicalizers = sync.Pool{New: func() any { return &canonicalizer{} }}

var (
	errSyntax    = errors.New("canonical: not valid JSON")
	errDuplicate = errors.New("canonical: an object has two members of one name")
	errDepth     = errors.New("canonical: nested too deeply")
)

// maxNesting is how deep arrays and objects may nest: as deep as
// encoding/json reads, and no deeper, so that a document cannot exhaust the
// stack.
const maxNesting = 10000

type canonicalizer struct {
	in      []byte
	pos     int
	depth   int        // objects open
	nest    int        // objects and arrays open
	out     []byte     // the canonical form of the last document (reused)
	scratch [][]byte   // per object depth: members' canonical bytes
	mems    [][]member // per object depth: the members
}

func (c *canonicalizer) document(skip, want, got []string) ([]byte, error) {
	c.space()
	var out []byte
	var err error
	if skip != nil || want != nil {
		if c.pos >= len(c.in) || c.in[c.pos] != '{' {
			return nil, fmt.Errorf("canonical: an object is required: %w", errSyntax)
		}
		out, err = c.object(c.out[:0], skip, want, got)
		c.out = out
	} else {
		out, err = c.value(make([]byte, 0, len(c.in)))
	}
	if err != nil {
		return nil, err
	}
	c.space()
	if c.pos != len(c.in) {
		return nil, fmt.Errorf("canonical: more than one JSON value: %w", errSyntax)
	}
	return out, nil
}

func (c *canonicalizer) space() {
	for c.pos < len(c.in) {
		switch c.in[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

func (c *canonicalizer) value(out []byte) ([]byte, error) {
	c.space()
	if c.pos >= len(c.in) {
		return nil, errSyntax
	}
	switch b := c.in[c.pos]; {
	case (b == '{' || b == '[') && c.nest >= maxNesting:
		return nil, errDepth
	case b == '{':
		return c.object(out, nil, nil, nil)
	case b == '[':
		return c.array(out)
	case b == '"':
		if raw, ok := c.plainString(); ok {
			out = append(out, '"')
			out = append(out, raw...)
			return append(out, '"'), nil
		}
		s, err := c.str()
		if err != nil {
			return nil, err
		}
		return appendString(out, s), nil
	case b == 't':
		return c.literal(out, "true")
	case b == 'f':
		return c.literal(out, "false")
	case b == 'n':
		return c.literal(out, "null")
	case b == '-' || (b >= '0' && b <= '9'):
		return c.number(out)
	}
	return nil, errSyntax
}

func (c *canonicalizer) literal(out []byte, lit string) ([]byte, error) {
	if !strings.HasPrefix(string(c.in[c.pos:min(len(c.in), c.pos+len(lit))]), lit) {
		return nil, errSyntax
	}
	c.pos += len(lit)
	return append(out, lit...), nil
}

func (c *canonicalizer) number(out []byte) ([]byte, error) {
	start := c.pos
	for c.pos < len(c.in) && strings.IndexByte("+-0123456789.eE", c.in[c.pos]) >= 0 {
		c.pos++
	}
	text := string(c.in[start:c.pos])
	if !isNumber(text) {
		return nil, errSyntax
	}
	// Most numbers are small integers, written the same way in every form.
	if len(text) <= 15 && text != "-0" && (text == "0" || (text[0] != '0' && !strings.ContainsAny(text, ".eE+") && !strings.HasPrefix(text, "-0"))) {
		return append(out, text...), nil
	}
	s, err := formatNumber(text)
	if err != nil {
		return nil, err
	}
	return append(out, s...), nil
}

// isNumber reports whether text is a number as JSON writes it (RFC 8259
// section 6): strconv.ParseFloat takes more ("01", "1.", "-.5", "1_0"), and
// the fast path of number takes text it does not look at ("1-2", "-").
func isNumber(text string) bool {
	digits := func(i int) int { // the index after the digits from i
		for i < len(text) && text[i] >= '0' && text[i] <= '9' {
			i++
		}
		return i
	}
	i := 0
	if i < len(text) && text[i] == '-' {
		i++
	}
	switch {
	case i < len(text) && text[i] == '0':
		i++
	case i < len(text) && text[i] >= '1' && text[i] <= '9':
		i = digits(i)
	default:
		return false
	}
	if i < len(text) && text[i] == '.' {
		if j := digits(i + 1); j > i+1 {
			i = j
		} else {
			return false
		}
	}
	if i < len(text) && (text[i] == 'e' || text[i] == 'E') {
		i++
		if i < len(text) && (text[i] == '+' || text[i] == '-') {
			i++
		}
		if j := digits(i); j > i {
			i = j
		} else {
			return false
		}
	}
	return i == len(text)
}

func (c *canonicalizer) array(out []byte) ([]byte, error) {
	c.pos++ // [
	c.nest++
	defer func() { c.nest-- }()
	out = append(out, '[')
	c.space()
	if c.pos < len(c.in) && c.in[c.pos] == ']' {
		c.pos++
		return append(out, ']'), nil
	}
	for {
		var err error
		if out, err = c.value(out); err != nil {
			return nil, err
		}
		c.space()
		if c.pos >= len(c.in) {
			return nil, errSyntax
		}
		switch c.in[c.pos] {
		case ',':
			c.pos++
			out = append(out, ',')
		case ']':
			c.pos++
			return append(out, ']'), nil
		default:
			return nil, errSyntax
		}
	}
}

type member struct {
	key        []byte
	start, end int // the member's canonical bytes in the scratch buffer
}

// plainString reads a string that needs no decoding (no escapes, no control
// characters, valid UTF-8) and returns its bytes, which are also its
// canonical form; otherwise it reads nothing.
func (c *canonicalizer) plainString() ([]byte, bool) {
	for i := c.pos + 1; i < len(c.in); i++ {
		switch b := c.in[i]; {
		case b == '"':
			raw := c.in[c.pos+1 : i]
			if !utf8.Valid(raw) {
				return nil, false
			}
			c.pos = i + 1
			return raw, true
		case b == '\\' || b < 0x20:
			return nil, false
		}
	}
	return nil, false
}

func (c *canonicalizer) object(out []byte, skip, want, got []string) ([]byte, error) {
	c.pos++ // {
	d := c.depth
	c.depth++
	c.nest++
	defer func() { c.depth--; c.nest-- }()
	for len(c.scratch) <= d {
		c.scratch, c.mems = append(c.scratch, nil), append(c.mems, nil)
	}
	scratch, members := c.scratch[d][:0], c.mems[d][:0]
	c.space()
	if c.pos < len(c.in) && c.in[c.pos] == '}' {
		c.pos++
		return append(out, '{', '}'), nil
	}
	for {
		c.space()
		if c.pos >= len(c.in) || c.in[c.pos] != '"' {
			return nil, errSyntax
		}
		key, ok := c.plainString()
		if !ok {
			s, err := c.str()
			if err != nil {
				return nil, err
			}
			key = []byte(s)
		}
		c.space()
		if c.pos >= len(c.in) || c.in[c.pos] != ':' {
			return nil, errSyntax
		}
		c.pos++
		c.space()
		if want != nil {
			if i := slices.Index(want, string(key)); i >= 0 && c.pos < len(c.in) && c.in[c.pos] == '"' {
				save := c.pos
				s, err := c.str()
				if err != nil {
					return nil, err
				}
				got[i], c.pos = s, save
			}
		}
		start := len(scratch)
		scratch = appendString(scratch, string(key))
		scratch = append(scratch, ':')
		var err error
		if scratch, err = c.value(scratch); err != nil {
			return nil, err
		}
		if skip == nil || !slices.Contains(skip, string(key)) {
			members = append(members, member{key: key, start: start, end: len(scratch)})
		}
		c.space()
		if c.pos >= len(c.in) {
			return nil, errSyntax
		}
		if c.in[c.pos] == ',' {
			c.pos++
			continue
		}
		if c.in[c.pos] != '}' {
			return nil, errSyntax
		}
		c.pos++
		break
	}
	slices.SortFunc(members, func(a, b member) int { return compareUTF16(a.key, b.key) })
	for i := 1; i < len(members); i++ {
		// I-JSON (RFC 7493), which RFC 8785 requires, has no two members
		// of one name; nor could the sort give them one order.
		if bytes.Equal(members[i-1].key, members[i].key) {
			return nil, errDuplicate
		}
	}
	out = append(out, '{')
	for i, m := range members {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, scratch[m.start:m.end]...)
	}
	c.scratch[d], c.mems[d] = scratch, members
	return append(out, '}'), nil
}

// str reads a JSON string and returns its value.
func (c *canonicalizer) str() (string, error) {
	c.pos++ // "
	start := c.pos
	// Fast path: no escapes.
	for c.pos < len(c.in) {
		b := c.in[c.pos]
		if b == '"' {
			s := c.in[start:c.pos]
			if !utf8.Valid(s) {
				break // each byte that is not UTF-8 is a U+FFFD, as encoding/json reads it
			}
			c.pos++
			return string(s), nil
		}
		if b == '\\' || b < 0x20 {
			break
		}
		c.pos++
	}
	c.pos = start
	var sb strings.Builder
	for c.pos < len(c.in) {
		b := c.in[c.pos]
		switch {
		case b == '"':
			c.pos++
			return sb.String(), nil
		case b < 0x20:
			return "", errSyntax
		case b == '\\':
			if c.pos+1 >= len(c.in) {
				return "", errSyntax
			}
			e := c.in[c.pos+1]
			c.pos += 2
			switch e {
			case '"', '\\', '/':
				sb.WriteByte(e)
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case 'n':
				sb.WriteByte('\n')
			case 'r':
				sb.WriteByte('\r')
			case 't':
				sb.WriteByte('\t')
			case 'u':
				r, ok := c.hex4()
				if !ok {
					return "", errSyntax
				}
				if hi := r; utf16.IsSurrogate(hi) {
					r = utf8.RuneError
					if c.pos+1 < len(c.in) && c.in[c.pos] == '\\' && c.in[c.pos+1] == 'u' {
						c.pos += 2
						lo, ok := c.hex4()
						if !ok {
							return "", errSyntax
						}
						if pair := utf16.DecodeRune(hi, lo); pair != utf8.RuneError {
							r = pair
						} else {
							c.pos -= 6 // half a pair: the escape after it is read on its own, as encoding/json does
						}
					}
				}
				sb.WriteRune(r)
			default:
				return "", errSyntax
			}
		default:
			r, size := utf8.DecodeRune(c.in[c.pos:])
			sb.WriteRune(r)
			c.pos += size
		}
	}
	return "", errSyntax
}

func (c *canonicalizer) hex4() (rune, bool) {
	if c.pos+4 > len(c.in) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(c.in[c.pos:c.pos+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	c.pos += 4
	return rune(n), true
}

// compareUTF16 orders names by their UTF-16 code units, as RFC 8785 requires.
func compareUTF16(a, b []byte) int {
	if isASCII(a) && isASCII(b) {
		return bytes.Compare(a, b)
	}
	ua, ub := utf16.Encode([]rune(string(a))), utf16.Encode([]rune(string(b)))
	for i := 0; i < len(ua) && i < len(ub); i++ {
		if ua[i] != ub[i] {
			return int(ua[i]) - int(ub[i])
		}
	}
	return len(ua) - len(ub)
}

func isASCII(s []byte) bool {
	for _, b := range s {
		if b >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// appendString writes a string with only the escapes JSON requires: quote,
// backslash and control characters, with the short forms where they exist.
func appendString(out []byte, s string) []byte {
	out = append(out, '"')
	for i := 0; i < len(s); {
		b := s[i]
		if b >= 0x20 && b != '"' && b != '\\' {
			j := i
			for j < len(s) && s[j] >= 0x20 && s[j] != '"' && s[j] != '\\' {
				j++
			}
			out = append(out, s[i:j]...)
			i = j
			continue
		}
		switch b {
		case '"':
			out = append(out, '\\', '"')
		case '\\':
			out = append(out, '\\', '\\')
		case '\b':
			out = append(out, '\\', 'b')
		case '\f':
			out = append(out, '\\', 'f')
		case '\n':
			out = append(out, '\\', 'n')
		case '\r':
			out = append(out, '\\', 'r')
		case '\t':
			out = append(out, '\\', 't')
		default:
			out = append(out, fmt.Sprintf(`\u%04x`, b)...)
		}
		i++
	}
	return append(out, '"')
}

// formatNumber writes a number as ECMAScript's Number.prototype.toString
// does (RFC 8785 section 3.2.2.3).
func formatNumber(text string) (string, error) {
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", fmt.Errorf("canonical: number %s is not an IEEE 754 double", text)
	}
	if f == 0 {
		return "0", nil
	}
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	// The shortest digits that round-trip, and the decimal exponent.
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expText, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expText)
	n := exp + 1 // position of the decimal point after the first digit
	k := len(digits)
	switch {
	case k <= n && n <= 21:
		return sign + digits + strings.Repeat("0", n-k), nil
	case 0 < n && n <= 21:
		return sign + digits[:n] + "." + digits[n:], nil
	case -6 < n && n <= 0:
		return sign + "0." + strings.Repeat("0", -n) + digits, nil
	}
	m := digits[:1]
	if k > 1 {
		m += "." + digits[1:]
	}
	es := "+"
	if n-1 < 0 {
		es = "-"
	}
	return sign + m + "e" + es + strconv.Itoa(abs(n-1)), nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
