package projections

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"promiseledger/events"
)

// Past answers the views as the ledger showed them at past instants. Each
// answer is a fold, into a new projection, of every event recorded at or
// before the instant: it reads the stream from event one, so it costs about
// a rebuild. The last few answers for instants safely in the past are kept,
// since nothing recorded later can change them.
type Past struct {
	store events.Store
	now   func() time.Time
	keep  int
	slots chan struct{} // at most cap(slots) folds at once

	mu    sync.Mutex
	cache []pastView // newest last

	stats pastStats
}

// pastView is a projection as of an instant.
type pastView struct {
	at   time.Time
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
	return &Past{store: store, now: now, keep: cfg.Keep, slots: make(chan struct{}, cfg.Folds)}
}

// pastStats are the counters behind [Past.Stats].
type pastStats struct {
	folds   atomic.Uint64
	cached  atomic.Uint64
	waiting atomic.Int64
}

// PastStats describe the past views for operators.
type PastStats struct {
	Folds   uint64 // folds started
	Cached  uint64 // answers served from the kept ones
	Waiting int64  // requests waiting for a fold now
}

// Stats returns the counters of the past views.
func (p *Past) Stats() PastStats {
	return PastStats{Folds: p.stats.folds.Load(), Cached: p.stats.cached.Load(), Waiting: p.stats.waiting.Load()}
}

// View returns the projection as of instant t: every event recorded at or
// before t, folded.
func (p *Past) View(ctx context.Context, t time.Time) (*Projection, error) {
	p.mu.Lock()
	for _, pv := range p.cache {
		if pv.at.Equal(t) {
			p.mu.Unlock()
			p.stats.cached.Add(1)
			return pv.view, nil
		}
	}
	p.mu.Unlock()
	p.stats.waiting.Add(1)
	defer p.stats.waiting.Add(-1)
	select {
	case p.slots <- struct{}{}:
		defer func() { <-p.slots }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.stats.folds.Add(1)
	v := New(nil)
	known := func(ev events.Event) bool { return !ev.RecordedAt.After(t) }
	if err := v.CatchUp(ctx, p.store, known, nil); err != nil {
		return nil, fmt.Errorf("projection as of %s: %w", t.Format(time.RFC3339), err)
	}
	if t.Before(p.now().Add(-time.Minute)) {
		p.mu.Lock()
		p.cache = append(p.cache, pastView{at: t, view: v})
		if len(p.cache) > p.keep {
			p.cache = p.cache[1:]
		}
		p.mu.Unlock()
	}
	return v, nil
}
