package projections

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"promiseledger/events"
)

// Name is the projection's stable name: the key of its checkpoint and the
// label of its metrics. Renaming it means rebuilding from event one.
const Name = "commitments"

// checkpointFormat is the version of the checkpoint encoding. A checkpoint
// of any other format is ignored and the projection rebuilds from the stream.
const checkpointFormat = 6 // 4: original due date and extensions; 5: actors and event types, for search; 6: cited files

// ErrNoCheckpoint is returned by [Checkpoints.Load] when none was saved.
var ErrNoCheckpoint = errors.New("no checkpoint")

// Checkpoints keeps saved projection states. A checkpoint is a cache: losing
// or damaging it costs a rebuild, never a wrong answer.
type Checkpoints interface {
	Save(ctx context.Context, name string, data []byte) error
	Load(ctx context.Context, name string) ([]byte, error)
}

// checkpoint is the saved state of the projection at one stream sequence.
type checkpoint struct {
	Projection  string               `json:"projection"`
	Format      int                  `json:"format"`
	Sequence    uint64               `json:"sequence"`   // every message up to here is folded in
	LastEvent   eventRef             `json:"last_event"` // the last event folded: proves which stream this is of
	SavedAt     time.Time            `json:"saved_at"`
	Commitments []*events.Commitment `json:"commitments"`
	Receipts    map[string]Receipt   `json:"receipts"`
}

type eventRef struct {
	Sequence uint64 `json:"sequence"`
	ID       string `json:"id"`
}

// encodeCheckpoint captures the state under the read lock (commitments are
// immutable, so the pointers suffice) and encodes it outside the lock.
func (p *Projection) encodeCheckpoint(now time.Time) ([]byte, uint64, error) {
	p.mu.RLock()
	cp := checkpoint{
		Projection: Name, Format: checkpointFormat, Sequence: p.applied.Seq(), LastEvent: p.lastEvent,
		SavedAt:     now.UTC(),
		Commitments: make([]*events.Commitment, 0, len(p.ids)),
		Receipts:    make(map[string]Receipt, len(p.receipts)),
	}
	for _, id := range p.ids {
		cp.Commitments = append(cp.Commitments, p.commitments[id])
	}
	for k, r := range p.receipts {
		cp.Receipts[k] = r
	}
	p.mu.RUnlock()
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(cp)
	return buf.Bytes(), cp.Sequence, err
}

// decodeCheckpoint reads a checkpoint: gob, as this release writes it (it
// decodes several times faster than JSON, which is most of a large
// ledger's restart), or JSON, as earlier releases wrote it.
func decodeCheckpoint(b []byte) (checkpoint, error) {
	var cp checkpoint
	if len(b) > 0 && b[0] == '{' {
		return cp, json.Unmarshal(b, &cp)
	}
	return cp, gob.NewDecoder(bytes.NewReader(b)).Decode(&cp)
}

// SaveCheckpoint saves the current state.
func (p *Projection) SaveCheckpoint(ctx context.Context, cps Checkpoints) error {
	b, seq, err := p.encodeCheckpoint(time.Now())
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	if err := cps.Save(ctx, Name, b); err != nil {
		p.stats.checkpointErrors.Add(1)
		return err
	}
	p.stats.lastCheckpoint.Store(seq)
	p.log.Debug("checkpoint saved", "projection", Name, "sequence", seq, "bytes", len(b))
	return nil
}

// restore loads the saved state if there is one that can be trusted: same
// projection and format, decodable, not ahead of the stream, and ending on
// the very event the stream holds at that sequence. A checkpoint that cannot
// be read, or is of another format, leaves the projection empty, to be
// rebuilt from event one, and says why. One ahead of the stream, or ending
// on an event the stream does not hold at that sequence, says that events
// the ledger once folded are gone: that is damage (an error matching
// events.ErrDamaged), and the ledger must not serve.
func (p *Projection) restore(ctx context.Context, store events.Store, cps Checkpoints) (uint64, error) {
	began := time.Now()
	b, err := cps.Load(ctx, Name)
	if err != nil {
		return 0, err
	}
	read := time.Since(began)
	cp, err := decodeCheckpoint(b)
	if err != nil {
		return 0, fmt.Errorf("checkpoint is corrupt: %w", err)
	}
	p.log.Info("checkpoint read", "projection", Name, "bytes", len(b), "read", read, "decoded", time.Since(began)-read)
	if cp.Projection != Name || cp.Format != checkpointFormat {
		return 0, fmt.Errorf("checkpoint is of projection %q format %d, not %q format %d", cp.Projection, cp.Format, Name, checkpointFormat)
	}
	last, err := store.LastSequence(ctx)
	if err != nil {
		return 0, err
	}
	if cp.Sequence > last {
		return 0, &events.DamageError{Sequence: last + 1, Problem: fmt.Sprintf("the checkpoint saved at %s had folded every message up to sequence %d, but the stream now ends at %d: messages are lost, or the stream was replaced", cp.SavedAt.Format(time.RFC3339), cp.Sequence, last)}
	}
	if cp.LastEvent.Sequence > 0 {
		ev, err := store.Get(ctx, cp.LastEvent.Sequence)
		switch {
		case err != nil && !errors.Is(err, events.ErrNotFound):
			return 0, err
		case err != nil:
			return 0, &events.DamageError{Sequence: cp.LastEvent.Sequence, Problem: fmt.Sprintf("the checkpoint ends on event %s at this sequence, which the stream no longer holds", cp.LastEvent.ID)}
		case ev.ID != cp.LastEvent.ID:
			return 0, &events.DamageError{Sequence: cp.LastEvent.Sequence, Problem: fmt.Sprintf("the checkpoint ends on event %s at this sequence, but the stream holds event %s there: the stream was replaced or altered", cp.LastEvent.ID, ev.ID)}
		}
	}
	commitments := make(map[string]*events.Commitment, len(cp.Commitments))
	ids := make([]string, 0, len(cp.Commitments))
	for _, c := range cp.Commitments {
		if c == nil || c.ID == "" || c.Version < 1 || c.LastSeq > cp.Sequence || commitments[c.ID] != nil {
			return 0, errors.New("checkpoint is corrupt: a commitment is missing its id, version or sequence, or appears twice")
		}
		commitments[c.ID] = c
		ids = append(ids, c.ID)
	}
	slices.Sort(ids)
	if cp.Receipts == nil {
		cp.Receipts = map[string]Receipt{}
	}
	p.mu.Lock()
	p.commitments, p.ids, p.receipts = commitments, ids, cp.Receipts
	p.tallies = nil // made again from the restored commitments when asked for
	p.recorded = time.Time{}
	for _, c := range commitments {
		if c.UpdatedAt.After(p.recorded) {
			p.recorded = c.UpdatedAt // the latest recorded_at of the events restored
		}
	}
	p.lastEvent = cp.LastEvent
	p.applied.Advance(cp.Sequence)
	p.mu.Unlock()
	p.stats.lastCheckpoint.Store(cp.Sequence)
	return cp.Sequence, nil
}
