package audit_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"promiseledger/audit"
)

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyRotation_Check(t *testing.T) {
	a, b, c := newKey(t), newKey(t), newKey(t)
	pub := func(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }
	rot, err := audit.NewKeyRotation(a, b, time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if next, err := rot.Check(pub(a)); err != nil || !next.Equal(pub(b)) {
		t.Fatalf("a rotation from the key in force: %v", err)
	}
	if next, err := rot.Check(nil); err != nil || !next.Equal(pub(b)) {
		t.Fatalf("a rotation checked against its own old key: %v", err)
	}
	forged := func(edit func(*audit.KeyRotation)) audit.KeyRotation { r := rot; edit(&r); return r }
	for name, r := range map[string]audit.KeyRotation{
		"from another key in force": rot,
		"new key swapped":           forged(func(r *audit.KeyRotation) { r.NewKey, r.NewKeyID = audit.PublicKeyText(pub(c)), audit.KeyID(pub(c)) }),
		"old key swapped":           forged(func(r *audit.KeyRotation) { r.OldKey, r.OldKeyID = audit.PublicKeyText(pub(c)), audit.KeyID(pub(c)) }),
		"date changed":              forged(func(r *audit.KeyRotation) { r.RotatedAt = r.RotatedAt.Add(time.Hour) }),
		"no new signature":          forged(func(r *audit.KeyRotation) { r.NewSignature = "" }),
	} {
		current := pub(a)
		if name == "from another key in force" {
			current = pub(c)
		}
		if name == "old key swapped" {
			current = nil
		}
		if _, err := r.Check(current); !errors.Is(err, audit.ErrSignature) {
			t.Errorf("%s: %v, want ErrSignature", name, err)
		}
	}
}
