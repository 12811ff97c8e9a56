package events

import (
	"strings"
	"unicode/utf8"
)

// creditAlphabet is the character set of the unified social credit code
// (统一社会信用代码, GB 32100-2015): digits and 21 capital letters, without I,
// O, S, V and Z. A character's value is its index.
const creditAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// creditWeights are the weights of the first 17 characters: 3^i mod 31.
var creditWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// CreditCodeCheck returns the check character for the first 17 characters of
// a unified social credit code, and false if one of them is not allowed.
func CreditCodeCheck(first17 string) (byte, bool) {
	if len(first17) != 17 {
		return 0, false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(creditAlphabet, first17[i])
		if v < 0 {
			return 0, false
		}
		sum += v * creditWeights[i]
	}
	return creditAlphabet[(31-sum%31)%31], true
}

// ValidateCreditCode checks a unified social credit code: 18 characters of
// the GB 32100-2015 alphabet, the last being the check character of the rest.
func ValidateCreditCode(code string) error { return validateCreditCode("investor.credit_code", code) }

// validateCreditCode checks a credit code given in field.
func validateCreditCode(field, code string) error {
	switch {
	case code == "":
		return invalid(field, "is required: the 18-character unified social credit code")
	case utf8.RuneCountInString(code) != 18:
		return invalid(field, "must be 18 characters (GB 32100-2015), got %d", utf8.RuneCountInString(code))
	case len(code) != 18: // 18 characters, not all ASCII
		return invalid(field, "must use only digits and the capital letters of GB 32100-2015 (no I, O, S, V, Z)")
	}
	want, ok := CreditCodeCheck(code[:17])
	if !ok || strings.IndexByte(creditAlphabet, code[17]) < 0 {
		return invalid(field, "must use only digits and the capital letters of GB 32100-2015 (no I, O, S, V, Z)")
	}
	if code[17] != want {
		return invalid(field, "check character is %c, expected %c (GB 32100-2015)", code[17], want)
	}
	return nil
}
