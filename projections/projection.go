package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"promiseledger/events"
	"promiseledger/internal/seqwait"
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
	applied     seqwait.Position // stream sequence of the last message applied; advanced under mu
	lastEvent   eventRef         // the last event folded
	partial     bool             // folds only some events of a history (the facts of a date): links are not checked
	tallies     *tallies         // the county figures of one day, kept as events apply; nil until asked for
	recorded    time.Time        // the latest recorded_at of the events folded
	snaps       []*snapshot      // see KeepSnapshots
	snapEvery   uint64
	snapKeep    int
	snapAt      uint64 // the sequence of the last snapshot

	ready    atomic.Bool
	fault    atomic.Pointer[error] // damage found: the projection stops and is never ready again
	faulted  chan struct{}         // closed when fault is set
	stats    stats
	onChange func(commitmentID string)
}

// OnChange registers fn to be told of every commitment an event changes,
// as the event is applied. fn must not block. Call it before Run.
func (p *Projection) OnChange(fn func(commitmentID string)) { p.onChange = fn }

// stats are the counters behind [Projection.Stats].
type stats struct {
	eventsApplied    atomic.Uint64
	restoredFrom     atomic.Uint64
	catchUpNanos     atomic.Int64
	lastCheckpoint   atomic.Uint64
	checkpointErrors atomic.Uint64
}

// Stats describe the projection for operators.
type Stats struct {
	Applied          uint64        // stream sequence of the last message applied
	EventsApplied    uint64        // events folded by this process (not counting a restored checkpoint)
	RestoredFrom     uint64        // sequence of the checkpoint this process started from; 0: from event one
	CatchUp          time.Duration // how long the last start took to be ready
	LastCheckpoint   uint64        // sequence of the last checkpoint saved or restored
	CheckpointErrors uint64
	Commitments      int
}

// Stats returns the projection's counters.
func (p *Projection) Stats() Stats {
	p.mu.RLock()
	applied, n := p.applied.Seq(), len(p.ids)
	p.mu.RUnlock()
	return Stats{
		Applied: applied, Commitments: n,
		EventsApplied:    p.stats.eventsApplied.Load(),
		RestoredFrom:     p.stats.restoredFrom.Load(),
		CatchUp:          time.Duration(p.stats.catchUpNanos.Load()),
		LastCheckpoint:   p.stats.lastCheckpoint.Load(),
		CheckpointErrors: p.stats.checkpointErrors.Load(),
	}
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
		faulted:     make(chan struct{}),
	}
}

// RunConfig says how the projection starts and saves itself.
type RunConfig struct {
	// Checkpoints, when set, is where the projection starts from and saves
	// its state: every Every events or Interval, whichever comes first, and
	// when it stops.
	Checkpoints Checkpoints
	Every       uint64        // default 10,000 events
	Interval    time.Duration // default 1 minute
	// Progress, when set, is told of each event folded while catching up.
	Progress func(applied, target uint64)
}

func (c *RunConfig) defaults() {
	if c.Every == 0 {
		c.Every = 10_000
	}
	if c.Interval == 0 {
		c.Interval = time.Minute
	}
}

// Run starts from the checkpoint when a trustworthy one exists (else from
// event one), catches up with the stream, marks the projection ready, and
// keeps following until ctx ends; then it saves a last checkpoint. Damage
// (an error matching events.ErrDamaged: a checkpoint ahead of the stream or
// not matching it, a gap, a message that is not an event, an event that
// cannot be folded) ends it: the projection is then never ready, and Err
// says why.
func (p *Projection) Run(ctx context.Context, store events.Store, cfg RunConfig) error {
	err := p.run(ctx, store, cfg)
	if errors.Is(err, events.ErrDamaged) {
		p.fail(err)
	}
	return err
}

func (p *Projection) run(ctx context.Context, store events.Store, cfg RunConfig) error {
	cfg.defaults()
	start := time.Now()
	if cfg.Checkpoints != nil {
		seq, err := p.restore(ctx, store, cfg.Checkpoints)
		switch {
		case err == nil:
			p.stats.restoredFrom.Store(seq)
			p.log.Info("projection restored from checkpoint", "projection", Name, "sequence", seq, "commitments", p.Len(), "took", time.Since(start))
		case errors.Is(err, ErrNoCheckpoint):
			p.log.Info("no checkpoint: projection rebuilds from event one", "projection", Name)
		case errors.Is(err, events.ErrDamaged):
			return err
		default:
			p.log.Warn("checkpoint ignored: projection rebuilds from event one", "projection", Name, "reason", err)
		}
	}
	if err := p.CatchUp(ctx, store, nil, cfg.Progress); err != nil {
		return err
	}
	p.stats.catchUpNanos.Store(int64(time.Since(start)))
	p.ready.Store(true)
	p.log.Info("projection ready", "projection", Name, "sequence", p.Applied(), "commitments", p.Len(), "took", time.Since(start))

	if cfg.Checkpoints != nil {
		done := make(chan struct{})
		go func() { defer close(done); p.checkpointLoop(ctx, cfg) }()
		defer func() {
			<-done
			if p.Err() != nil {
				return // never save a view of damaged data
			}
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if p.Applied() != p.stats.lastCheckpoint.Load() {
				if err := p.SaveCheckpoint(sctx, cfg.Checkpoints); err != nil {
					p.log.Error("final checkpoint failed", "projection", Name, "err", err)
				}
			}
		}()
	}
	return store.Follow(ctx, p.Applied(), p.Apply)
}

// fail records damage: the projection is no longer ready.
func (p *Projection) fail(err error) {
	if p.fault.CompareAndSwap(nil, &err) {
		close(p.faulted)
		p.log.Error("projection stopped: the ledger's data is damaged", "projection", Name, "err", err)
	}
}

// Err is the damage that stopped the projection, or nil.
func (p *Projection) Err() error {
	if e := p.fault.Load(); e != nil {
		return *e
	}
	return nil
}

// checkpointLoop saves a checkpoint when enough events or enough time have passed.
func (p *Projection) checkpointLoop(ctx context.Context, cfg RunConfig) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastSave := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		applied, saved := p.Applied(), p.stats.lastCheckpoint.Load()
		if applied == saved || (applied-saved < cfg.Every && time.Since(lastSave) < cfg.Interval) {
			continue
		}
		if err := p.SaveCheckpoint(ctx, cfg.Checkpoints); err != nil && ctx.Err() == nil {
			p.log.Error("checkpoint failed", "projection", Name, "err", err)
		}
		lastSave = time.Now()
	}
}

// errCaughtUp ends a catch-up's Follow.
var errCaughtUp = errors.New("caught up")

// CatchUp folds every message from the one after the last applied to the
// last one the stream holds now, then returns. keep, when set, selects the
// events to fold (the others only advance the sequence); progress, when set,
// is told of each message. Damage the store finds (a gap, a stall, a message
// that is not an event) ends it with an error matching events.ErrDamaged.
func (p *Projection) CatchUp(ctx context.Context, store events.Store, keep func(events.Event) bool, progress func(applied, target uint64)) error {
	target, err := store.LastSequence(ctx)
	if err != nil {
		return fmt.Errorf("projection: %w", err)
	}
	if p.Applied() >= target {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err = store.Follow(ctx, p.Applied(), func(ev events.Event) error {
		if keep != nil && !keep(ev) {
			ev = events.Event{Sequence: ev.Sequence}
		}
		if err := p.Apply(ev); err != nil {
			return err
		}
		if progress != nil {
			progress(ev.Sequence, target)
		}
		if ev.Sequence >= target {
			return errCaughtUp
		}
		return nil
	})
	if errors.Is(err, errCaughtUp) {
		return nil
	}
	return fmt.Errorf("projection catch-up: %w", err)
}

// Ready reports whether the projection has caught up with the stream as it
// was when Run started, and found no damage.
func (p *Projection) Ready() bool { return p.ready.Load() && p.fault.Load() == nil }

// Apply folds one message. Messages must come in stream order; one already
// applied is ignored, and one without a type (a seal, or an event filtered
// out) only advances the sequence. An event that cannot be folded is
// damage: the error matches events.ErrDamaged and nothing is applied, for a
// view that passed over an event would answer wrongly from then on.
func (p *Projection) Apply(ev events.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ev.Sequence <= p.applied.Seq() {
		return nil
	}
	if ev.Type != "" {
		if err := p.fold(ev); err != nil {
			if p.partial {
				// A fold of the facts of a date keeps only some events of a
				// history: one it cannot fold says nothing of the stored data.
				return fmt.Errorf("the facts of event %s (%s) of commitment %s cannot be folded on their own date: %w", ev.ID, ev.Type, ev.CommitmentID, err)
			}
			return &events.DamageError{Sequence: ev.Sequence, Problem: fmt.Sprintf("event %s (%s) of commitment %s cannot be folded: %v", ev.ID, ev.Type, ev.CommitmentID, err)}
		}
		p.lastEvent = eventRef{Sequence: ev.Sequence, ID: ev.ID}
		if ev.RecordedAt.After(p.recorded) {
			p.recorded = ev.RecordedAt
		}
		p.stats.eventsApplied.Add(1)
		if p.onChange != nil {
			p.onChange(ev.CommitmentID)
		}
	}
	p.snapshotLocked(ev.Sequence)
	p.applied.Advance(ev.Sequence) // after the fold: whoever it wakes reads the new state
	return nil
}

func (p *Projection) fold(ev events.Event) error {
	old, exists := p.commitments[ev.CommitmentID]
	c := &events.Commitment{}
	if exists {
		c = old.Clone()
	}
	if exists && !p.partial {
		if err := c.Links(ev); err != nil {
			return err
		}
	}
	if err := c.Apply(ev); err != nil {
		return err
	}
	if p.tallies != nil {
		if exists {
			p.tallies.add(old, -1)
		}
		p.tallies.add(c, 1)
	}
	p.commitments[ev.CommitmentID] = c
	if !exists {
		i := sort.SearchStrings(p.ids, ev.CommitmentID)
		p.ids = slices.Insert(p.ids, i, ev.CommitmentID)
	}
	if ev.IdempotencyKey != "" {
		k := ReceiptKey(ev.Actor.Name, ev.IdempotencyKey)
		if _, seen := p.receipts[k]; !seen {
			p.receipts[k] = Receipt{CommitmentID: ev.CommitmentID, EventID: ev.ID, Sequence: ev.Sequence, Digest: ev.RequestDigest}
		}
	}
	return nil
}

// factBy reports whether an event is a fact of date on or before, for a
// fold of the facts as they stood on that date: by its effective date,
// except what corrects the record, which counts whatever its date when
// what it corrects is there (a correction or voiding of a commitment made
// by then, a reversal of a fulfilment kept).
func (p *Projection) factBy(ev events.Event, on events.Date) bool {
	p.mu.RLock()
	c, exists := p.commitments[ev.CommitmentID]
	p.mu.RUnlock()
	switch ev.Type {
	case events.CommitmentCorrectedType, events.CommitmentVoidedType:
		return exists
	case events.FulfillmentReversedType:
		data, err := ev.Decode()
		if err != nil || !exists {
			return false
		}
		id := data.(*events.FulfillmentReversed).FulfillmentID
		return slices.ContainsFunc(c.Fulfillments, func(f events.Fulfillment) bool { return f.ID == id && !f.Reversed })
	}
	if ev.EffectiveOn.After(on) {
		return false
	}
	// A step on an order, a dispute's resolution, a request's decision
	// counts only with what it answers (an effective date can come out
	// earlier than its order's when instances' clocks differ).
	if !exists {
		return ev.Type == events.CommitmentMadeType
	}
	data, err := ev.Decode()
	if err != nil {
		return false
	}
	switch d := data.(type) {
	case *events.OrderSignedFor:
		return hasOrder(c, d.OrderID)
	case *events.OrderProgressed:
		return hasOrder(c, d.OrderID)
	case *events.OrderClosureAsked:
		return hasOrder(c, d.OrderID)
	case *events.OrderClosedData:
		return hasOrder(c, d.OrderID)
	case *events.DisputeResolved:
		return slices.ContainsFunc(c.Disputes, func(x events.Dispute) bool { return x.ID == d.DisputeID })
	case *events.ExtensionDecided:
		return slices.ContainsFunc(c.ExtensionRequests, func(x events.ExtensionRequest) bool { return x.ID == d.RequestID })
	}
	return true
}

// Applied is the stream sequence of the last event applied.
func (p *Projection) Applied() uint64 { return p.applied.Seq() }

// Len is the number of commitments.
func (p *Projection) Len() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.ids)
}

// WaitFor blocks until the event at stream sequence seq has been applied, so
// that a client reads its own writes. Damage found meanwhile ends the wait
// with it: that event will never be applied.
func (p *Projection) WaitFor(ctx context.Context, seq uint64) error {
	return p.applied.WaitUnless(ctx, seq, p.faulted, p.Err)
}

// Commitment returns the current state of one commitment. The result is
// shared: read it, never change it.
func (p *Projection) Commitment(id string) (*events.Commitment, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	c, ok := p.commitments[id]
	return c, ok
}

// ReceiptKey scopes an idempotency key to the principal that sent it:
// another office's key is never taken for a retry of ours.
func ReceiptKey(actor, key string) string { return events.IdempotencyScope(actor, key) }

// Receipt returns what an idempotency key (see [ReceiptKey]) produced, if it was used.
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
	// Search: Words must each appear (any case) in the project, investor,
	// description or reference; CreditCode, Actor and EventType match
	// exactly; Investor and Project are parts of the name; the due date and
	// the first recording fall within their bounds (zero: open).
	Words          []string
	CreditCode     string
	Investor       string
	Project        string
	Actor          string
	EventType      events.Type
	DueFrom, DueTo events.Date
	Light          events.Light // the traffic light, judged on Today by the thresholds below
	DueSoonDays    int
	AckDays        int
	RecordedFrom   time.Time
	RecordedTo     time.Time
	Today          events.Date // the date on which overdue is judged
	After          string      // the last id of the previous page
	Limit          int
	Nothing        bool // match nothing (a filter the principal may not use)
}

// List returns up to q.Limit commitments matching q, in id order, after
// q.After, and whether more follow. Ids only grow, so a page boundary
// neither skips nor repeats an item while new commitments arrive.
func (p *Projection) List(q Query) (items []*events.Commitment, more bool) {
	if q.Nothing || q.Limit < 1 {
		return nil, false
	}
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
		q.Overdue != nil && (c.DaysOverdue(q.Today) > 0) != *q.Overdue,
		q.CreditCode != "" && c.Investor.CreditCode != q.CreditCode,
		q.Investor != "" && !strings.Contains(strings.ToLower(c.Investor.Name), strings.ToLower(q.Investor)),
		q.Project != "" && !strings.Contains(strings.ToLower(c.Project), strings.ToLower(q.Project)),
		q.Actor != "" && !slices.Contains(c.Actors, q.Actor),
		q.EventType != "" && !slices.Contains(c.Types, q.EventType),
		q.Light != "" && c.Light(q.Today, q.DueSoonDays, q.AckDays) != q.Light,
		!q.DueFrom.IsZero() && c.Due.Before(q.DueFrom),
		!q.DueTo.IsZero() && c.Due.After(q.DueTo),
		!q.RecordedFrom.IsZero() && c.RecordedAt.Before(q.RecordedFrom),
		!q.RecordedTo.IsZero() && c.RecordedAt.After(q.RecordedTo):
		return false
	}
	return allWords(q.Words, c.Project+"\n"+c.Investor.Name+"\n"+c.Description+"\n"+c.Reference)
}

// Each calls fn for every commitment, in id order, under the read lock.
func (p *Projection) Each(fn func(*events.Commitment)) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, id := range p.ids {
		fn(p.commitments[id])
	}
}

func hasOrder(c *events.Commitment, id string) bool {
	return slices.ContainsFunc(c.SupervisionOrders, func(o events.SupervisionOrder) bool { return o.ID == id })
}
