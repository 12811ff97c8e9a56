package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"promiseledger/events"
)

// EventHash is the hash of a stored event (docs/audit.md): the event's JSON
// object without its "hash" and "sequence" members, canonicalized with
// RFC 8785, hashed with SHA-256, written in lowercase hex.
func EventHash(stored []byte) (string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(stored, &m); err != nil {
		return "", fmt.Errorf("event hash: %w", err)
	}
	delete(m, "hash")
	delete(m, "sequence")
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	c, err := Canonical(b)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c)
	return hex.EncodeToString(sum[:]), nil
}

// SealEvent sets ev.Hash from the event as it will be stored.
func SealEvent(ev *events.Event) error {
	ev.Hash, ev.Sequence = "", 0
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	ev.Hash, err = EventHash(b)
	return err
}
