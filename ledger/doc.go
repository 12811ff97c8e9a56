// Package ledger carries out commands: it decides each one with the domain's
// rules against the commitment's current state, appends the resulting event
// with optimistic concurrency, decides again from fresh state when another
// writer got there first, answers idempotent retries with their first
// result, and returns only once the projections show the new event, so that
// every client reads its own writes.
package ledger
