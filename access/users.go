package access

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"promiseledger/events"
)

// User is a person who signs in to the web pages: a name and a password,
// under an office that has a role and, for a county office, a county, as a
// token has. Every event the person records names both (the actor's name
// is the office, its person the user).
type User struct {
	Name         string     `json:"name"`   // the sign-in name, e.g. zhangsan
	Office       string     `json:"office"` // e.g. 楚雄市投资促进局
	Role         Role       `json:"role"`
	County       string     `json:"county,omitempty"`
	PasswordHash string     `json:"password_hash"` // argon2id, PHC string form
	CreatedAt    time.Time  `json:"created_at"`
	ChangedAt    time.Time  `json:"password_changed_at"`
	DisabledAt   *time.Time `json:"disabled_at,omitempty"`
	Demo         bool       `json:"demo,omitempty"` // one of the demo's accounts, whose passwords are public
}

// Principal is who the user acts as.
func (u User) Principal() Principal {
	return Principal{Name: u.Office, Role: u.Role, County: u.County, Person: u.Name}
}

// Active reports whether the user may sign in.
func (u User) Active() bool { return u.DisabledAt == nil }

// Errors of the user accounts.
var (
	ErrUserExists = errors.New("a user with that name exists")
	ErrNoUser     = errors.New("no such user")
	ErrBadSignIn  = errors.New("wrong user name or password")
)

// Session is one sign-in: whose, the token its forms carry against
// cross-site requests, and when it began.
type Session struct {
	User      string    `json:"user"`
	CSRF      string    `json:"csrf"`
	CreatedAt time.Time `json:"created_at"`
	Password  time.Time `json:"password_changed_at"` // the user's password as of signing in: a later change ends the session
}

// Users keeps the accounts.
type Users interface {
	// Get returns the user with the name.
	Get(name string) (User, bool)
	// List returns every user, disabled ones included.
	List() []User
	// Add stores a new user; a name in use is ErrUserExists.
	Add(u User) error
	// Update changes the user with the name; ErrNoUser when none.
	Update(name string, change func(*User) error) error
}

// UserRequest is a new account as an admin asks for it.
type UserRequest struct {
	Name, Office, Role, County, Password string
}

// NewUser checks a request and makes the account, its password hashed.
func NewUser(r UserRequest, counties interface{ Has(string) bool }, now time.Time) (User, error) {
	field := fieldError
	switch {
	case !userName.MatchString(r.Name):
		return User{}, field("name", "must be 2 to 32 letters, digits, '.', '_' or '-', beginning with a letter or digit")
	case strings.TrimSpace(r.Office) == "" || utf8.RuneCountInString(r.Office) > 64:
		return User{}, field("office", "is required: the office's name, at most 64 characters")
	}
	p := Principal{Name: strings.TrimSpace(r.Office), Role: Role(r.Role), County: r.County}
	switch {
	case !p.Role.Valid():
		return User{}, field("role", "must be "+events.OneOf(Roles))
	case p.Role == County && p.County == "":
		return User{}, field("county", "is required for the county role")
	case p.Role != County && p.County != "":
		return User{}, field("county", "only for the county role")
	}
	if p.Role == County && counties != nil && !counties.Has(p.County) {
		return User{}, field("county", "is not a county of the jurisdiction")
	}
	hash, err := HashPassword(r.Password)
	if err != nil {
		return User{}, err
	}
	now = now.UTC()
	return User{Name: r.Name, Office: strings.TrimSpace(r.Office), Role: p.Role, County: p.County, PasswordHash: hash, CreatedAt: now, ChangedAt: now}, nil
}

var userName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,31}$`)

func fieldError(f, rule string) error { return &events.FieldError{Field: f, Rule: rule} }

// MinPassword is the shortest password taken.
const MinPassword = 10

// argon2id parameters: OWASP's first recommendation (19 MiB, 2 passes, 1
// lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword hashes a password with argon2id and a random salt, in the
// PHC string form ($argon2id$v=19$m=…,t=…,p=…$salt$hash); a password too
// short or too long is a field error of "password".
func HashPassword(pw string) (string, error) {
	if n := utf8.RuneCountInString(pw); n < MinPassword || len(pw) > 256 {
		return "", fieldError("password", fmt.Sprintf("must be %d to 256 characters", MinPassword))
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether pw is the password of the hash.
func CheckPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var memory, passes uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &passes, &threads); err != nil || memory > 1<<20 || passes > 16 || threads == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, passes, memory, threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

// dummyHash is checked against when the user does not exist, so that a
// sign-in takes as long whether or not the name is known.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("no such user, no such password")
	return h
})

// SignIn checks a user's name and password: the user, or ErrBadSignIn
// (the same for an unknown name, a wrong password and a disabled account).
func SignIn(users Users, name, pw string) (User, error) {
	u, ok := users.Get(name)
	hash := u.PasswordHash
	if !ok {
		hash = dummyHash()
	}
	if !CheckPassword(hash, pw) || !ok || !u.Active() {
		return User{}, ErrBadSignIn
	}
	return u, nil
}
