package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"promiseledger/audit"
	"promiseledger/events"
	"promiseledger/projections"
)

// maxAttempts bounds how often one command is decided again after losing a
// race to another writer on the same commitment.
const maxAttempts = 100

// waitTimeout bounds how long a write waits for the projection to show it.
const waitTimeout = 30 * time.Second

// Ledger is the write side: it carries out commands — decides, appends with
// optimistic concurrency, retries, replays idempotent requests — against a
// store and the projection that follows it, and returns once the projection
// shows the write. Everything read is projections.Reads.
type Ledger struct {
	store events.Store
	view  *projections.Projection
	juris *events.Jurisdiction
	now   func() time.Time
}

// New returns a Ledger. now is the clock (time.Now outside tests).
func New(store events.Store, view *projections.Projection, j *events.Jurisdiction, now func() time.Time) *Ledger {
	if now == nil {
		now = time.Now
	}
	return &Ledger{store: store, view: view, juris: j, now: now}
}

// Meta is what a request says about itself besides its command.
type Meta struct {
	Actor          events.Actor
	IdempotencyKey string // empty: none
	Digest         string // digest of the request, to tell a retry from a reused key
	// IfMatch is the versions the client accepts (If-Match); empty: any. A
	// 0 stands for a tag that names no version, so matches none.
	IfMatch []int
}

// Jurisdiction is the ledger's county list.
func (l *Ledger) Jurisdiction() *events.Jurisdiction { return l.juris }

// Today is the calendar date in the jurisdiction now: what commands are
// decided on.
func (l *Ledger) Today() events.Date { return l.juris.Today(l.now()) }

// Make records a new commitment and returns it.
func (l *Ledger) Make(ctx context.Context, cmd events.MakeCommitment, m Meta) (*events.Commitment, error) {
	return l.execute(ctx, m, func(today events.Date) (*events.Commitment, events.Event, error) {
		made, err := cmd.Decide(l.juris, today)
		if err != nil {
			return nil, events.Event{}, err
		}
		id, err := uuid.NewV7()
		if err != nil {
			return nil, events.Event{}, fmt.Errorf("new id: %w", err)
		}
		ev, err := l.event(id.String(), cmd.County, events.CommitmentMadeType, &made, made.MadeOn, m)
		return &events.Commitment{}, ev, err
	})
}

// Execute applies cmd to commitment id and returns the commitment as it is
// right after the new event.
func (l *Ledger) Execute(ctx context.Context, id string, cmd events.Command, m Meta) (*events.Commitment, error) {
	return l.execute(ctx, m, func(today events.Date) (*events.Commitment, events.Event, error) {
		c, ok := l.view.Commitment(id)
		if !ok {
			return nil, events.Event{}, fmt.Errorf("commitment %s: %w", id, events.ErrNotFound)
		}
		if len(m.IfMatch) > 0 && !slices.Contains(m.IfMatch, c.Version) {
			return nil, events.Event{}, &events.FieldError{Field: "If-Match", Rule: mismatch(c.Version, m.IfMatch), Kind: events.ErrVersionMismatch}
		}
		data, effective, err := cmd.Decide(c, today)
		if err != nil {
			return nil, events.Event{}, err
		}
		ev, err := l.event(c.ID, c.County, cmd.Type(), data, effective, m)
		return c, ev, err
	})
}

// mismatch says that the commitment is at none of the versions the client
// accepts.
func mismatch(version int, accepted []int) string {
	var named []string
	for _, v := range accepted {
		if v > 0 {
			named = append(named, strconv.Itoa(v))
		}
	}
	if len(named) == 0 {
		return fmt.Sprintf("commitment is at version %d, and no version is named", version)
	}
	return fmt.Sprintf("commitment is at version %d, not %s", version, strings.Join(named, " or "))
}

// decision produces the event to append and the state it applies to.
type decision func(today events.Date) (before *events.Commitment, ev events.Event, err error)

func (l *Ledger) execute(ctx context.Context, m Meta, decide decision) (*events.Commitment, error) {
	if m.Actor.Name == "" {
		m.Actor = events.Anonymous
	}
	receipt := projections.ReceiptKey(m.Actor.Name, m.IdempotencyKey)
	wctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if m.IdempotencyKey != "" {
			if r, ok := l.view.Receipt(receipt); ok {
				return l.replay(ctx, r, m.Digest)
			}
		}
		before, ev, err := decide(l.Today())
		if err != nil {
			return nil, err
		}
		// Within a commitment, recorded_at never goes back, even across
		// instances whose clocks differ: its history as of any instant is
		// a prefix of its events.
		if ev.RecordedAt.Before(before.UpdatedAt) {
			ev.RecordedAt = before.UpdatedAt
		}
		ev.PrevHash = before.LastHash
		if err := audit.HashEvent(&ev); err != nil {
			return nil, err
		}
		res, err := l.store.Append(ctx, ev, before.LastSeq)
		if errors.Is(err, events.ErrConflict) {
			// Someone else wrote first (or this is a retry of a request that
			// was stored): catch up and decide again.
			last, err := l.store.LastSequence(ctx)
			if err != nil {
				return nil, err
			}
			if err := l.view.WaitFor(wctx, last); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := l.view.WaitFor(wctx, res.Sequence); err != nil {
			return nil, err
		}
		if res.Duplicate {
			r, ok := l.view.Receipt(receipt)
			if !ok {
				return nil, fmt.Errorf("idempotency key of sequence %d not in the projection", res.Sequence)
			}
			return l.replay(ctx, r, m.Digest)
		}
		ev.Sequence = res.Sequence
		after := before.Clone()
		if err := after.Apply(ev); err != nil {
			return nil, err
		}
		return after, nil
	}
	return nil, fmt.Errorf("gave up after %d concurrent writers: %w", maxAttempts, events.ErrConflict)
}

func (l *Ledger) event(commitmentID, county string, typ events.Type, data any, effective events.Date, m Meta) (events.Event, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return events.Event{}, fmt.Errorf("new id: %w", err)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return events.Event{}, fmt.Errorf("encode event data: %w", err)
	}
	actor := m.Actor
	if actor.Name == "" {
		actor = events.Anonymous
	}
	return events.Event{
		ID: id.String(), Type: typ, Schema: typ.Schema(),
		CommitmentID: commitmentID, County: county, EffectiveOn: effective,
		RecordedAt: l.now().UTC(), Actor: actor,
		IdempotencyKey: m.IdempotencyKey, RequestDigest: m.Digest, Data: raw,
	}, nil
}

// replay answers a retried request with the commitment as its first attempt
// left it.
func (l *Ledger) replay(ctx context.Context, r projections.Receipt, digest string) (*events.Commitment, error) {
	if r.Digest != digest {
		return nil, &events.FieldError{Field: "Idempotency-Key", Rule: "was already used for a different request", Kind: events.ErrIdempotencyKeyReused}
	}
	evs, err := l.store.Load(ctx, r.CommitmentID)
	if err != nil {
		return nil, err
	}
	var upTo []events.Event
	for _, e := range evs {
		if e.Sequence <= r.Sequence {
			upTo = append(upTo, e)
		}
	}
	return events.Fold(upTo)
}
