package access

import (
	"time"

	"promiseledger/events"
)

// TokenRequest asks for a token: the body of POST /api/v1/tokens, and the
// flags of `ledger token add`.
type TokenRequest struct {
	Name    string `json:"name"`
	Role    string `json:"role"`
	County  string `json:"county"`
	Expires string `json:"expires"`
}

// MakeToken checks a request for a token against the jurisdiction and
// makes it; the CLI and the API share it.
func MakeToken(req TokenRequest, j *events.Jurisdiction, now time.Time) (string, Token, error) {
	field := func(f, rule string) error { return &events.FieldError{Field: f, Rule: rule} }
	p := Principal{Name: req.Name, Role: Role(req.Role), County: req.County}
	if req.Name == "" {
		return "", Token{}, field("name", "is required, e.g. 楚雄市投资促进局")
	}
	// The name is written into every event the token records, as its actor.
	if err := events.CheckText("name", req.Name, events.NameOrCode); err != nil {
		return "", Token{}, err
	}
	switch {
	case !p.Role.Valid():
		return "", Token{}, field("role", "must be "+events.OneOf(Roles))
	case p.Role == County && req.County == "":
		return "", Token{}, field("county", "is required for the county role")
	case p.Role != County && req.County != "":
		return "", Token{}, field("county", "is only for the county role")
	}
	if req.County != "" {
		if _, ok := j.County(req.County); !ok {
			return "", Token{}, field("county", "is not a county of the jurisdiction")
		}
	}
	var expires *events.Date
	if req.Expires != "" {
		d, err := events.ParseDate(req.Expires)
		if err != nil {
			return "", Token{}, field("expires", "must be a date YYYY-MM-DD")
		}
		if d.Before(j.Today(now)) {
			return "", Token{}, field("expires", "must not be in the past")
		}
		expires = &d
	}
	bearer, t, err := NewToken(p, expires, now)
	if err != nil {
		return "", Token{}, field("name", err.Error())
	}
	return bearer, t, nil
}
