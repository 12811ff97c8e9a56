package projections

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"promiseledger/events"
)

// Receipt is what the ledger remembers of an idempotency key: the event it
// produced and a digest of the request that produced it.
type Receipt struct {
	CommitmentID string
	EventID      string
	Sequence     uint64
	Digest       string
}

// Projection is the in-memory state of every commitment, kept current by
// following the stream. Stored commitments are never mutated (each event
// replaces its commitment with an updated copy), so readers may share them.
type Projection struct {
	log *slog.Logger

	mu          sync.RWMutex
	commitments map[string]*events.Commitment
	ids         []string // commitment ids in order (UUID v7: the order they were made)
	receipts    map[string]Receipt
	applied     uint64        // stream sequence of the last event applied
	changed     chan struct{} // closed and replaced whenever applied moves
	skipped     int

	ready atomic.Bool
}

// New returns an empty projection.
func New(log *slog.Logger) *Projection {
	if log == nil {
		log = slog.Default()
	}
	return &Projection{
		log:         log,
		commitments: make(map[string]*events.Commitment),
		receipts:    make(map[string]Receipt),
		changed:     make(chan struct{}),
	}
}

// Run catches up with the store, marks the projection ready, and keeps
// following until ctx ends.
func (p *Projection) Run(ctx context.Context, store events.Store) error {
	target, err := store.LastSequence(ctx)
	if err != nil {
		return fmt.Errorf("projection: %w", err)
	}
	if target == 0 {
		p.ready.Store(true)
	}
	return store.Follow(ctx, p.Applied(), func(ev events.Event) error {
		p.Apply(ev)
		if !p.ready.Load() && ev.Sequence >= target {
			p.ready.Store(true)
			p.log.Info("projection caught up", "sequence", ev.Sequence, "commitments", p.Len())
		}
		return nil
	})
}

// Ready reports whether the projection has caught up with the stream as it
// was when Run started.
func (p *Projection) Ready() bool { return p.ready.Load() }

// Apply folds one event. Events must come in stream order; one already
// applied is ignored. An event that cannot be folded is logged and skipped:
// the stream is the truth, and one bad event must not stop every view.
func (p *Projection) Apply(ev events.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ev.Sequence <= p.applied {
		return
	}
	if ev.Type != "" {
		if err := p.fold(ev); err != nil {
			p.skipped++
			p.log.Error("projection skipped an event", "sequence", ev.Sequence, "type", ev.Type, "commitment", ev.CommitmentID, "err", err)
		}
	}
	p.applied = ev.Sequence
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Projection) fold(ev events.Event) error {
	old, exists := p.commitments[ev.CommitmentID]
	c := &events.Commitment{}
	if exists {
		c = old.Clone()
	}
	if err := c.Apply(ev); err != nil {
		return err
	}
	p.commitments[ev.CommitmentID] = c
	if !exists {
		i := sort.SearchStrings(p.ids, ev.CommitmentID)
		p.ids = slices.Insert(p.ids, i, ev.CommitmentID)
	}
	if ev.IdempotencyKey != "" {
		if _, seen := p.receipts[ev.IdempotencyKey]; !seen {
			p.receipts[ev.IdempotencyKey] = Receipt{CommitmentID: ev.CommitmentID, EventID: ev.ID, Sequence: ev.Sequence, Digest: ev.RequestDigest}
		}
	}
	return nil
}

// Applied is the stream sequence of the last event applied.
func (p *Projection) Applied() uint64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.applied
}

// Len is the number of commitments.
func (p *Projection) Len() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.ids)
}

// WaitFor blocks until the event at stream sequence seq has been applied, so
// that a client reads its own writes.
func (p *Projection) WaitFor(ctx context.Context, seq uint64) error {
	for {
		p.mu.RLock()
		applied, ch := p.applied, p.changed
		p.mu.RUnlock()
		if applied >= seq {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for sequence %d (at %d): %w", seq, applied, ctx.Err())
		}
	}
}

// Commitment returns the current state of one commitment. The result is
// shared: read it, never change it.
func (p *Projection) Commitment(id string) (*events.Commitment, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	c, ok := p.commitments[id]
	return c, ok
}

// Receipt returns what an idempotency key produced, if it was used.
func (p *Projection) Receipt(key string) (Receipt, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	r, ok := p.receipts[key]
	return r, ok
}

// Query selects commitments for a list. Empty fields do not filter.
type Query struct {
	County     string
	Kind       events.Kind
	Status     events.Status
	Department string
	Overdue    *bool
	Today      events.Date // the date on which overdue is judged
	After      string      // the last id of the previous page
	Limit      int
}

// List returns up to q.Limit commitments matching q, in id order, after
// q.After, and whether more follow. Ids only grow, so a page boundary
// neither skips nor repeats an item while new commitments arrive.
func (p *Projection) List(q Query) (items []*events.Commitment, more bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	start := 0
	if q.After != "" {
		start = sort.Search(len(p.ids), func(i int) bool { return p.ids[i] > q.After })
	}
	for _, id := range p.ids[start:] {
		c := p.commitments[id]
		if !q.matches(c) {
			continue
		}
		if len(items) == q.Limit {
			return items, true
		}
		items = append(items, c)
	}
	return items, false
}

func (q Query) matches(c *events.Commitment) bool {
	switch {
	case q.County != "" && c.County != q.County,
		q.Kind != "" && c.Kind != q.Kind,
		q.Status != "" && c.Status() != q.Status,
		q.Department != "" && c.Department != q.Department,
		q.Overdue != nil && (c.DaysOverdue(q.Today) > 0) != *q.Overdue:
		return false
	}
	return true
}

// Each calls fn for every commitment, in id order, under the read lock.
func (p *Projection) Each(fn func(*events.Commitment)) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, id := range p.ids {
		fn(p.commitments[id])
	}
}
