package jsstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"promiseledger/events"
	"promiseledger/internal/natstest"
	"promiseledger/jsstore"
)

// On a cluster a read's consumer often lives on another node than the one
// the ledger is connected to. Two things then happen now and then (a few
// reads in a hundred here), and each made a healthy cluster's read report
// damage, which stops the ledger:
//   - the consumer sits on a replica that has not stored the event just
//     appended, and counts fewer events than there are;
//   - its first pull request is lost, and nothing is delivered, not even a
//     heartbeat, until nats.go gives the consumer up after two missed
//     heartbeats and makes a new one: at the default heartbeat (5 s), that
//     was the whole of LoadWait.
func TestLoad_OnAClusterReadsWhatWasAppended(t *testing.T) {
	if testing.Short() {
		t.Skip("a three-node cluster: not in -short")
	}
	cl := natstest.StartCluster(t, "")
	// One node's client: two reads in three have their consumer elsewhere.
	nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", cl.Nodes[0].ClientPort))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := jsstore.Open(ctx, nc, jsstore.Config{Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	var slow int
	for i := range 300 {
		c := newID(t)
		res, err := st.Append(ctx, newEvent(t, c, events.CommitmentMadeType, ""), 0)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		evs, err := st.Load(ctx, c) // at once, as a read after a write does
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if len(evs) != 1 || evs[0].Sequence != res.Sequence {
			t.Fatalf("read %d, just after the append at %d: %d events", i, res.Sequence, len(evs))
		}
		if time.Since(start) > time.Second {
			slow++
		}
	}
	t.Logf("%d of 300 reads waited for a new consumer", slow)
}
