// Package projections folds the ledger's events into the views people read:
// each commitment's current state (the contract's commitment shape), the
// per-county supervision summary, and the index of idempotency keys; and,
// through [Past], the same views as the ledger showed them at a past
// instant, folded on demand and shared fairly between those who ask. It
// follows the event stream through [events.Store] and knows nothing of NATS
// or HTTP: a principal is only a name to it.
package projections
