package audit

import "testing"

// Examples from RFC 8785 (sections 3.2.2 and 3.2.3, and appendix B).
func TestCanonical_RFC8785(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
		   "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
		   "literals": [null, true, false]}`,
			`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`},
		{`{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One",
		   "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"}`,
			"{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"\u00f6\":\"Latin Small Letter O With Diaeresis\",\"\u20ac\":\"Euro Sign\",\"\U0001F600\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}"},
		{`[0, -0, 1, -1, 1e21, 1e20, 123456789012345680000, 0.000001, 1e-7, 5e-324, 1.7976931348623157e308, 9007199254740993]`,
			`[0,0,1,-1,1e+21,100000000000000000000,123456789012345680000,0.000001,1e-7,5e-324,1.7976931348623157e+308,9007199254740992]`},
		{` { "b" : 1 , "a" : { "d": [ ] , "c" : { } } } `, `{"a":{"c":{},"d":[]},"b":1}`},
	}
	for _, tt := range tests {
		got, err := Canonical([]byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("Canonical(%s)\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{`{"a":1} {}`, `{`, `1e400`} {
		if _, err := Canonical([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
