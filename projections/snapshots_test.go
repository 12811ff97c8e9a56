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
	"promiseledger/projections"
)

// A past view started from a snapshot of the live view equals the fold of
// the same instant from event one, for instants before, between and after
// the snapshots.
func TestSnapshots_PastViewsEqualFullFolds(t *testing.T) {
	st, live, l := generatedWith(t, 150, 5, func(p *projections.Projection) { p.KeepSnapshots(60, 4) })
	j := l.Jurisdiction()
	// Every instant an event was recorded at, and a few more.
	var instants []time.Time
	err := st.Follow(context.Background(), 0, func(e events.Event) error {
		if e.Sequence%25 == 0 {
			instants = append(instants, e.RecordedAt, e.RecordedAt.Add(-time.Nanosecond))
		}
		if e.Sequence >= live.Applied() {
			return errStop
		}
		return nil
	})
	if err != errStop {
		t.Fatal(err)
	}
	instants = append(instants, time.Now())
	fromSnapshots := projections.NewPast(st, nil, projections.PastConfig{From: live.From, Keep: 1})
	full := projections.NewPast(st, nil, projections.PastConfig{Keep: 1})
	for i, at := range instants {
		a, err := fromSnapshots.ViewOn(context.Background(), "a", at, events.Date{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := full.ViewOn(context.Background(), "b", at, events.Date{})
		if err != nil {
			t.Fatal(err)
		}
		today := j.Today(at)
		ga, _ := json.Marshal(a.Counties(j, today))
		gb, _ := json.Marshal(b.Counties(j, today))
		la, _ := a.List(projections.Query{Limit: 1 << 30, Today: today})
		lb, _ := b.List(projections.Query{Limit: 1 << 30, Today: today})
		if string(ga) != string(gb) || len(la) != len(lb) || a.Applied() != b.Applied() {
			t.Fatalf("instant %d (%s): from a snapshot %s (%d commitments, at %d), from event one %s (%d, at %d)", i, at, ga, len(la), a.Applied(), gb, len(lb), b.Applied())
		}
		for k := range la {
			x, _ := json.Marshal(la[k])
			y, _ := json.Marshal(lb[k])
			if string(x) != string(y) {
				t.Fatalf("instant %d: commitment %s differs:\n%s\n%s", i, la[k].ID, x, y)
			}
		}
	}
	if s := fromSnapshots.Stats(); s.FromSnapshot == 0 {
		t.Fatalf("no fold started from a snapshot: %+v", s)
	}
}

// BenchmarkPastView is a view as of an instant a moment ago on a generated
// ledger (LEDGER_BENCH_COMMITMENTS commitments, default 500): from the live
// view's latest snapshot, and from event one.
func BenchmarkPastView(b *testing.B) {
	n := 500
	if v, err := strconv.Atoi(os.Getenv("LEDGER_BENCH_COMMITMENTS")); err == nil && v > 0 {
		n = v
	}
	st, live, _ := generatedWith(b, n, 1, func(p *projections.Projection) { p.KeepSnapshots(10_000, 16) })
	at := time.Now()
	for _, from := range []bool{true, false} {
		name := fmt.Sprintf("from-snapshot/events=%d", live.Applied())
		cfg := projections.PastConfig{Keep: 1}
		if from {
			cfg.From = live.From
		} else {
			name = fmt.Sprintf("from-event-one/events=%d", live.Applied())
		}
		b.Run(name, func(b *testing.B) {
			for i := range b.N {
				past := projections.NewPast(st, nil, cfg)
				if _, err := past.ViewOn(context.Background(), "bench", at.Add(time.Duration(i)), events.Date{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
