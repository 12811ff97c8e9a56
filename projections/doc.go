// Package projections folds the ledger's events into the views people read:
// each commitment's current state (the contract's commitment shape), the
// per-county supervision summary, and the index of idempotency keys. It
// follows the event stream through [events.Store] and knows nothing of NATS
// or HTTP.
package projections
