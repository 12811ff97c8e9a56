package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"promiseledger/events"
)

// FoldTimeout is how long one fold may take by default, waiting for its
// turn included: past it, the fold ends with an error matching
// events.ErrNotReady rather than keep its callers waiting.
const FoldTimeout = 60 * time.Second

// ErrPending: the principal already has a fold of another instant running or
// waiting. Errors matching it are a [*PendingError].
var ErrPending = errors.New("a past view is already being computed for this principal")

// PendingError refuses a fold to a principal who has one pending already.
type PendingError struct {
	At      time.Time // the instant asked for
	Pending time.Time // the instant being folded for the principal
	// RetryAfter is about how long the pending fold will take: the last
	// fold's duration, at least a second.
	RetryAfter time.Duration
}

func (e *PendingError) Error() string {
	return fmt.Sprintf("a view as of %s is being computed for this principal, one at a time: ask for %s when it is done",
		e.Pending.Format(time.RFC3339Nano), e.At.Format(time.RFC3339Nano))
}

func (e *PendingError) Unwrap() error { return ErrPending }

// Past answers the views as the ledger showed them at past instants. Each
// answer is a fold, into a new projection, of every event recorded at or
// before the instant: it reads the stream from event one, so it costs about
// a rebuild. So that one principal cannot starve the others:
//
//   - requests for the same instant at the same time share one fold;
//   - the last few answers for instants safely in the past are kept, since
//     nothing recorded later can change them;
//   - a principal has at most one fold running or waiting: another instant
//     asked meanwhile is refused with a [*PendingError];
//   - at most a few folds run at once, in the order they were asked for, so
//     that every principal's fold gets its turn;
//   - a fold ends after its timeout, waiting for its turn included.
//
// A fold does not end when the requests waiting for it go away: it is still
// the principal's fold, and its answer may be kept for them to ask again.
type Past struct {
	store   events.Store
	now     func() time.Time
	keep    int
	timeout time.Duration
	slots   chan struct{} // at most cap(slots) folds at once

	mu       sync.Mutex
	cache    []pastView           // newest last
	inflight map[instant]*fold    // the folds running or waiting, by instant
	pending  map[string]time.Time // the instant of each principal's fold
	lastTook time.Duration        // how long the last fold took

	stats    pastStats
	onDamage func(error)                   // told of damage a fold finds
	from     func(t time.Time) *Projection // a snapshot to start a fold from, or nil
}

// instant is a map key for a past view: the instant recorded by, and the
// date of the facts (zero: every fact recorded by then).
type instant struct {
	sec  int64
	nsec int
	on   events.Date
}

func keyOf(t time.Time, on events.Date) instant { return instant{t.Unix(), t.Nanosecond(), on} }

// fold is one fold, shared by every request for its instant.
type fold struct {
	at   time.Time
	on   events.Date
	done chan struct{} // closed when view or err is set
	view *Projection
	err  error
}

// pastView is a projection as of an instant.
type pastView struct {
	at   time.Time
	on   events.Date
	view *Projection
}

// PastConfig sizes a [Past]. A zero field takes its default.
type PastConfig struct {
	// Folds is how many folds may run at once (default 2), so that requests
	// for many past instants cannot take every core from the live ledger.
	Folds int
	// Keep is how many answers are kept (default 4): enough for an auditor
	// paging through one past date, or comparing two.
	Keep int
	// Timeout bounds each fold (default [FoldTimeout]).
	Timeout time.Duration
	// OnDamage, when set, is told of damage a fold finds in the stream, so
	// that the ledger stops serving rather than answer only this request.
	OnDamage func(error)
	// From, when set, gives a projection to start a fold of what was
	// recorded by t from (the live view's snapshot: [Projection.From]), or
	// nil to fold from event one.
	From func(t time.Time) *Projection
}

// NewPast returns a Past over store; now is the clock (time.Now when nil).
func NewPast(store events.Store, now func() time.Time, cfg PastConfig) *Past {
	if now == nil {
		now = time.Now
	}
	if cfg.Folds < 1 {
		cfg.Folds = 2
	}
	if cfg.Keep < 1 {
		cfg.Keep = 4
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = FoldTimeout
	}
	return &Past{store: store, now: now, keep: cfg.Keep, timeout: cfg.Timeout, slots: make(chan struct{}, cfg.Folds), onDamage: cfg.OnDamage, from: cfg.From,
		inflight: map[instant]*fold{}, pending: map[string]time.Time{}}
}

// pastStats are the counters behind [Past.Stats].
type pastStats struct {
	folds        atomic.Uint64
	shared       atomic.Uint64
	cached       atomic.Uint64
	refused      atomic.Uint64
	timedOut     atomic.Uint64
	waiting      atomic.Int64
	fromSnapshot atomic.Uint64
}

// PastStats describe the past views for operators.
type PastStats struct {
	Folds        uint64 // folds started
	Shared       uint64 // answers that waited for a fold another request started
	Cached       uint64 // answers served from the kept ones
	Refused      uint64 // requests refused: their principal had another fold pending
	TimedOut     uint64 // folds ended by their timeout
	Waiting      int64  // requests waiting for a fold now
	FromSnapshot uint64 // folds that started from a snapshot of the live view, not from event one
}

// Stats returns the counters of the past views.
func (p *Past) Stats() PastStats {
	return PastStats{
		Folds: p.stats.folds.Load(), Shared: p.stats.shared.Load(), Cached: p.stats.cached.Load(),
		Refused: p.stats.refused.Load(), TimedOut: p.stats.timedOut.Load(), Waiting: p.stats.waiting.Load(),
		FromSnapshot: p.stats.fromSnapshot.Load(),
	}
}

// View returns the projection as of instant t, for the principal who (any
// string that names one; "" is one too): every event recorded at or before
// t, folded. It is a kept answer, or the fold of t that is running for
// anyone, or else a new fold, unless who has one pending for another
// instant: then the error is a [*PendingError]. A fold that passes its
// timeout, or a ctx that ends first, gives an error matching
// events.ErrNotReady.
func (p *Past) View(ctx context.Context, who string, t time.Time) (*Projection, error) {
	return p.ViewOn(ctx, who, t, events.Date{})
}

// ViewOn is View, keeping of the facts recorded by t only those of date
// on or before (zero: all): what was owed and overdue on that date, by the
// dates of the facts — a fulfilment counts from its fulfilled_on, an
// amendment, waiver or dispute from its effective date — with overdue
// judged on it. What corrects the record (a reversal of a fulfilment it
// keeps, a correction, a voiding) counts whatever its date: the mistake it
// mends was never a fact.
func (p *Past) ViewOn(ctx context.Context, who string, t time.Time, on events.Date) (*Projection, error) {
	t = t.UTC()
	p.mu.Lock()
	for _, pv := range p.cache {
		if pv.at.Equal(t) && pv.on == on {
			p.mu.Unlock()
			p.stats.cached.Add(1)
			return pv.view, nil
		}
	}
	f, running := p.inflight[keyOf(t, on)]
	switch {
	case running:
		p.stats.shared.Add(1)
	default:
		if other, busy := p.pending[who]; busy {
			retry := max(p.lastTook, time.Second)
			p.mu.Unlock()
			p.stats.refused.Add(1)
			return nil, &PendingError{At: t, Pending: other, RetryAfter: retry}
		}
		f = &fold{at: t, on: on, done: make(chan struct{})}
		p.inflight[keyOf(t, on)], p.pending[who] = f, t
		p.stats.folds.Add(1)
		go p.run(f, who)
	}
	p.mu.Unlock()

	p.stats.waiting.Add(1)
	defer p.stats.waiting.Add(-1)
	select {
	case <-f.done:
		return f.view, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("the view as of %s is still being computed (%w): %w", t.Format(time.RFC3339Nano), ctx.Err(), events.ErrNotReady)
	}
}

// run folds f, on a context of its own: its callers may go, the fold is
// still its principal's until it ends.
func (p *Past) run(f *fold, who string) {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	start := time.Now()
	f.view, f.err = p.fold(ctx, f.at, f.on)
	if errors.Is(f.err, events.ErrDamaged) && p.onDamage != nil {
		p.onDamage(f.err)
	}
	p.mu.Lock()
	delete(p.inflight, keyOf(f.at, f.on))
	delete(p.pending, who)
	p.lastTook = time.Since(start)
	if f.err == nil && f.at.Before(p.now().Add(-time.Minute)) {
		p.cache = append(p.cache, pastView{at: f.at, on: f.on, view: f.view})
		if len(p.cache) > p.keep {
			p.cache = p.cache[1:]
		}
	}
	p.mu.Unlock()
	close(f.done)
}

// fold waits for a slot, then folds every event recorded at or before t
// (and, when on is set, a fact of that date or before).
func (p *Past) fold(ctx context.Context, t time.Time, on events.Date) (*Projection, error) {
	late := func() error {
		p.stats.timedOut.Add(1)
		return fmt.Errorf("the view as of %s was not computed within %s: %w", t.Format(time.RFC3339Nano), p.timeout, events.ErrNotReady)
	}
	select {
	case p.slots <- struct{}{}:
		defer func() { <-p.slots }()
	case <-ctx.Done():
		return nil, late()
	}
	v := New(nil)
	if on.IsZero() && p.from != nil {
		// What had been recorded by t: start from the live view's latest
		// snapshot of no later events, and fold only what came after it.
		if s := p.from(t); s != nil {
			v = s
			p.stats.fromSnapshot.Add(1)
		}
	}
	v.partial = !on.IsZero() // histories with holes: no prev_hash links to check
	known := func(ev events.Event) bool {
		return !ev.RecordedAt.After(t) && (on.IsZero() || v.factBy(ev, on))
	}
	err := v.CatchUp(ctx, p.store, known, nil)
	switch {
	case err == nil:
		return v, nil
	case ctx.Err() != nil:
		return nil, late()
	}
	return nil, fmt.Errorf("projection as of %s: %w", t.Format(time.RFC3339Nano), err)
}
