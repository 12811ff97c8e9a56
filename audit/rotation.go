package audit

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// KeyRotationType is the type of a key rotation record. It stands on the
// seal subject, in sequence: seals before it are signed by the old key,
// seals after it by the new one.
const KeyRotationType = "ledger.key_rotation"

// KeyRotation hands sealing from one key to the next. The old key signs it,
// so that whoever trusts the old key can trust the new one; the new key
// signs it too, so that nobody can name a key they do not hold.
type KeyRotation struct {
	Type         string    `json:"type"` // KeyRotationType
	Schema       int       `json:"schema"`
	OldKey       string    `json:"old_key"` // base64 public key
	OldKeyID     string    `json:"old_key_id"`
	NewKey       string    `json:"new_key"` // base64 public key
	NewKeyID     string    `json:"new_key_id"`
	RotatedAt    time.Time `json:"rotated_at"`
	Signature    string    `json:"signature,omitempty"`     // base64 Ed25519 by the old key over RFC 8785 of the record without either signature
	NewSignature string    `json:"new_signature,omitempty"` // the same, by the new key
}

func (k KeyRotation) signedBytes() ([]byte, error) {
	k.Signature, k.NewSignature = "", ""
	b, err := json.Marshal(k)
	if err != nil {
		return nil, err
	}
	return Canonical(b)
}

// NewKeyRotation makes a rotation from old to next, signed by both.
func NewKeyRotation(old, next ed25519.PrivateKey, at time.Time) (KeyRotation, error) {
	oldPub, newPub := old.Public().(ed25519.PublicKey), next.Public().(ed25519.PublicKey)
	k := KeyRotation{Type: KeyRotationType, Schema: 1,
		OldKey: PublicKeyText(oldPub), OldKeyID: KeyID(oldPub),
		NewKey: PublicKeyText(newPub), NewKeyID: KeyID(newPub), RotatedAt: at.UTC()}
	b, err := k.signedBytes()
	if err != nil {
		return KeyRotation{}, err
	}
	k.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(old, b))
	k.NewSignature = base64.StdEncoding.EncodeToString(ed25519.Sign(next, b))
	return k, nil
}

// Check verifies the rotation against the key in force (nil when not
// known: the rotation's own old key is then taken) and returns the new key.
func (k KeyRotation) Check(current ed25519.PublicKey) (ed25519.PublicKey, error) {
	oldPub, err := ParsePublicKey(k.OldKey)
	if err != nil {
		return nil, fmt.Errorf("key rotation: old key: %w", err)
	}
	newPub, err := ParsePublicKey(k.NewKey)
	if err != nil {
		return nil, fmt.Errorf("key rotation: new key: %w", err)
	}
	if current != nil && KeyID(current) != KeyID(oldPub) {
		return nil, fmt.Errorf("key rotation from key %s, but the key in force is %s: %w", KeyID(oldPub), KeyID(current), ErrSignature)
	}
	if k.OldKeyID != KeyID(oldPub) || k.NewKeyID != KeyID(newPub) {
		return nil, fmt.Errorf("key rotation: key ids do not match the keys: %w", ErrSignature)
	}
	b, err := k.signedBytes()
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		who string
		pub ed25519.PublicKey
		sig string
	}{{"old", oldPub, k.Signature}, {"new", newPub, k.NewSignature}} {
		sig, err := base64.StdEncoding.DecodeString(c.sig)
		if err != nil || !ed25519.Verify(c.pub, b, sig) {
			return nil, fmt.Errorf("key rotation to %s is not signed by the %s key: %w", k.NewKeyID, c.who, ErrSignature)
		}
	}
	return newPub, nil
}
