package access

import (
	"strings"
	"testing"
	"time"
)

// TestPrincipal_May is the permission table written out: every role and
// every action, with the answer stated, not read from the table under test.
// api/access_test.go (permissionMatrix) checks the same, endpoint by
// endpoint, over HTTP.
func TestPrincipal_May(t *testing.T) {
	const y, n = true, false
	tests := []struct {
		role Role
		// read, record, approve, manage, audit, monitor
		want [6]bool
	}{
		{County, [6]bool{y, y, n, n, n, n}},
		{Supervisor, [6]bool{y, y, y, n, y, y}},
		{Auditor, [6]bool{y, n, n, n, y, y}},
		{Admin, [6]bool{y, n, n, y, n, y}},
		// Anything else may do nothing.
		{"", [6]bool{n, n, n, n, n, n}},
		{"anonymous", [6]bool{n, n, n, n, n, n}},
		{"Admin", [6]bool{n, n, n, n, n, n}},
	}
	columns := [6]Action{Read, Record, Approve, Manage, Audit, Monitor}
	if len(Actions) != len(columns) {
		t.Fatalf("Actions is %v: give every action a column here", Actions)
	}
	for i, a := range Actions {
		if columns[i] != a {
			t.Fatalf("Actions[%d] = %s, column %d is %s", i, a, i, columns[i])
		}
	}
	var rows []Role
	for _, tt := range tests {
		if tt.role.Valid() {
			rows = append(rows, tt.role)
		}
		for i, a := range columns {
			p := Principal{Name: "某人", Role: tt.role, County: "532301"}
			if got := p.May(a); got != tt.want[i] {
				t.Errorf("%q may %s: %v, want %v", tt.role, a, got, tt.want[i])
			}
		}
	}
	if len(rows) != len(Roles) {
		t.Errorf("Roles is %v, the table has rows for %v: give every role a row", Roles, rows)
	}
	// Nothing but the actions of the list is permitted to anyone.
	for _, r := range Roles {
		if (Principal{Role: r}).May("delete") {
			t.Errorf("%s may delete", r)
		}
	}
}

func TestPrincipal_SeesCounty(t *testing.T) {
	tests := []struct {
		p    Principal
		code string
		want bool
	}{
		{Principal{Role: County, County: "532301"}, "532301", true},
		{Principal{Role: County, County: "532301"}, "532322", false},
		{Principal{Role: County, County: "532301"}, "", false},
		{Principal{Role: Supervisor}, "532322", true},
		{Principal{Role: Auditor}, "532322", true},
		{Principal{Role: Admin}, "532322", true},
	}
	for _, tt := range tests {
		if got := tt.p.SeesCounty(tt.code); got != tt.want {
			t.Errorf("%s of %q sees %q: %v, want %v", tt.p.Role, tt.p.County, tt.code, got, tt.want)
		}
	}
}

func TestPrincipal_Validate(t *testing.T) {
	tests := []struct {
		p    Principal
		want string // a part of the error; "" when valid
	}{
		{Principal{Name: "楚雄市投资促进局", Role: County, County: "532301"}, ""},
		{Principal{Name: "州督查室", Role: Supervisor}, ""},
		{Principal{Name: "审计", Role: Auditor}, ""},
		{Principal{Name: "管理员", Role: Admin}, ""},
		{Principal{Name: "x", Role: "root"}, `role "root": must be one of county, supervisor, auditor, admin`},
		{Principal{Name: "x", Role: ""}, "must be one of county, supervisor, auditor, admin"},
		{Principal{Name: "x", Role: County}, "county: is required for the county role"},
		{Principal{Name: "x", Role: Auditor, County: "532301"}, "county: only for the county role"},
		{Principal{Name: " ", Role: Admin}, "name: is required"},
		{Principal{Name: strings.Repeat("名", 101), Role: Admin}, "at most 100 characters"},
	}
	for _, tt := range tests {
		_, _, err := NewToken(tt.p, nil, time.Now())
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%+v: %v", tt.p, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%+v: %v, want %q", tt.p, err, tt.want)
		}
	}
}

func TestPrincipal_Scope(t *testing.T) {
	county := Principal{Name: "楚雄市投资促进局", Role: County, County: "532301"}
	for _, tc := range []struct {
		p          Principal
		asked      string
		wantCounty string
		wantNone   bool
	}{
		{county, "", "532301", false},
		{county, "532301", "532301", false},
		{county, "532322", "532301", true},
		{Principal{Role: Supervisor}, "", "", false},
		{Principal{Role: Supervisor}, "532322", "532322", false},
		{Principal{Role: Auditor}, "532322", "532322", false},
		{Principal{Role: Admin}, "", "", false},
	} {
		c, none := tc.p.Scope(tc.asked)
		if c != tc.wantCounty || none != tc.wantNone {
			t.Errorf("%s asking for %q: (%q, %v), want (%q, %v)", tc.p.Role, tc.asked, c, none, tc.wantCounty, tc.wantNone)
		}
		if sees := tc.p.SeesCounty("532322"); sees != (tc.p.Role != County) {
			t.Errorf("%s sees 532322: %v", tc.p.Role, sees)
		}
	}
}
