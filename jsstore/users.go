package jsstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/access"
	"promiseledger/events"
)

var _ access.Users = (*Users)(nil)

// Buckets of the web pages' accounts and sign-ins.
const (
	DefaultUserBucket    = "LEDGER_USERS"
	DefaultSessionBucket = "LEDGER_SESSIONS"
)

// Users keeps the accounts in a key-value bucket and a copy in memory, kept
// current by watching the bucket, as [Tokens] does.
type Users struct {
	kv                   jetstream.KeyValue
	*mirror[access.User] // by name
}

func userKey(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "user." + hex.EncodeToString(sum[:16])
}

// OpenUsers opens the user bucket and loads every account.
func (s *Store) OpenUsers(ctx context.Context) (*Users, error) {
	kv, err := s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: DefaultUserBucket, Description: "Promise Ledger web accounts (password hashes only)",
		Storage: jetstream.FileStorage, Replicas: s.cfg.Replicas, History: 5,
	})
	if err != nil {
		return nil, fmt.Errorf("user bucket: %w", err)
	}
	m, err := watch(ctx, kv, "user.*", func(u access.User) string { return u.Name }, s.cfg.Logger.Error)
	if err != nil {
		return nil, fmt.Errorf("user bucket: %w", err)
	}
	return &Users{kv: kv, mirror: m}, nil
}

// Close stops watching the bucket.
func (u *Users) Close() { u.stop() }

// Get returns the user with the name.
func (u *Users) Get(name string) (access.User, bool) { return u.get(name) }

// List returns every user, by name.
func (u *Users) List() []access.User {
	out := u.all()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Add stores a new user under its name, which must be unused.
func (u *Users) Add(user access.User) error {
	b, err := json.Marshal(user)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := u.kv.Create(ctx, userKey(user.Name), b); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("user %q: %w", user.Name, access.ErrUserExists)
		}
		return fmt.Errorf("add user %q: %w", user.Name, err)
	}
	u.put(user)
	return nil
}

// Update changes the user with the name, with optimistic concurrency.
func (u *Users) Update(name string, change func(*access.User) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for attempt := 0; attempt < 20; attempt++ {
		e, err := u.kv.Get(ctx, userKey(name))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("user %q: %w", name, access.ErrNoUser)
		}
		if err != nil {
			return fmt.Errorf("user %q: %w", name, err)
		}
		var user access.User
		if err := json.Unmarshal(e.Value(), &user); err != nil {
			return fmt.Errorf("user %q: %w", name, err)
		}
		if err := change(&user); err != nil {
			return err
		}
		b, err := json.Marshal(user)
		if err != nil {
			return err
		}
		if _, err := u.kv.Update(ctx, e.Key(), b, e.Revision()); errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue
		} else if err != nil {
			return fmt.Errorf("user %q: %w", name, err)
		}
		u.put(user)
		return nil
	}
	return fmt.Errorf("user %q: the bucket kept changing: %w", name, events.ErrConflict)
}

// Sessions keeps sign-ins in a key-value bucket whose entries expire: a
// sign-in works on every instance and ends with sign-out or its age.
type Sessions struct {
	kv jetstream.KeyValue
}

// SessionTTL is how long a sign-in lasts.
const SessionTTL = 12 * time.Hour

// OpenSessions opens the session bucket.
func (s *Store) OpenSessions(ctx context.Context) (*Sessions, error) {
	kv, err := s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: DefaultSessionBucket, Description: "Promise Ledger web sign-ins (hashed ids)",
		Storage: jetstream.FileStorage, Replicas: s.cfg.Replicas, TTL: SessionTTL,
	})
	if err != nil {
		return nil, fmt.Errorf("session bucket: %w", err)
	}
	return &Sessions{kv: kv}, nil
}

func sessionKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "session." + hex.EncodeToString(sum[:])
}

func randomID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Create starts a session for the user: its id (for the cookie; only its
// hash is stored) and the session.
func (s *Sessions) Create(ctx context.Context, user access.User, now time.Time) (string, access.Session, error) {
	id, err := randomID()
	if err != nil {
		return "", access.Session{}, err
	}
	csrf, err := randomID()
	if err != nil {
		return "", access.Session{}, err
	}
	sess := access.Session{User: user.Name, CSRF: csrf, CreatedAt: now.UTC(), Password: user.ChangedAt}
	b, _ := json.Marshal(sess)
	if _, err := s.kv.Create(ctx, sessionKey(id), b); err != nil {
		return "", access.Session{}, fmt.Errorf("sign in: %w", err)
	}
	return id, sess, nil
}

// Lookup returns the session with the id, if it is there and not expired.
func (s *Sessions) Lookup(ctx context.Context, id string, now time.Time) (access.Session, bool) {
	if id == "" || len(id) > 64 {
		return access.Session{}, false
	}
	e, err := s.kv.Get(ctx, sessionKey(id))
	if err != nil {
		return access.Session{}, false
	}
	var sess access.Session
	if json.Unmarshal(e.Value(), &sess) != nil || now.Sub(sess.CreatedAt) > SessionTTL {
		return access.Session{}, false
	}
	return sess, true
}

// Delete ends the session with the id.
func (s *Sessions) Delete(ctx context.Context, id string) error {
	err := s.kv.Delete(ctx, sessionKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}
