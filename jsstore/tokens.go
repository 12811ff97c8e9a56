package jsstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/access"
	"promiseledger/events"
)

var _ access.Registry = (*Tokens)(nil)

// DefaultTokenBucket is the key-value bucket of token records, shared by
// every ledger instance on a cluster.
const DefaultTokenBucket = "LEDGER_TOKENS"

// Tokens keeps token records in a JetStream key-value bucket and a copy in
// memory, kept current by watching the bucket, so a token added or revoked
// on one instance takes effect on all.
type Tokens struct {
	kv                    jetstream.KeyValue
	*mirror[access.Token] // by id
}

// OpenTokens opens the token bucket and loads every record.
func (s *Store) OpenTokens(ctx context.Context) (*Tokens, error) {
	kv, err := s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: DefaultTokenBucket, Description: "Promise Ledger bearer tokens (hashes only)",
		Storage: jetstream.FileStorage, Replicas: s.cfg.Replicas, History: 5,
	})
	if err != nil {
		return nil, fmt.Errorf("token bucket: %w", err)
	}
	m, err := watch(ctx, kv, "token.*", func(t access.Token) string { return t.ID }, s.cfg.Logger.Error)
	if err != nil {
		return nil, fmt.Errorf("token bucket: %w", err)
	}
	return &Tokens{kv: kv, mirror: m}, nil
}

// Close stops watching the bucket.
func (t *Tokens) Close() { t.stop() }

func tokenKey(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "token." + hex.EncodeToString(sum[:16])
}

// Lookup returns the record with the id.
func (t *Tokens) Lookup(id string) (access.Token, bool) { return t.get(id) }

// List returns every record, oldest first.
func (t *Tokens) List() []access.Token {
	out := t.all()
	sortTokens(out)
	return out
}

// Add stores a new record under its name, which must be unused.
func (t *Tokens) Add(tok access.Token) error {
	b, err := json.Marshal(tok)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := t.kv.Create(ctx, tokenKey(tok.Name), b); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("token %q: %w", tok.Name, access.ErrTokenExists)
		}
		return fmt.Errorf("add token %q: %w", tok.Name, err)
	}
	t.put(tok)
	return nil
}

// Revoke marks the named token revoked; the record stays for the audit
// trail. The last admin token is not revoked ([access.CheckRevocation]).
func (t *Tokens) Revoke(name string, at time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	at = at.UTC()
	for attempt := 0; attempt < 20; attempt++ {
		e, err := t.kv.Get(ctx, tokenKey(name))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("token %q: %w", name, access.ErrNoToken)
		}
		if err != nil {
			return fmt.Errorf("revoke token %q: %w", name, err)
		}
		var tok access.Token
		if err := json.Unmarshal(e.Value(), &tok); err != nil {
			return fmt.Errorf("revoke token %q: %w", name, err)
		}
		if tok.RevokedAt != nil {
			return nil
		}
		if tok.Role == access.Admin {
			err := t.claimAdminRevocation(ctx, tok, at)
			if errors.Is(err, errMoved) {
				continue
			}
			if err != nil {
				return err
			}
		}
		tok.RevokedAt = &at
		b, err := json.Marshal(tok)
		if err != nil {
			return err
		}
		if _, err := t.kv.Update(ctx, e.Key(), b, e.Revision()); errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue // revoked meanwhile, or renewed: read it again
		} else if err != nil {
			return fmt.Errorf("revoke token %q: %w", name, err)
		}
		t.put(tok)
		return nil
	}
	return fmt.Errorf("revoke token %q: the bucket kept changing: %w", name, events.ErrConflict)
}

// adminRevocationsKey holds the ids of the admin tokens whose revocation
// was decided. Revoking an admin token first adds its id there, with
// optimistic concurrency on the key, so that revocations on several
// instances, or by the CLI and the API, are decided one after another, each
// seeing those before it even before their records are written.
const adminRevocationsKey = "admin-revocations"

// errMoved: the bucket changed between reading and writing; read again.
var errMoved = errors.New("token bucket changed meanwhile")

// claimAdminRevocation decides whether the admin token tok may be revoked
// and, when it may, records the decision.
func (t *Tokens) claimAdminRevocation(ctx context.Context, tok access.Token, at time.Time) error {
	var claimed []string
	var rev uint64
	e, err := t.kv.Get(ctx, adminRevocationsKey)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return fmt.Errorf("revoke token %q: %w", tok.Name, err)
	default:
		if err := json.Unmarshal(e.Value(), &claimed); err != nil {
			return fmt.Errorf("revoke token %q: %s: %w", tok.Name, adminRevocationsKey, err)
		}
		rev = e.Revision()
	}
	if slices.Contains(claimed, tok.ID) {
		return nil // decided before; its record was not written yet
	}
	// Every token this instance knows, those decided revoked counted so,
	// and this one as the bucket holds it now. A token another instance
	// added a moment ago may be missing: that refuses, never allows, more.
	ts := slices.DeleteFunc(t.List(), func(x access.Token) bool { return x.ID == tok.ID })
	for i := range ts {
		if ts[i].RevokedAt == nil && slices.Contains(claimed, ts[i].ID) {
			ts[i].RevokedAt = &at
		}
	}
	ts = append(ts, tok)
	if err := access.CheckRevocation(ts, tok.Name, at); err != nil {
		return err
	}
	b, err := json.Marshal(append(claimed, tok.ID))
	if err != nil {
		return err
	}
	if rev == 0 {
		_, err = t.kv.Create(ctx, adminRevocationsKey, b)
	} else {
		_, err = t.kv.Update(ctx, adminRevocationsKey, b, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return errMoved
	}
	if err != nil {
		return fmt.Errorf("revoke token %q: %w", tok.Name, err)
	}
	return nil
}

func sortTokens(ts []access.Token) {
	sort.Slice(ts, func(i, j int) bool {
		if !ts[i].CreatedAt.Equal(ts[j].CreatedAt) {
			return ts[i].CreatedAt.Before(ts[j].CreatedAt)
		}
		return ts[i].Name < ts[j].Name
	})
}
