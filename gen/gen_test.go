package gen_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"promiseledger/events"
	"promiseledger/gen"
	"promiseledger/internal/natstest"
	"promiseledger/ledger"
	"promiseledger/projections"
)

// ledgerOf is a fresh ledger on an in-process server, its view running.
func ledgerOf(t *testing.T) (*ledger.Ledger, *projections.Projection) {
	t.Helper()
	st, _ := natstest.Store(t)
	view := projections.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = view.Run(ctx, st, projections.RunConfig{}) }()
	t.Cleanup(func() { cancel(); <-done })
	for !view.Ready() {
		time.Sleep(time.Millisecond)
	}
	return ledger.New(st, view, events.DefaultJurisdiction(), time.Now), view
}

// A generated ledger has every kind and state in plausible proportions,
// and the same seed makes the same promises.
func TestRun(t *testing.T) {
	l, view := ledgerOf(t)
	n, err := gen.Run(context.Background(), l, 400, 16, 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	if view.Len() != 400 || n < 800 {
		t.Fatalf("%d commitments, %d events", view.Len(), n)
	}
	kinds, statuses := map[events.Kind]int{}, map[events.Status]int{}
	overdue, disputed, ordered, extended := 0, 0, 0, 0
	today := l.Today()
	projects := map[string]string{}
	view.Each(func(c *events.Commitment) {
		kinds[c.Kind]++
		statuses[c.Status()]++
		if c.DaysOverdue(today) > 0 {
			overdue++
		}
		if c.Disputed() {
			disputed++
		}
		if len(c.SupervisionOrders) > 0 {
			ordered++
		}
		if len(c.Extensions) > 0 {
			extended++
		}
		projects[c.Project] = c.Quantity.Value.String()
	})
	for _, k := range events.Kinds {
		if kinds[k] == 0 {
			t.Errorf("no %s promise: %v", k, kinds)
		}
	}
	for _, s := range []events.Status{events.Open, events.PartiallyFulfilled, events.Fulfilled, events.Waived, events.Cancelled} {
		if statuses[s] < 5 {
			t.Errorf("only %d %s: %v", statuses[s], s, statuses)
		}
	}
	if overdue < 20 || disputed < 10 || ordered < 5 || extended < 5 {
		t.Errorf("overdue %d, disputed %d, under supervision %d, extended %d", overdue, disputed, ordered, extended)
	}
	// The same seed, another ledger: the same promises.
	l2, view2 := ledgerOf(t)
	if _, err := gen.Run(context.Background(), l2, 400, 4, 7, nil); err != nil {
		t.Fatal(err)
	}
	view2.Each(func(c *events.Commitment) {
		if projects[c.Project] != c.Quantity.Value.String() {
			t.Fatalf("seed 7 made %s of %s once, %s the other time", projects[c.Project], c.Project, c.Quantity.Value)
		}
	})
}

// A province's counties are distinct and valid.
func TestProvince(t *testing.T) {
	if _, err := events.NewJurisdiction(gen.Province(129), nil); err != nil {
		t.Fatal(err)
	}
}
