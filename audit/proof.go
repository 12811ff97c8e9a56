package audit

import "encoding/json"

// Proof is an inclusion proof as the ledger hands it out (GET
// /api/v1/commitments/{id}/proof) and as `ledger audit check-proof` reads
// it: one event as stored, where it stands among the sealed events, the
// path to the sealed tree head, and the seal. [CheckInclusion] checks it with
// nothing but the ledger's public key.
type Proof struct {
	Event        json.RawMessage `json:"event"`
	LeafIndex    uint64          `json:"leaf_index"`
	TreeSize     uint64          `json:"tree_size"`
	AuditPath    []string        `json:"audit_path"`
	Seal         Seal            `json:"seal"`
	SealSequence uint64          `json:"seal_sequence"`
	PublicKey    string          `json:"public_key"`
	Check        string          `json:"check"` // how to check it offline
}
