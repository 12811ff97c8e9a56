// Package audit makes tampering evident. Every event carries the SHA-256 of
// its canonical form (RFC 8785 JSON canonicalization, specified in
// docs/audit.md) and the hash of its commitment's previous event; seals
// sign, with Ed25519, the RFC 6962 Merkle tree head over every event hash
// up to a stream sequence. The package verifies chains, seals and
// signatures, and builds and checks inclusion and consistency proofs, so
// that anyone holding the public key can check the ledger without trusting
// the server that keeps it. It knows nothing of NATS or HTTP.
package audit
