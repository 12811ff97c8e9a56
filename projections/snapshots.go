package projections

import (
	"maps"
	"slices"
	"time"

	"promiseledger/events"
)

// A snapshot is the projection as it stood after one stream sequence: its
// commitments (shared, not copied: a fold never changes a commitment in
// place, it replaces it with a changed clone) and the latest instant any of
// its events was recorded at. A past view as of an instant at or after that
// one starts from it and folds only the events after it.
type snapshot struct {
	seq         uint64
	recorded    time.Time // the latest recorded_at among the events up to seq
	commitments map[string]*events.Commitment
	ids         []string
}

// KeepSnapshots makes the projection keep a snapshot every every events,
// at most keep of them (the oldest go first, but the first is kept, so that
// a view of the distant past starts from somewhere too). Call it before Run.
func (p *Projection) KeepSnapshots(every uint64, keep int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.snapEvery, p.snapKeep = every, max(keep, 2)
}

// snapshotLocked takes a snapshot when it is due; p.mu is held.
func (p *Projection) snapshotLocked(seq uint64) {
	if p.snapEvery == 0 || seq < p.snapAt+p.snapEvery {
		return
	}
	p.snapAt = seq
	p.snaps = append(p.snaps, &snapshot{seq: seq, recorded: p.recorded, commitments: maps.Clone(p.commitments), ids: slices.Clone(p.ids)})
	if len(p.snaps) > p.snapKeep {
		p.snaps = slices.Delete(p.snaps, 1, 2)
	}
}

// From returns a new projection that starts as the latest snapshot whose
// events were all recorded at or before t, or nil when there is none.
func (p *Projection) From(t time.Time) *Projection {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for i := len(p.snaps) - 1; i >= 0; i-- {
		s := p.snaps[i]
		if s.recorded.After(t) {
			continue
		}
		v := New(p.log)
		v.commitments, v.ids, v.recorded = maps.Clone(s.commitments), slices.Clone(s.ids), s.recorded
		v.applied.Advance(s.seq)
		return v
	}
	return nil
}
