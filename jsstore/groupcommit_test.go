package jsstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/events"
	"promiseledger/internal/natstest"
	"promiseledger/jsstore"
)

// Concurrent appends are written in atomic batches: every one answered with
// its own sequence, the stream dense, fewer writes than appends.
func TestGroupCommit_ConcurrentAppends(t *testing.T) {
	st, _ := natstest.Store(t)
	const n = 200
	seqs := make([]uint64, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := st.Append(context.Background(), newEvent(t, newID(t), events.CommitmentMadeType, ""), 0)
			if err != nil {
				t.Error(err)
			}
			seqs[i] = res.Sequence
		}()
	}
	close(start)
	wg.Wait()
	seen := map[uint64]bool{}
	for _, s := range seqs {
		if s == 0 || s > n || seen[s] {
			t.Fatalf("sequence %d given twice or out of range: %v", s, seqs)
		}
		seen[s] = true
	}
	batches, batched, _ := st.GroupCommitStats()
	if batches == 0 || batched < 2 {
		t.Fatalf("no batch was written: %d batches of %d events", batches, batched)
	}
	// Every sequence answered holds the event it was given for.
	if messages(t, st) != n {
		t.Fatalf("%d messages", messages(t, st))
	}
	t.Logf("%d appends in %d batches of %d events, and %d alone", n, batches, batched, n-batched)
}

// A batch the server refuses as a whole — one of its expectations fails,
// or it holds a retried key — is written again one by one: the unrelated
// appends succeed, the conflict is a conflict, the retry a duplicate.
func TestGroupCommit_RefusedBatchFallsBack(t *testing.T) {
	ctx := context.Background()
	st, _ := natstest.Store(t)
	taken, keyed := newID(t), newID(t)
	first, err := st.Append(ctx, newEvent(t, taken, events.CommitmentMadeType, ""), 0)
	if err != nil {
		t.Fatal(err)
	}
	retried := newEvent(t, keyed, events.CommitmentMadeType, "key-1")
	orig, err := st.Append(ctx, retried, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A conflict among good appends.
	evs := []events.Event{newEvent(t, newID(t), events.CommitmentMadeType, ""), newEvent(t, taken, events.CommitmentMadeType, ""), newEvent(t, newID(t), events.CommitmentMadeType, "")}
	res, errs := jsstore.WriteTogether(st, evs, []uint64{0, 0, 0})
	var conflict *events.ConflictError
	if errs[0] != nil || errs[2] != nil || !errors.As(errs[1], &conflict) || !errors.Is(errs[1], events.ErrConflict) {
		t.Fatalf("a batch with a conflict: %v", errs)
	}
	if res[0].Sequence == 0 || res[2].Sequence != res[0].Sequence+1 {
		t.Fatalf("the good appends: %+v", res)
	}
	// A retried key among good appends: answered as it would be alone —
	// since nats-server 2.12 the expectation is checked before the key, so
	// a retry meets its own first attempt as a conflict, and the ledger
	// then finds the key among the events (TestStore_RetriedIdempotencyKey,
	// TestAPI_Idempotency).
	evs = []events.Event{newEvent(t, newID(t), events.CommitmentMadeType, ""), retried}
	res, errs = jsstore.WriteTogether(st, evs, []uint64{0, 0})
	if errs[0] != nil || !errors.Is(errs[1], events.ErrConflict) {
		t.Fatalf("a batch with a retried key: %+v %v", res, errs)
	}
	// With the expectation met, the key makes it a duplicate.
	evs = []events.Event{newEvent(t, newID(t), events.CommitmentMadeType, ""), retried}
	res, errs = jsstore.WriteTogether(st, evs, []uint64{0, orig.Sequence})
	if errs[0] != nil || errs[1] != nil || !res[1].Duplicate || res[1].Sequence != orig.Sequence {
		t.Fatalf("a batch with a retried key, expectation met: %+v %v", res, errs)
	}
	// A good batch, written whole.
	evs = []events.Event{newEvent(t, newID(t), events.CommitmentMadeType, "key-2"), newEvent(t, taken, events.FulfillmentRecordedType, "")}
	res, errs = jsstore.WriteTogether(st, evs, []uint64{0, first.Sequence})
	if errs[0] != nil || errs[1] != nil || res[1].Sequence != res[0].Sequence+1 || res[0].Duplicate {
		t.Fatalf("a good batch: %+v %v", res, errs)
	}
	batches, batched, fallbacks := st.GroupCommitStats()
	if batches != 1 || batched != 2 || fallbacks != 3 {
		t.Fatalf("stats: %d batches, %d events, %d fallbacks", batches, batched, fallbacks)
	}
	// The stream holds each event once, in the sequences answered.
	if n := messages(t, st); n != res[1].Sequence {
		t.Fatalf("%d messages, last answered %d", n, res[1].Sequence)
	}
	evsOf, err := st.Load(ctx, taken)
	if err != nil || len(evsOf) != 2 || evsOf[1].Sequence != res[1].Sequence {
		t.Fatalf("the commitment's events: %v %v", evsOf, err)
	}
}

// The auditors' mirror copies events written in batches as it copies the
// others: the same messages at the same sequences.
func TestGroupCommit_MirroredAlike(t *testing.T) {
	emb := natstest.Start(t, "")
	nc, err := emb.Connect(t.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	st, err := jsstore.Open(context.Background(), nc, jsstore.Config{AuditMirror: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.Append(context.Background(), newEvent(t, newID(t), events.CommitmentMadeType, ""), 0); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if batches, _, _ := st.GroupCommitStats(); batches == 0 {
		t.Skip("no batch was formed this time")
	}
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	mirror, err := js.Stream(ctx, jsstore.AuditMirror)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		info, err := mirror.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mirror holds %d of 100", info.State.Msgs)
		}
	}
	ledger, _ := js.Stream(ctx, jsstore.DefaultStream)
	for seq := uint64(1); seq <= 100; seq++ {
		a, err1 := ledger.GetMsg(ctx, seq)
		b, err2 := mirror.GetMsg(ctx, seq)
		if err1 != nil || err2 != nil || string(a.Data) != string(b.Data) || a.Subject != b.Subject {
			t.Fatalf("sequence %d differs: %v %v", seq, err1, err2)
		}
	}
}
