package projections_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"promiseledger/events"
	"promiseledger/internal/natstest"
	"promiseledger/projections"
)

// Damage a read finds — here a history shorter than the events the live
// view folded — is reported, not only answered to that one request.
func TestReads_DamageFoundByAReadIsReported(t *testing.T) {
	st, _ := natstest.Store(t)
	live := projections.New(quiet())
	// The view folded an event the stream does not hold.
	ev := events.Event{ID: "01930000-0000-7000-8000-000000000001", Type: events.CommitmentMadeType, Schema: 1,
		CommitmentID: "01930000-0000-7000-8000-000000000002", County: "532301", Sequence: 1,
		Data: []byte(`{"department":"d","project":"p","investor":{"name":"n","credit_code":"c"},"kind":"land","description":"x","quantity":{"value":"1","unit":"mu"},"made_on":"2020-01-01","due":"2020-12-31"}`)}
	if err := live.Apply(ev); err != nil {
		t.Fatal(err)
	}
	var reported error
	reads := projections.NewReads(st, live, events.DefaultJurisdiction(), time.Now, func(err error) { reported = err })
	_, err := reads.History(context.Background(), ev.CommitmentID)
	if !errors.Is(err, events.ErrDamaged) {
		t.Fatalf("History: %v, want damage", err)
	}
	if !errors.Is(reported, events.ErrDamaged) {
		t.Fatalf("reported: %v", reported)
	}
}
