package events

import (
	"unicode"
	"unicode/utf8"
)

// TextKind is what a text field holds, and so which characters it may hold.
type TextKind int

// The kinds of text.
const (
	// NameOrCode is a name (a department, an investor, a token) or a code
	// (a document number): one line, no control character at all.
	NameOrCode TextKind = iota
	// FreeText is prose (a description, evidence, a reason, a note): tab,
	// line feed and carriage return are allowed, no other control character.
	FreeText
)

// CheckText refuses text that is not valid UTF-8, holds a control character
// its kind does not allow, or holds a bidirectional embedding, override or
// isolate (U+202A–U+202E, U+2066–U+2069): those make text display as other
// text ("Trojan Source", CVE-2021-42574), so that an investor's name could
// read as another's in a list or a bulletin. Every text field of every
// command, and a token's name, is checked by it. The error is a
// [*FieldError] naming field and the rule; it matches [ErrValidation].
func CheckText(field, s string, kind TextKind) error {
	if !utf8.ValidString(s) {
		return invalid(field, "must be valid UTF-8")
	}
	for _, r := range s {
		switch {
		case bidiControl(r):
			return invalid(field, "must not contain the bidirectional control character %U", r)
		case kind == FreeText && (r == '\t' || r == '\n' || r == '\r'):
		case unicode.IsControl(r) && kind == FreeText:
			return invalid(field, "must not contain the control character %U (only tab and line breaks are allowed)", r)
		case unicode.IsControl(r):
			return invalid(field, "must not contain the control character %U (a name or code is one line, without tabs)", r)
		}
	}
	return nil
}

// bidiControl reports whether r is an embedding, override or isolate of the
// Unicode Bidirectional Algorithm (UAX #9). The marks (U+200E, U+200F,
// U+061C) are not: they only state a direction and override nothing.
func bidiControl(r rune) bool {
	return (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}
