package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"promiseledger/events"
)

// Reads is the ledger's read side, everything a reader asks of it: the live
// views, the views as of a past instant, one commitment's history and its
// state at an instant, and the clock and calendar they are judged on. The
// write side is the ledger package; the API reads here and writes there.
type Reads struct {
	store    events.Store
	live     *Projection
	past     *Past
	juris    *events.Jurisdiction
	now      func() time.Time
	onDamage func(error)
}

// NewReads returns the read side over a store and the live projection that
// follows it. now is the clock (time.Now outside tests). onDamage, when not
// nil, is told of damage any read finds (a history that stalls or misses an
// event, a past view's fold that meets a gap), so that the ledger stops
// serving instead of answering only that request.
func NewReads(store events.Store, live *Projection, j *events.Jurisdiction, now func() time.Time, onDamage func(error)) *Reads {
	if now == nil {
		now = time.Now
	}
	return &Reads{store: store, live: live, past: NewPast(store, now, PastConfig{OnDamage: onDamage, From: live.From}), juris: j, now: now, onDamage: onDamage}
}

// damaged passes damage on to onDamage, and returns err.
func (r *Reads) damaged(err error) error {
	if r.onDamage != nil && errors.Is(err, events.ErrDamaged) {
		r.onDamage(err)
	}
	return err
}

// Live is the current view.
func (r *Reads) Live() *Projection { return r.live }

// Past answers the views as of past instants.
func (r *Reads) Past() *Past { return r.past }

// Jurisdiction is the county list.
func (r *Reads) Jurisdiction() *events.Jurisdiction { return r.juris }

// Now is the clock, in UTC.
func (r *Reads) Now() time.Time { return r.now().UTC() }

// Today is the calendar date in the jurisdiction now.
func (r *Reads) Today() events.Date { return r.juris.Today(r.now()) }

// StreamLastSequence is the sequence of the newest message in the stream.
func (r *Reads) StreamLastSequence(ctx context.Context) (uint64, error) {
	return r.store.LastSequence(ctx)
}

// History returns every event of a commitment, oldest first. A history
// shorter or longer than the events the live view folded is damage.
func (r *Reads) History(ctx context.Context, id string) ([]events.Event, error) {
	c, ok := r.live.Commitment(id)
	if !ok {
		return nil, fmt.Errorf("commitment %s: %w", id, events.ErrNotFound)
	}
	evs, err := r.store.Load(ctx, id)
	if err != nil {
		return nil, r.damaged(err)
	}
	// Events appended since the view was read may follow; none may be missing.
	if len(evs) < c.Version || (len(evs) > 0 && evs[c.Version-1].Sequence != c.LastSeq) {
		return nil, r.damaged(&events.DamageError{Sequence: c.LastSeq, Problem: fmt.Sprintf("commitment %s: the view folded %d events up to sequence %d, but its history as read holds %d", id, c.Version, c.LastSeq, len(evs))})
	}
	return evs, nil
}

// AsOf returns the commitment as the ledger knew it at instant t: folded
// from the events recorded at or before t; when on is set, only the facts
// of that date or before (see [Past.ViewOn]).
func (r *Reads) AsOf(ctx context.Context, id string, t time.Time, on events.Date) (*events.Commitment, error) {
	evs, err := r.History(ctx, id)
	if err != nil {
		return nil, err
	}
	p := New(nil)
	p.partial = !on.IsZero()
	for _, e := range evs {
		if e.RecordedAt.After(t) || (!on.IsZero() && !p.factBy(e, on)) {
			continue
		}
		if err := p.Apply(e); err != nil {
			return nil, fmt.Errorf("commitment %s as of %s: %w", id, t.Format(time.RFC3339), err)
		}
	}
	c, ok := p.Commitment(id)
	if !ok {
		return nil, fmt.Errorf("commitment %s as of %s: %w", id, t.Format(time.RFC3339), events.ErrNotFound)
	}
	return c, nil
}
