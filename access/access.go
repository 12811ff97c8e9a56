package access

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"promiseledger/events"
)

// Role is what a principal may do.
type Role string

// The roles.
const (
	County     Role = "county"     // a county office: its own county only
	Supervisor Role = "supervisor" // the prefecture: every county, approvals
	Auditor    Role = "auditor"    // reads everything, writes nothing
	Admin      Role = "admin"      // manages tokens, reads everything
)

// Roles lists the roles in a stable order.
var Roles = []Role{County, Supervisor, Auditor, Admin}

// Valid reports whether r is one of [Roles].
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Errors of authentication and authorisation.
var (
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrForbidden       = errors.New("forbidden")
	ErrTokenExists     = errors.New("a token with that name exists")
	ErrNoToken         = errors.New("no such token")
	ErrLastAdmin       = errors.New("the last admin token cannot be revoked")
)

// Principal is who a request comes from.
type Principal struct {
	Name   string // the office (or the program) a token or an account stands for
	Role   Role
	County string // for the county role
	Person string // the person signed in, for a web session; "" for a token
}

// Actor is how events name the principal: the office, and the person.
func (p Principal) Actor() events.Actor {
	return events.Actor{Name: p.Name, Role: string(p.Role), Person: p.Person}
}

// Scope is the one rule of who may see what across counties, which every
// read path applies: lists, single commitments, summaries, aging, alerts and
// their stream, the bulletin, proofs. Given the county a reader asks for
// ("" for all), it returns the county the answer must be limited to ("" for
// all) and whether nothing may be shown: a county office that asks for
// another county gets an empty answer (or 404), never that county's.
func (p Principal) Scope(asked string) (county string, none bool) {
	if p.Role != County {
		return asked, false
	}
	return p.County, asked != "" && asked != p.County
}

// SeesCounty reports whether the principal may read the county's commitments.
func (p Principal) SeesCounty(code string) bool {
	county, none := p.Scope(code)
	return !none && (county == "" || county == code)
}

// Action is a kind of request, as the permission table knows it.
type Action string

// The actions.
const (
	Read    Action = "read"    // any view, history included; county tokens see their county only
	Record  Action = "record"  // make a commitment, record or reverse a fulfilment, open a dispute
	Approve Action = "approve" // amend, waive, cancel, order supervision, resolve a dispute
	Manage  Action = "manage"  // tokens
	Audit   Action = "audit"   // verify the ledger, export it, consistency proofs
	Monitor Action = "monitor" // the service's metrics: counts across every county
)

// Actions lists the actions in a stable order.
var Actions = []Action{Read, Record, Approve, Manage, Audit, Monitor}

// permissions is the whole table of who may do what. Read it as the answer
// to "may role R take action A?"; the county role is further limited to its
// own county by [Principal.SeesCounty].
var permissions = map[Role]map[Action]bool{
	County:     {Read: true, Record: true},
	Supervisor: {Read: true, Record: true, Approve: true, Audit: true, Monitor: true},
	Auditor:    {Read: true, Audit: true, Monitor: true},
	Admin:      {Read: true, Manage: true, Monitor: true},
}

// May reports whether the principal's role may take the action.
func (p Principal) May(a Action) bool { return permissions[p.Role][a] }

// Token is the stored record of a bearer token: never the token itself,
// only the SHA-256 of its secret.
type Token struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Role      Role         `json:"role"`
	County    string       `json:"county,omitempty"`
	Hash      string       `json:"hash"`              // hex SHA-256 of the secret
	Expires   *events.Date `json:"expires,omitempty"` // valid through this date (jurisdiction calendar)
	CreatedAt time.Time    `json:"created_at"`
	RevokedAt *time.Time   `json:"revoked_at,omitempty"`
}

// DemoPrefix begins the id of every token of the synthetic demo data set;
// the ledger's own token ids are random letters and digits, never this.
const DemoPrefix = "demo-"

// Demo reports whether the token is one of the demo's well-known ones, whose
// secrets are public: honoured only while serving with --demo.
func (t Token) Demo() bool { return strings.HasPrefix(t.ID, DemoPrefix) }

// Principal is who the token stands for.
func (t Token) Principal() Principal { return Principal{Name: t.Name, Role: t.Role, County: t.County} }

// Active reports whether the token may be used on date today.
func (t Token) Active(today events.Date) bool {
	return t.RevokedAt == nil && (t.Expires == nil || !today.After(*t.Expires))
}

// Bearer tokens read pl_<id>_<secret>: the id finds the record, the secret
// proves possession.
const tokenPrefix = "pl_"

var (
	idPattern     = regexp.MustCompile(`^[a-z0-9-]{4,40}$`)
	secretPattern = regexp.MustCompile(`^[A-Za-z0-9]{4,64}$`)
)

// NewToken makes a token for a principal and returns the bearer string
// (shown once) and the record to store.
func NewToken(p Principal, expires *events.Date, now time.Time) (string, Token, error) {
	id, err := randomString(8, "0123456789abcdefghijklmnopqrstuvwxyz")
	if err != nil {
		return "", Token{}, err
	}
	secret, err := randomString(40, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
	if err != nil {
		return "", Token{}, err
	}
	return FixedToken(p, id, secret, expires, now)
}

// FixedToken makes a token with a given id and secret: for the demo data
// set's well-known tokens only.
func FixedToken(p Principal, id, secret string, expires *events.Date, now time.Time) (string, Token, error) {
	if err := p.validate(); err != nil {
		return "", Token{}, err
	}
	if !idPattern.MatchString(id) || !secretPattern.MatchString(secret) {
		return "", Token{}, fmt.Errorf("token id %q or secret has the wrong form", id)
	}
	return tokenPrefix + id + "_" + secret, Token{ID: id, Name: p.Name, Role: p.Role, County: p.County, Hash: hashSecret(secret), Expires: expires, CreatedAt: now.UTC()}, nil
}

func (p Principal) validate() error {
	var errs []error
	if strings.TrimSpace(p.Name) == "" || len([]rune(p.Name)) > 100 {
		errs = append(errs, errors.New("name: is required, at most 100 characters"))
	}
	if !p.Role.Valid() {
		errs = append(errs, fmt.Errorf("role %q: must be %s", p.Role, events.OneOf(Roles)))
	}
	if p.Role == County && p.County == "" {
		errs = append(errs, errors.New("county: is required for the county role"))
	}
	if p.Role != County && p.County != "" {
		errs = append(errs, errors.New("county: only for the county role"))
	}
	return errors.Join(errs...)
}

// Parse splits a bearer string into the record id and the secret.
func Parse(bearer string) (id, secret string, err error) {
	rest, ok := strings.CutPrefix(bearer, tokenPrefix)
	if !ok {
		return "", "", ErrUnauthenticated
	}
	i := strings.LastIndexByte(rest, '_')
	if i < 0 || !idPattern.MatchString(rest[:i]) || !secretPattern.MatchString(rest[i+1:]) {
		return "", "", ErrUnauthenticated
	}
	return rest[:i], rest[i+1:], nil
}

// Verify checks a secret against the record in constant time.
func (t Token) Verify(secret string) bool {
	got := hashSecret(secret)
	return subtle.ConstantTimeCompare([]byte(got), []byte(t.Hash)) == 1
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func randomString(n int, alphabet string) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}

// Registry is where token records are kept.
type Registry interface {
	// Lookup returns the record with the id.
	Lookup(id string) (Token, bool)
	// List returns every record, revoked ones included.
	List() []Token
	// Add stores a new record; a name in use is ErrTokenExists.
	Add(t Token) error
	// Revoke marks the record with the name revoked; ErrNoToken when none,
	// ErrLastAdmin when [CheckRevocation] refuses it.
	Revoke(name string, at time.Time) error
}

// CheckRevocation refuses to revoke, at the instant at, the last admin
// token: nobody could then add, list or revoke tokens through the API. It
// is the registry's rule, so the API and the CLI share it. Another admin
// token counts when it is not revoked and is still valid the day after at
// (in UTC: a registry has no calendar): one in its last day would leave
// nobody by tomorrow. A token that is not an admin's, or is revoked
// already, may be revoked. The error matches ErrLastAdmin, or ErrNoToken
// when no token has the name.
func CheckRevocation(ts []Token, name string, at time.Time) error {
	i := slices.IndexFunc(ts, func(t Token) bool { return t.Name == name })
	if i < 0 {
		return fmt.Errorf("token %q: %w", name, ErrNoToken)
	}
	if ts[i].Role != Admin || ts[i].RevokedAt != nil {
		return nil
	}
	tomorrow := events.DateOf(at, time.UTC).AddDays(1)
	for _, t := range ts {
		// A demo token's secret is public and a real ledger refuses it: it
		// administers nothing.
		if t.Name != name && t.Role == Admin && t.Active(tomorrow) && !t.Demo() {
			return nil
		}
	}
	return fmt.Errorf("token %q: no other admin token would remain (add one first): %w", name, ErrLastAdmin)
}

// Authenticate returns the principal of a bearer string, or an error
// matching ErrUnauthenticated that says why.
func Authenticate(r Registry, bearer string, today events.Date) (Principal, error) {
	id, secret, err := Parse(bearer)
	if err != nil {
		return Principal{}, fmt.Errorf("malformed token: %w", ErrUnauthenticated)
	}
	t, ok := r.Lookup(id)
	if !ok {
		// Hash anyway, so that an unknown id costs what a wrong secret does.
		_ = Token{Hash: strings.Repeat("0", 64)}.Verify(secret)
		return Principal{}, fmt.Errorf("unknown token: %w", ErrUnauthenticated)
	}
	if !t.Verify(secret) {
		return Principal{}, fmt.Errorf("unknown token: %w", ErrUnauthenticated)
	}
	switch {
	case t.RevokedAt != nil:
		return Principal{}, fmt.Errorf("token %q was revoked: %w", t.Name, ErrUnauthenticated)
	case !t.Active(today):
		return Principal{}, fmt.Errorf("token %q expired on %s: %w", t.Name, t.Expires, ErrUnauthenticated)
	}
	return t.Principal(), nil
}
