package audit

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	"promiseledger/events"
)

// EventHash is the hash of a stored event (docs/audit.md): the event's JSON
// object without its "hash" and "sequence" members, canonicalized with
// RFC 8785, hashed with SHA-256, written in lowercase hex.
func EventHash(stored []byte) (string, error) {
	h, _, err := hashAndFields(stored)
	return h, err
}

// hashedMembers are left out of the hashed form.
var hashedMembers = []string{"hash", "sequence"}

// eventFields are what verification reads of each event, taken in the same pass.
var eventFields = []string{"id", "type", "commitment_id", "prev_hash", "hash"}

// hashAndFields computes an event's hash and reads its eventFields.
func hashAndFields(stored []byte) (string, [5]string, error) {
	var f [5]string
	var sum [32]byte
	err := canonicalTopSum(stored, hashedMembers, eventFields, f[:], &sum)
	if err != nil {
		return "", f, fmt.Errorf("event hash: %w", err)
	}
	return hex.EncodeToString(sum[:]), f, nil
}

// HashEvent sets ev.Hash from the event as it will be stored (it only hashes;
// seals are the sealer's).
func HashEvent(ev *events.Event) error {
	ev.Hash, ev.Sequence = "", 0
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	ev.Hash, err = EventHash(b)
	return err
}
