package projections_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"promiseledger/events"
	"promiseledger/internal/natstest"
	"promiseledger/jsstore"
	"promiseledger/ledger"
	"promiseledger/projections"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

var now = time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)

// running is a projection running on a store, stopped at the end of the test
// or by stop.
type running struct {
	view   *projections.Projection
	ledger *ledger.Ledger
	stop   func()
}

func start(t *testing.T, st *jsstore.Store, cfg projections.RunConfig) running {
	t.Helper()
	view := projections.New(quiet())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- view.Run(ctx, st, cfg) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(20 * time.Second)
	for !view.Ready() {
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("projection stopped: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("projection never ready")
		}
		time.Sleep(time.Millisecond)
	}
	return running{view: view, ledger: ledger.New(st, view, events.DefaultJurisdiction(), func() time.Time { return now }), stop: stop}
}

func creditCode(n int) string {
	first := fmt.Sprintf("91532301MA6%06d", n)
	c, _ := events.CreditCodeCheck(first)
	return first + string(c)
}

// fill makes n commitments, each with a fulfilment: 2n events.
func fill(t *testing.T, l *ledger.Ledger, n int) {
	t.Helper()
	fillFrom(t, l, 0, n)
}

func fillFrom(t *testing.T, l *ledger.Ledger, from, n int) {
	t.Helper()
	ctx := context.Background()
	for i := from; i < from+n; i++ {
		c, err := l.Make(ctx, events.MakeCommitment{
			County: events.Chuxiong[i%10].Code, Department: "财政局", Project: "项目", Kind: "subsidy",
			Investor:    events.InvestorInput{Name: "企业", CreditCode: creditCode(i)},
			Description: "补贴", Quantity: &events.QuantityInput{Value: events.Text("100.50"), Unit: "CNY"},
			MadeOn: "2025-01-01", Due: "2026-01-01",
		}, ledger.Meta{IdempotencyKey: fmt.Sprintf("fill-%d", i), Digest: "d"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Execute(ctx, c.ID, events.RecordFulfillment{
			Quantity: &events.QuantityInput{Value: events.Text("40"), Unit: "CNY"}, FulfilledOn: "2025-12-01", Evidence: "凭证",
		}, ledger.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
}

// answers is what the views say, for comparing two projections.
func answers(t *testing.T, v *projections.Projection) string {
	t.Helper()
	j := events.DefaultJurisdiction()
	today := j.Today(now)
	items, _ := v.List(projections.Query{Limit: 1 << 20, Today: today})
	views := make([]projections.CommitmentView, 0, len(items))
	for _, c := range items {
		views = append(views, projections.ViewOf(c, j, today))
	}
	b, err := json.Marshal([]any{v.Counties(j, today), views, v.Applied()})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCheckpoint_RestartReadsOnlyNewerEvents(t *testing.T) {
	st, _ := natstest.Store(t)
	cps, err := st.OpenCheckpoints(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	first := start(t, st, projections.RunConfig{Checkpoints: cps})
	fill(t, first.ledger, 30) // 60 events
	first.stop()              // saves a checkpoint at sequence 60
	if got := first.view.Stats().LastCheckpoint; got != 60 {
		t.Fatalf("checkpoint at %d, want 60", got)
	}

	// Events appended while no projection runs.
	second := start(t, st, projections.RunConfig{})
	fillFrom(t, second.ledger, 100, 5) // 10 more events
	want := answers(t, second.view)
	second.stop()

	restored := start(t, st, projections.RunConfig{Checkpoints: cps})
	s := restored.view.Stats()
	if s.RestoredFrom != 60 || s.EventsApplied != 10 {
		t.Fatalf("restart restored from %d and read %d events, want 60 and 10", s.RestoredFrom, s.EventsApplied)
	}
	if got := answers(t, restored.view); got != want {
		t.Fatalf("restored views differ from a full rebuild:\n%.500s\n%.500s", got, want)
	}
	// The idempotency keys came back with the checkpoint.
	if _, ok := restored.view.Receipt(projections.ReceiptKey(events.Anonymous.Name, "fill-3")); !ok {
		t.Fatal("receipts were not restored")
	}
	restored.stop()

	// A checkpoint in JSON, as earlier releases saved it, is restored alike.
	saved, err := cps.Load(context.Background(), projections.Name)
	if err != nil {
		t.Fatal(err)
	}
	old, err := projections.CheckpointAsJSON(saved)
	if err != nil {
		t.Fatal(err)
	}
	if err := cps.Save(context.Background(), projections.Name, old); err != nil {
		t.Fatal(err)
	}
	fromJSON := start(t, st, projections.RunConfig{Checkpoints: cps})
	if s := fromJSON.view.Stats(); s.RestoredFrom != 70 || s.EventsApplied != 0 {
		t.Fatalf("from a JSON checkpoint: restored from %d, read %d events, want 70 and 0", s.RestoredFrom, s.EventsApplied)
	}
	if got := answers(t, fromJSON.view); got != want {
		t.Fatalf("views restored from JSON differ:\n%.500s\n%.500s", got, want)
	}
}

func TestCheckpoint_UntrustworthyIsIgnored(t *testing.T) {
	st, _ := natstest.Store(t)
	cps, err := st.OpenCheckpoints(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, st, projections.RunConfig{Checkpoints: cps})
	fill(t, r.ledger, 10)
	r.stop()
	good, err := cps.Load(context.Background(), projections.Name)
	if err != nil {
		t.Fatal(err)
	}
	want := answers(t, r.view)

	edit := editor(t, good)
	for name, data := range map[string][]byte{
		"not JSON":              []byte("\x00\x01garbage"),
		"truncated":             good[:len(good)/2],
		"another format":        edit("format", 999),
		"another projection":    edit("projection", "alerts"),
		"commitment without id": edit("commitments", []any{map[string]any{"Version": 1}}),
	} {
		t.Run(name, func(t *testing.T) {
			if err := cps.Save(context.Background(), projections.Name, data); err != nil {
				t.Fatal(err)
			}
			r := start(t, st, projections.RunConfig{Checkpoints: cps})
			s := r.view.Stats()
			if s.RestoredFrom != 0 || s.EventsApplied != 20 {
				t.Fatalf("restored from %d, read %d events: want a rebuild of all 20", s.RestoredFrom, s.EventsApplied)
			}
			if got := answers(t, r.view); got != want {
				t.Fatalf("rebuild differs:\n%.300s\n%.300s", got, want)
			}
			r.stop()
		})
	}
}

// A checkpoint ahead of the stream, or ending on an event the stream does not
// hold there, says that events the ledger once folded are gone: the
// projection refuses to start, naming the damage, rather than rebuild from
// what is left.
func TestCheckpoint_AheadOrMismatchedIsDamage(t *testing.T) {
	st, _ := natstest.Store(t)
	ctx := context.Background()
	cps, err := st.OpenCheckpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, st, projections.RunConfig{Checkpoints: cps})
	fill(t, r.ledger, 10)
	r.stop()
	good, err := cps.Load(ctx, projections.Name)
	if err != nil {
		t.Fatal(err)
	}
	edit := editor(t, good)
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"ahead of the stream": {edit("sequence", 1000), "had folded every message up to sequence 1000, but the stream now ends at 20"},
		"of another stream":   {edit("last_event", map[string]any{"sequence": 20, "id": "01930000-0000-7000-8000-000000000000"}), "but the stream holds event"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := cps.Save(ctx, projections.Name, tc.data); err != nil {
				t.Fatal(err)
			}
			view := projections.New(quiet())
			rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			err := view.Run(rctx, st, projections.RunConfig{Checkpoints: cps})
			if !errors.Is(err, events.ErrDamaged) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run: %v; want damage saying %q", err, tc.want)
			}
			if view.Ready() || view.Err() == nil {
				t.Fatalf("a damaged projection is ready (%v) or says nothing (%v)", view.Ready(), view.Err())
			}
			if _, err := cps.Load(ctx, projections.Name); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// editor returns a function that changes one member of a saved checkpoint.
func editor(t *testing.T, saved []byte) func(key string, v any) []byte {
	t.Helper()
	saved, err := projections.CheckpointAsJSON(saved)
	if err != nil {
		t.Fatal(err)
	}
	var cp map[string]any
	if err := json.Unmarshal(saved, &cp); err != nil {
		t.Fatal(err)
	}
	return func(key string, v any) []byte {
		c := map[string]any{}
		for k, x := range cp {
			c[k] = x
		}
		c[key] = v
		b, _ := json.Marshal(c)
		return b
	}
}
