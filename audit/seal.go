package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"promiseledger/internal/atomicfile"
)

// SealType is the type of a seal message; seals share the ledger's stream
// on the subject ledger.seal.
const SealType = "ledger.seal"

// SealSubjectSuffix ends the subject of seals and key rotations: the
// ledger's subject prefix, then this (ledger.seal). No commitment's subject
// ends so: theirs end in a commitment id.
const SealSubjectSuffix = ".seal"

// Seal signs the Merkle tree head over every event hash up to a stream
// sequence.
type Seal struct {
	Type      string    `json:"type"` // SealType
	Schema    int       `json:"schema"`
	Sequence  uint64    `json:"sequence"`  // the last stream sequence it covers
	Events    uint64    `json:"events"`    // the events up to that sequence: the tree's size
	TreeHead  string    `json:"tree_head"` // hex RFC 6962 tree head over their hashes, in stream order
	SealedAt  time.Time `json:"sealed_at"`
	KeyID     string    `json:"key_id"`              // hex SHA-256 of the public key, first 8 bytes
	Signature string    `json:"signature,omitempty"` // base64 Ed25519 over RFC 8785 of the seal without "signature"
}

// signedBytes is what the signature covers.
func (s Seal) signedBytes() ([]byte, error) {
	s.Signature = ""
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return Canonical(b)
}

// Sign signs the seal.
func (s *Seal) Sign(key ed25519.PrivateKey) error {
	s.KeyID = KeyID(key.Public().(ed25519.PublicKey))
	b, err := s.signedBytes()
	if err != nil {
		return err
	}
	s.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, b))
	return nil
}

// ErrSignature is returned when a seal is not signed by the key.
var ErrSignature = errors.New("not signed by the ledger's key")

// Verify checks the seal's signature.
func (s Seal) Verify(pub ed25519.PublicKey) error {
	sig, err := base64.StdEncoding.DecodeString(s.Signature)
	if err != nil {
		return fmt.Errorf("signature is not base64: %w", ErrSignature)
	}
	b, err := s.signedBytes()
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, b, sig) {
		if s.KeyID != KeyID(pub) {
			return fmt.Errorf("signed by key %s, not %s: %w", s.KeyID, KeyID(pub), ErrSignature)
		}
		return fmt.Errorf("signature does not match the seal: %w", ErrSignature)
	}
	return nil
}

// Head decodes the tree head.
func (s Seal) Head() (Hash, error) {
	b, err := hex.DecodeString(s.TreeHead)
	if err != nil || len(b) != 32 {
		return Hash{}, fmt.Errorf("seal at %d: tree head %q is not a SHA-256", s.Sequence, s.TreeHead)
	}
	return Hash(b), nil
}

// KeyID names a public key: hex SHA-256 of it, first 8 bytes.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// PublicKeyText writes a public key as auditors pass it around: base64.
func PublicKeyText(pub ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(pub) }

// ParsePublicKey reads a public key as base64, or from a file holding base64
// or a PEM "PUBLIC KEY".
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == ed25519.PublicKeySize {
		return ed25519.PublicKey(b), nil
	}
	data, err := os.ReadFile(s)
	if err != nil {
		return nil, fmt.Errorf("public key: neither base64 nor a readable file: %w", err)
	}
	if blk, _ := pem.Decode(data); blk != nil {
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key %s: %w", s, err)
		}
		if pub, ok := k.(ed25519.PublicKey); ok {
			return pub, nil
		}
		return nil, fmt.Errorf("public key %s: not Ed25519", s)
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key %s: not a base64 Ed25519 key", s)
	}
	return ed25519.PublicKey(b), nil
}

// LoadKey reads an Ed25519 private key (PEM, PKCS #8) from path.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	return parseKey(path, data)
}

func parseKey(path string, data []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(data)
	if blk == nil {
		return nil, fmt.Errorf("seal key %s: not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("seal key %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("seal key %s: not Ed25519", path)
	}
	return key, nil
}

// LoadOrCreateKey reads an Ed25519 private key (PEM, PKCS #8) from path,
// creating one there, readable by its owner only, when there is none.
func LoadOrCreateKey(path string) (ed25519.PrivateKey, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, false, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, false, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, false, err
		}
		// Never half written: an empty key file would stop every later start.
		if err := atomicfile.Create(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, false, err
		}
		return key, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	key, err := parseKey(path, data)
	return key, false, err
}
