package jsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/events"
	"promiseledger/projections"
)

var _ projections.Checkpoints = (*Checkpoints)(nil)

// DefaultCheckpointBucket is the object store that holds projection
// checkpoints. Unlike the ledger stream, it may be overwritten and purged:
// a checkpoint is only a cache of what the stream says.
const DefaultCheckpointBucket = "LEDGER_CHECKPOINTS"

// Checkpoints keeps projection checkpoints in a JetStream object store, so
// that every ledger instance on a cluster can start from them.
type Checkpoints struct {
	obj jetstream.ObjectStore
}

// OpenCheckpoints creates or opens the checkpoint bucket beside the store's stream.
func (s *Store) OpenCheckpoints(ctx context.Context) (*Checkpoints, error) {
	obj, err := s.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      DefaultCheckpointBucket,
		Description: "Promise Ledger projection checkpoints (a cache of the LEDGER stream)",
		Storage:     jetstream.FileStorage,
		Replicas:    s.cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint bucket: %w", err)
	}
	return &Checkpoints{obj: obj}, nil
}

// Save replaces the checkpoint of a projection.
func (c *Checkpoints) Save(ctx context.Context, name string, data []byte) error {
	if _, err := c.obj.PutBytes(ctx, name, data); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", name, err)
	}
	return nil
}

// Load returns a projection's checkpoint. The object store checks its
// SHA-256 digest on the way out, so a damaged checkpoint is an error.
func (c *Checkpoints) Load(ctx context.Context, name string) ([]byte, error) {
	b, err := c.obj.GetBytes(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("checkpoint %s: %w", name, projections.ErrNoCheckpoint)
	}
	if err != nil {
		return nil, fmt.Errorf("load checkpoint %s: %w", name, err)
	}
	return b, nil
}

// Get returns the event stored at stream sequence seq.
func (s *Store) Get(ctx context.Context, seq uint64) (events.Event, error) {
	msg, err := s.stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return events.Event{}, fmt.Errorf("sequence %d: %w", seq, events.ErrNotFound)
	}
	if err != nil {
		return events.Event{}, fmt.Errorf("sequence %d: %w", seq, err)
	}
	var ev events.Event
	if err := json.Unmarshal(msg.Data, &ev); err != nil {
		return events.Event{}, fmt.Errorf("sequence %d: %w", seq, err)
	}
	ev.Sequence = msg.Sequence
	return ev, nil
}
