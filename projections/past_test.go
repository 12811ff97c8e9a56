package projections_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"promiseledger/events"
	"promiseledger/internal/natstest"
	"promiseledger/projections"
)

// pastOn is a Past over a store of four events (two commitments, each
// fulfilled in part), recorded at now, whose folds the test can hold. Its
// clock is a day later.
func pastOn(t *testing.T, cfg projections.PastConfig) (*projections.Past, *natstest.Holding) {
	t.Helper()
	st, _ := natstest.Store(t)
	fill(t, start(t, st, projections.RunConfig{}).ledger, 2)
	held := &natstest.Holding{Store: st}
	return projections.NewPast(held, func() time.Time { return now.Add(24 * time.Hour) }, cfg), held
}

// answered waits for View's answer; a guard against a hang, not a measure.
func answered(t *testing.T, answer <-chan error) error {
	t.Helper()
	select {
	case err := <-answer:
		return err
	case <-time.After(time.Minute):
		t.Fatal("View never answers")
		return nil
	}
}

// TestPast_FoldTimeout: a fold that is not done within its timeout ends
// with an error matching events.ErrNotReady that names the instant, instead
// of keeping its callers waiting; its principal may then fold again.
func TestPast_FoldTimeout(t *testing.T) {
	past, held := pastOn(t, projections.PastConfig{Timeout: 50 * time.Millisecond})
	held.Hold(t, 1) // never released while the fold runs
	at := now.Add(time.Hour)
	answer := make(chan error, 1)
	go func() { _, err := past.View(context.Background(), "county-532301", at); answer <- err }()
	err := answered(t, answer)
	if !errors.Is(err, events.ErrNotReady) || !strings.Contains(err.Error(), "2026-11-27T05:00:00Z") {
		t.Fatalf("a fold past its timeout: %v", err)
	}
	if s := past.Stats(); s.TimedOut != 1 || s.Folds != 1 {
		t.Fatalf("%+v", s)
	}
	v, err := past.View(context.Background(), "county-532301", at.Add(time.Minute))
	if err != nil || v.Len() != 2 {
		t.Fatalf("the next fold: %v", err)
	}
}

// TestPast_WaiterLeaves: a request that stops waiting gets an error
// matching events.ErrNotReady; the fold goes on, still its principal's
// (another instant is refused), and its answer is kept for the next request.
func TestPast_WaiterLeaves(t *testing.T) {
	past, held := pastOn(t, projections.PastConfig{})
	hold := held.Hold(t, 1)
	at := now.Add(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	answer := make(chan error, 1)
	go func() { _, err := past.View(ctx, "auditor", at); answer <- err }()
	for hold.Held() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := answered(t, answer); !errors.Is(err, events.ErrNotReady) || !errors.Is(err, context.Canceled) {
		t.Fatalf("a waiter that leaves: %v", err)
	}
	_, err := past.View(context.Background(), "auditor", at.Add(time.Hour))
	var pending *projections.PendingError
	if !errors.As(err, &pending) || !errors.Is(err, projections.ErrPending) || !pending.Pending.Equal(at) || pending.RetryAfter < time.Second {
		t.Fatalf("another instant while the first is folded: %v", err)
	}
	hold.Release()
	v, err := past.View(context.Background(), "auditor", at)
	if err != nil || v.Len() != 2 {
		t.Fatalf("after the fold: %v", err)
	}
	if s := past.Stats(); s.Folds != 1 || s.Refused != 1 {
		t.Fatalf("%+v, want the one fold", s)
	}
}
