package jsstore_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/internal/natstest"
	"promiseledger/jsstore"
	"promiseledger/projections"
)

// A checkpoint larger than one part is saved as parts and read back whole;
// saving again leaves only the new parts; a part altered, or missing, is an
// error rather than a wrong view; a checkpoint saved whole by an earlier
// release still loads.
func TestCheckpoints_SavedInParts(t *testing.T) {
	defer jsstore.SetCheckpointPart(1000)()
	ctx := context.Background()
	st, nc := natstest.Store(t)
	cps, err := st.OpenCheckpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cps.Load(ctx, "p"); !errors.Is(err, projections.ErrNoCheckpoint) {
		t.Fatalf("no checkpoint yet: %v", err)
	}
	first := bytes.Repeat([]byte("0123456789"), 450) // 4,500 bytes: 5 parts
	if err := cps.Save(ctx, "p", first); err != nil {
		t.Fatal(err)
	}
	if got, err := cps.Load(ctx, "p"); err != nil || !bytes.Equal(got, first) {
		t.Fatalf("load: %d bytes, %v", len(got), err)
	}
	second := bytes.Repeat([]byte("abcdefghij"), 210) // 2,100 bytes: 3 parts
	if err := cps.Save(ctx, "p", second); err != nil {
		t.Fatal(err)
	}
	if got, err := cps.Load(ctx, "p"); err != nil || !bytes.Equal(got, second) {
		t.Fatalf("load the second: %d bytes, %v", len(got), err)
	}
	names, err := cps.Objects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 4 || !slices.Contains(names, "p") {
		t.Fatalf("objects after two saves: %v (want the manifest and the second save's 3 parts)", names)
	}
	empty := []byte{}
	if err := cps.Save(ctx, "e", empty); err != nil {
		t.Fatal(err)
	}
	if got, err := cps.Load(ctx, "e"); err != nil || len(got) != 0 {
		t.Fatalf("an empty checkpoint: %q, %v", got, err)
	}

	// A part replaced by other bytes (its own digest is then right).
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := js.ObjectStore(ctx, jsstore.DefaultCheckpointBucket)
	if err != nil {
		t.Fatal(err)
	}
	var part string
	for _, n := range names {
		if strings.HasSuffix(n, "/000001") {
			part = n
		}
	}
	if _, err := obj.PutBytes(ctx, part, bytes.Repeat([]byte("X"), 1000)); err != nil {
		t.Fatal(err)
	}
	if _, err := cps.Load(ctx, "p"); err == nil || !strings.Contains(err.Error(), "digest differs") {
		t.Fatalf("an altered part: %v", err)
	}
	if err := obj.Delete(ctx, part); err != nil {
		t.Fatal(err)
	}
	if _, err := cps.Load(ctx, "p"); err == nil || !strings.Contains(err.Error(), "part 2 of 3") {
		t.Fatalf("a missing part: %v", err)
	}

	// Saved whole, as the previous release did.
	whole := []byte(`{"projection":"commitments","format":6}`)
	if _, err := obj.PutBytes(ctx, "w", whole); err != nil {
		t.Fatal(err)
	}
	if got, err := cps.Load(ctx, "w"); err != nil || !bytes.Equal(got, whole) {
		t.Fatalf("a whole checkpoint: %q, %v", got, err)
	}
}
