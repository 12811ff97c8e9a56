package jsstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
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

// checkpointPart is the size of one object of a saved checkpoint. The
// object store sends an object's chunks without waiting for each to be
// stored, and a server refuses a stream's incoming messages beyond its ingest
// queue (128 MiB by default: 429, 10167); a checkpoint of a province's ledger
// is larger than that, so it is saved as parts, one object each, each stored
// before the next is sent.
var checkpointPart = 8 << 20 // a variable for the tests

// partsManifest is what the checkpoint's own name holds: which parts, in
// order, make it, and their digest. The parts of one save share a
// generation, written before the manifest that names them, so a save cut
// short leaves the previous checkpoint whole.
type partsManifest struct {
	Kind       string `json:"kind"` // manifestKind
	Generation string `json:"generation"`
	Parts      int    `json:"parts"`
	Size       int    `json:"size"`
	SHA256     string `json:"sha256"`
}

const manifestKind = "checkpoint-parts"

func partName(name, generation string, i int) string {
	return fmt.Sprintf("%s/%s/%06d", name, generation, i)
}

// Save replaces the checkpoint of a projection.
func (c *Checkpoints) Save(ctx context.Context, name string, data []byte) error {
	old, _ := c.manifest(ctx, name)
	sum := sha256.Sum256(data)
	m := partsManifest{Kind: manifestKind, Generation: uuid.Must(uuid.NewV7()).String(), Size: len(data), SHA256: hex.EncodeToString(sum[:])}
	for off := 0; off < len(data) || m.Parts == 0; off += checkpointPart {
		part := data[off:min(off+checkpointPart, len(data))]
		if _, err := c.obj.PutBytes(ctx, partName(name, m.Generation, m.Parts), part); err != nil {
			c.deleteParts(ctx, name, m)
			return fmt.Errorf("save checkpoint %s (part %d): %w", name, m.Parts, err)
		}
		m.Parts++
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := c.obj.PutBytes(ctx, name, b); err != nil {
		c.deleteParts(ctx, name, m)
		return fmt.Errorf("save checkpoint %s: %w", name, err)
	}
	if old != nil {
		c.deleteParts(ctx, name, *old)
	}
	return nil
}

// deleteParts removes the parts of one save; what cannot be removed now is
// only space, never a wrong answer.
func (c *Checkpoints) deleteParts(ctx context.Context, name string, m partsManifest) {
	for i := 0; i < m.Parts; i++ {
		_ = c.obj.Delete(ctx, partName(name, m.Generation, i))
	}
}

// manifest returns the parts manifest saved under name, or nil when the
// object is a checkpoint saved whole (as earlier releases did).
func (c *Checkpoints) manifest(ctx context.Context, name string) (*partsManifest, error) {
	b, err := c.obj.GetBytes(ctx, name)
	if err != nil {
		return nil, err
	}
	return parseManifest(b), nil
}

// parseManifest reads what a checkpoint's own name holds: a parts
// manifest, or (nil) a checkpoint saved whole.
func parseManifest(b []byte) *partsManifest {
	var m partsManifest
	if json.Unmarshal(b, &m) != nil || m.Kind != manifestKind {
		return nil
	}
	return &m
}

// Load returns a projection's checkpoint. The object store checks each
// object's SHA-256 digest on the way out, and the parts together are checked
// against the manifest's, so a damaged or half-saved checkpoint is an error.
func (c *Checkpoints) Load(ctx context.Context, name string) ([]byte, error) {
	b, err := c.obj.GetBytes(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("checkpoint %s: %w", name, projections.ErrNoCheckpoint)
	}
	if err != nil {
		return nil, fmt.Errorf("load checkpoint %s: %w", name, err)
	}
	m := parseManifest(b)
	if m == nil {
		return b, nil // saved whole, by an earlier release
	}
	if m.Parts < 1 || m.Size < 0 {
		return nil, fmt.Errorf("load checkpoint %s: manifest names %d parts of %d bytes", name, m.Parts, m.Size)
	}
	data := make([]byte, 0, m.Size)
	for i := 0; i < m.Parts; i++ {
		part, err := c.obj.GetBytes(ctx, partName(name, m.Generation, i))
		if err != nil {
			return nil, fmt.Errorf("load checkpoint %s (part %d of %d): %w", name, i+1, m.Parts, err)
		}
		data = append(data, part...)
	}
	if sum := sha256.Sum256(data); len(data) != m.Size || hex.EncodeToString(sum[:]) != m.SHA256 {
		return nil, fmt.Errorf("load checkpoint %s: its %d parts do not make the %d bytes the manifest names (digest differs)", name, m.Parts, m.Size)
	}
	return data, nil
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
