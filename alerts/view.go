package alerts

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"promiseledger/events"
	"promiseledger/internal/seqwait"
)

// Store is the alerts stream.
type Store interface {
	// Append stores a on its alert's subject if the last message there has
	// stream sequence expectedLast (0: none). Otherwise it returns an error
	// matching events.ErrConflict and stores nothing.
	Append(ctx context.Context, a Alert, expectedLast uint64) (uint64, error)
	LastSequence(ctx context.Context) (uint64, error)
	// Follow calls fn with every alert after sequence after, in order, then
	// with new ones, until ctx ends or fn fails.
	Follow(ctx context.Context, after uint64, fn func(Alert) error) error
}

// View is every alert message in memory, in stream order, with the current
// state of each alert: what the list, the event stream and the engine read.
type View struct {
	mu      sync.RWMutex
	log     []Alert          // every message, in order
	last    map[string]Alert // the latest message of each alert, by id
	byKey   map[string]Alert // the latest message about each key
	open    map[string]map[string]Alert
	applied seqwait.Position // advanced under mu, after the message is in
	ready   bool
	fault   error // damage found in the stream; the view is then never ready
}

// NewView returns an empty view.
func NewView() *View {
	return &View{last: map[string]Alert{}, byKey: map[string]Alert{}, open: map[string]map[string]Alert{}}
}

// Run catches up with the store, marks the view ready and keeps following.
// Damage in the stream (an error matching events.ErrDamaged from the store)
// ends it, and the view is then never ready; Err says why.
func (v *View) Run(ctx context.Context, s Store) error {
	target, err := s.LastSequence(ctx)
	if err != nil {
		return fmt.Errorf("alerts view: %w", err)
	}
	if target == 0 {
		v.setReady()
	}
	err = s.Follow(ctx, v.Applied(), func(a Alert) error {
		v.Apply(a)
		if a.Sequence >= target {
			v.setReady()
		}
		return nil
	})
	if errors.Is(err, events.ErrDamaged) {
		v.mu.Lock()
		v.fault = err
		v.mu.Unlock()
	}
	return err
}

// Err is the damage that stopped the view, or nil.
func (v *View) Err() error {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.fault
}

func (v *View) setReady() {
	v.mu.Lock()
	v.ready = true
	v.mu.Unlock()
}

// Ready reports whether the view has caught up with the stream and found
// no damage.
func (v *View) Ready() bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.ready && v.fault == nil
}

// Apply adds one message; messages already applied are ignored.
func (v *View) Apply(a Alert) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if a.Sequence <= v.applied.Seq() {
		return
	}
	if a.ID != "" {
		if a.Key == "" {
			a.Key, a.Generation = a.ID, 1
		}
		v.log = append(v.log, a)
		v.last[a.ID] = a
		v.byKey[a.Key] = a
		byC := v.open[a.CommitmentID]
		if a.State == Raised {
			if byC == nil {
				byC = map[string]Alert{}
				v.open[a.CommitmentID] = byC
			}
			byC[a.ID] = a
		} else if byC != nil {
			delete(byC, a.ID)
		}
	}
	v.applied.Advance(a.Sequence)
}

// Applied is the stream sequence of the last message applied.
func (v *View) Applied() uint64 { return v.applied.Seq() }

// WaitFor blocks until the message at seq is applied.
func (v *View) WaitFor(ctx context.Context, seq uint64) error { return v.applied.Wait(ctx, seq) }

// LastOf returns the latest message about a key, if it was ever raised.
func (v *View) LastOf(key string) (Alert, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	a, ok := v.byKey[key]
	return a, ok
}

// OpenFor returns the open alerts of a commitment.
func (v *View) OpenFor(commitmentID string) []Alert {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]Alert, 0, len(v.open[commitmentID]))
	for _, a := range v.open[commitmentID] {
		out = append(out, a)
	}
	return out
}

// Filter selects alerts. Empty fields do not filter.
type Filter struct {
	County     string
	Rule       Rule
	State      State
	CountyOnly bool // only the rules that go to county offices
	Nothing    bool // match nothing (a filter the principal may not use)
}

func (f Filter) matches(a Alert) bool {
	switch {
	case f.Nothing,
		f.County != "" && a.County != f.County,
		f.Rule != "" && a.Rule != f.Rule,
		f.State != "" && a.State != f.State,
		f.CountyOnly && !a.Rule.ForCounty():
		return false
	}
	return true
}

// Current returns the latest message of every alert matching f, in the
// order they were raised.
func (v *View) Current(f Filter) []Alert {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out, seen := []Alert{}, map[string]bool{}
	for _, a := range v.log {
		if seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		if cur := v.last[a.ID]; f.matches(cur) {
			out = append(out, cur)
		}
	}
	return out
}

// Since returns the messages after sequence after that match f, the
// sequence they reach (the cursor for the next call), and a channel closed
// when more arrive.
func (v *View) Since(after uint64, f Filter) ([]Alert, uint64, <-chan struct{}) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	i := len(v.log)
	for i > 0 && v.log[i-1].Sequence > after {
		i--
	}
	var out []Alert
	for _, a := range v.log[i:] {
		if f.matches(a) {
			out = append(out, a)
		}
	}
	return out, max(v.applied.Seq(), after), v.applied.Changed()
}
