package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"promiseledger/events"
	"promiseledger/gen"
	"promiseledger/internal/natstest"
	"promiseledger/jsstore"
	"promiseledger/ledger"
	"promiseledger/projections"
)

// The county tallies kept as events apply equal a fresh count after every
// event of a generated ledger, on the day asked for and on the next.
func TestTallies_KeptAsEventsApplyEqualAFreshCount(t *testing.T) {
	st, live, l := generated(t, 120, 3)
	j, today := l.Jurisdiction(), l.Today()
	// Fold the stream again, one event at a time, asking for the tallies
	// after each (so they are kept, not made afresh).
	p := projections.New(quiet())
	evs := 0
	err := st.Follow(context.Background(), 0, func(e events.Event) error {
		if err := p.Apply(e); err != nil {
			return err
		}
		evs++
		if evs%7 == 0 || evs < 40 {
			same(t, evs, p.Counties(j, today), fresh(p, j, today))
			sameDetail(t, evs, p, j, today)
		}
		if e.Sequence >= live.Applied() {
			return errStop
		}
		return nil
	})
	if err != errStop {
		t.Fatal(err)
	}
	same(t, evs, p.Counties(j, today), fresh(p, j, today))
	tomorrow := today.AddDays(1)
	same(t, evs, p.Counties(j, tomorrow), fresh(p, j, tomorrow))
	sameDetail(t, evs, p, j, tomorrow)
	// An earlier day is counted afresh and leaves the kept tallies alone.
	same(t, evs, p.Counties(j, today.AddDays(-400)), fresh(p, j, today.AddDays(-400)))
	same(t, evs, p.Counties(j, tomorrow), fresh(p, j, tomorrow))
	if total, sum := p.Total(j, tomorrow), fresh(p, j, tomorrow); total.Commitments != 120 || len(sum) != 10 {
		t.Fatalf("the total: %+v", total)
	}
}

// generated is a ledger of n commitments made by gen with the seed, its
// live view running for the test.
func generated(t testing.TB, n int, seed uint64) (*jsstore.Store, *projections.Projection, *ledger.Ledger) {
	t.Helper()
	return generatedWith(t, n, seed, nil)
}

// generatedWith is generated, with the live view set up by set first.
func generatedWith(t testing.TB, n int, seed uint64, set func(*projections.Projection)) (*jsstore.Store, *projections.Projection, *ledger.Ledger) {
	t.Helper()
	st, _ := natstest.Store(t)
	live := projections.New(quiet())
	if set != nil {
		set(live)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = live.Run(ctx, st, projections.RunConfig{}) }()
	t.Cleanup(func() { cancel(); <-done })
	for !live.Ready() {
		time.Sleep(time.Millisecond)
	}
	l := ledger.New(st, live, events.DefaultJurisdiction(), time.Now)
	if _, err := gen.Run(context.Background(), l, n, 16, seed, nil); err != nil {
		t.Fatal(err)
	}
	return st, live, l
}

type stop struct{}

func (stop) Error() string { return "stop" }

var errStop error = stop{}

// fresh counts every commitment again, as the views did before they were
// kept: each county's summary, with its detail (by kind, by department,
// aging) in the second value.
func fresh(p *projections.Projection, j *events.Jurisdiction, today events.Date) []projections.CountySummary {
	var out []projections.CountySummary
	for _, c := range j.Counties {
		out = append(out, projections.CountySummary{Code: c.Code, Name: c.Name, Tally: projections.CountyFresh(p, j, c, today).Tally})
	}
	return out
}

// sameDetail checks every county's kept detail and the kept aging against
// a fresh count.
func sameDetail(t *testing.T, evs int, p *projections.Projection, j *events.Jurisdiction, today events.Date) {
	t.Helper()
	aging := p.Aging(j, today)
	for i, c := range j.Counties {
		a, _ := json.Marshal(p.County(j, c, today))
		want := projections.CountyFresh(p, j, c, today)
		b, _ := json.Marshal(want)
		if string(a) != string(b) {
			t.Fatalf("after %d events %s's kept detail differs from a fresh count:\n got %s\nwant %s", evs, c.Name, a, b)
		}
		x, _ := json.Marshal(aging.Counties[i].Buckets)
		y, _ := json.Marshal(want.Aging)
		if string(x) != string(y) {
			t.Fatalf("after %d events %s's kept aging differs:\n got %s\nwant %s", evs, c.Name, x, y)
		}
	}
}

func same(t *testing.T, evs int, got, want []projections.CountySummary) {
	t.Helper()
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		t.Fatalf("after %d events the kept tallies differ from a fresh count:\n got %s\nwant %s", evs, a, b)
	}
}

// BenchmarkCounties is the county view of a generated ledger
// (LEDGER_BENCH_COMMITMENTS commitments, default 500): kept as events
// apply, and counted afresh over every commitment as it was before (asked
// for another day each time, which makes the tallies afresh).
func BenchmarkCounties(b *testing.B) {
	n := 500
	if v, err := strconv.Atoi(os.Getenv("LEDGER_BENCH_COMMITMENTS")); err == nil && v > 0 {
		n = v
	}
	_, live, l := generated(b, n, 1)
	j, today := l.Jurisdiction(), l.Today()
	b.Run(fmt.Sprintf("kept/commitments=%d", n), func(b *testing.B) {
		live.Counties(j, today)
		b.ResetTimer()
		for range b.N {
			live.Counties(j, today)
		}
	})
	b.Run(fmt.Sprintf("afresh/commitments=%d", n), func(b *testing.B) {
		for i := range b.N {
			live.Counties(j, today.AddDays(i+1))
		}
	})
}
