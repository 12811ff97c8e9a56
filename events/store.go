package events

import "context"

// AppendResult is what a store says about an append.
type AppendResult struct {
	Sequence  uint64 // stream sequence of the stored event (of the first one, for a duplicate)
	Duplicate bool   // the idempotency key was seen before: nothing was appended
}

// Store is the append-only event log. Implementations must never edit or
// delete an event, and must acknowledge an append only once it is durable.
type Store interface {
	// Append stores ev on its commitment's subject if the last event stored
	// there has stream sequence expectedLast (0: the commitment has no events).
	// Otherwise it returns an error matching ErrConflict and stores nothing.
	// When ev.IdempotencyKey was used before, nothing is stored and the result
	// is a duplicate naming the sequence of the first event.
	Append(ctx context.Context, ev Event, expectedLast uint64) (AppendResult, error)

	// Load returns every event of one commitment, oldest first, with Sequence set.
	Load(ctx context.Context, commitmentID string) ([]Event, error)

	// Get returns the event at one stream sequence (ErrNotFound when none).
	Get(ctx context.Context, seq uint64) (Event, error)

	// LastSequence is the stream sequence of the newest event (0 when empty).
	LastSequence(ctx context.Context) (uint64, error)

	// Follow calls fn with every event after sequence after, in order, and
	// keeps following new events until ctx ends or fn returns an error. A
	// stored message that is not an event is delivered with only Sequence
	// set (and Type empty), so that followers can count it as seen.
	Follow(ctx context.Context, after uint64, fn func(Event) error) error
}
