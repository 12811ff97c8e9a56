package access

import (
	"errors"
	"testing"
	"time"

	"promiseledger/events"
)

func TestCheckRevocation(t *testing.T) {
	at := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	day := func(s string) *events.Date { d := events.MustDate(s); return &d }
	revoked := at.Add(-time.Hour)
	tok := func(name string, role Role, expires *events.Date, revokedAt *time.Time) Token {
		return Token{ID: name, Name: name, Role: role, Expires: expires, RevokedAt: revokedAt}
	}
	tests := []struct {
		name    string
		tokens  []Token
		revoke  string
		wantErr error
	}{
		{"the only admin", []Token{tok("root", Admin, nil, nil), tok("office", County, nil, nil)}, "root", ErrLastAdmin},
		{"another admin", []Token{tok("root", Admin, nil, nil), tok("deputy", Admin, nil, nil)}, "root", nil},
		{"the other admin is revoked", []Token{tok("root", Admin, nil, nil), tok("deputy", Admin, nil, &revoked)}, "root", ErrLastAdmin},
		{"the other admin has expired", []Token{tok("root", Admin, nil, nil), tok("deputy", Admin, day("2026-11-01"), nil)}, "root", ErrLastAdmin},
		{"the other admin's last day", []Token{tok("root", Admin, nil, nil), tok("deputy", Admin, day("2026-11-27"), nil)}, "root", ErrLastAdmin},
		{"the other admin lasts beyond today", []Token{tok("root", Admin, nil, nil), tok("deputy", Admin, day("2026-11-28"), nil)}, "root", nil},
		{"a supervisor is no admin", []Token{tok("root", Admin, nil, nil), tok("boss", Supervisor, nil, nil)}, "root", ErrLastAdmin},
		{"not an admin", []Token{tok("root", Admin, nil, nil), tok("office", County, nil, nil)}, "office", nil},
		{"already revoked", []Token{tok("root", Admin, nil, &revoked)}, "root", nil},
		{"no such token", []Token{tok("root", Admin, nil, nil)}, "nobody", ErrNoToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRevocation(tt.tokens, tt.revoke, at)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("CheckRevocation(%s) = %v, want %v", tt.revoke, err, tt.wantErr)
			}
		})
	}
}
