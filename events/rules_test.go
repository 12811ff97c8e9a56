package events

import (
	"errors"
	"strings"
	"testing"
)

// validCode is a synthetic credit code that passes the GB 32100-2015 check.
func validCode(t *testing.T) string {
	t.Helper()
	c, ok := CreditCodeCheck("91532301MA6000001")
	if !ok {
		t.Fatal("alphabet")
	}
	return "91532301MA6000001" + string(c)
}

func TestValidateCreditCode(t *testing.T) {
	good := validCode(t)
	// A published code: 91350100M000100Y43 is the example in GB 32100-2015 materials.
	for _, code := range []string{good, "91350100M000100Y43"} {
		if err := ValidateCreditCode(code); err != nil {
			t.Errorf("%s: %v", code, err)
		}
	}
	wrongCheck := good[:17] + string(creditAlphabet[(strings.IndexByte(creditAlphabet, good[17])+1)%31])
	for name, code := range map[string]string{
		"empty": "", "short": good[:17], "long": good + "0", "wrong check": wrongCheck,
		"letter I": "91532301MA6I00001" + "0", "lowercase": strings.ToLower(good[:17]) + good[17:],
	} {
		err := ValidateCreditCode(code)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "investor.credit_code" || !errors.Is(err, ErrValidation) {
			t.Errorf("%s (%q): got %v", name, code, err)
		}
	}
	// Eighteen characters that are not all ASCII are refused for their
	// alphabet, not for a length they have.
	for _, code := range []string{good[:17] + "号", "９１３５０１００Ｍ０００１００Ｙ４３"} {
		err := ValidateCreditCode(code)
		var fe *FieldError
		if !errors.As(err, &fe) || !strings.Contains(fe.Rule, "capital letters") {
			t.Errorf("%q: got %v, want the alphabet rule", code, err)
		}
	}
	for code, want := range map[string]string{good[:16] + "号": "got 17", good + "号": "got 19"} {
		if err := ValidateCreditCode(code); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want the length rule with %s", code, err, want)
		}
	}
}

func TestParseDate(t *testing.T) {
	for _, s := range []string{"2020-12-31", "2024-02-29"} {
		if _, err := ParseDate(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, s := range []string{"2023-02-29", "2020-13-01", "2020-1-1", "20201231", "2020-12-31T00:00:00Z", ""} {
		if _, err := ParseDate(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
	if d := MustDate("2021-01-10").DaysSince(MustDate("2020-12-31")); d != 10 {
		t.Errorf("days since: %d", d)
	}
}

func TestJurisdiction(t *testing.T) {
	j := DefaultJurisdiction()
	if len(j.Counties) != 10 || j.Counties[0].Code != "532301" || j.Counties[9].Code != "532331" {
		t.Fatalf("default list: %+v", j.Counties)
	}
	if _, err := ParseJurisdiction([]byte(`[{"code":"532301","name":"楚雄市"},{"code":"532301","name":"again"},{"code":"a.b","name":"dot"}]`)); err == nil ||
		!strings.Contains(err.Error(), "appears twice") || !strings.Contains(err.Error(), "letters or digits") {
		t.Fatalf("duplicate and bad codes: %v", err)
	}
	park, err := ParseJurisdiction([]byte(`[{"code":"532399","name":"楚雄高新区"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := park.County("532399"); !ok || c.Name != "楚雄高新区" {
		t.Fatal("park code")
	}
}
