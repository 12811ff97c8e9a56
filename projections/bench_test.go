package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/events"
	"promiseledger/internal/natstest"
	"promiseledger/jsstore"
	"promiseledger/projections"
)

var fixture natstest.Fixture

func benchEvents() int { return natstest.BenchEvents() }

func TestMain(m *testing.M) {
	code := m.Run()
	fixture.Remove()
	os.Exit(code)
}

func fillBenchLedger(dir string, n int) error {
	ctx := context.Background()
	emb, err := jsstore.StartEmbedded(jsstore.EmbeddedConfig{Dir: dir})
	if err != nil {
		return err
	}
	defer emb.Shutdown()
	nc, err := emb.Connect("bench-fill")
	if err != nil {
		return err
	}
	defer nc.Close()
	st, err := jsstore.Open(ctx, nc, jsstore.Config{})
	if err != nil {
		return err
	}
	recorded := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	event := func(c, county string, typ events.Type, data any) events.Event {
		raw, _ := json.Marshal(data)
		return events.Event{ID: uuid.Must(uuid.NewV7()).String(), Type: typ, Schema: typ.Schema(), CommitmentID: c, County: county,
			EffectiveOn: events.MustDate("2025-03-01"), RecordedAt: recorded, Actor: events.Anonymous, Data: raw}
	}
	commitments := (n + 4) / 5
	work := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				id := uuid.Must(uuid.NewV7()).String()
				county := events.Chuxiong[i%10].Code
				made := events.CommitmentMade{Department: "财政局", Project: fmt.Sprintf("项目%d", i), Investor: events.Investor{Name: "企业", CreditCode: creditCode(i)},
					Kind: events.Subsidy, Description: "补贴", Quantity: events.Quantity{Value: events.MustDecimal("100"), Unit: events.CNY},
					MadeOn: events.MustDate("2025-01-01"), Due: events.MustDate("2026-06-30")}
				res, err := st.Append(ctx, event(id, county, events.CommitmentMadeType, made), 0)
				for k := 0; k < 4 && err == nil && i*5+k+1 < n; k++ {
					f := events.FulfillmentRecorded{Quantity: events.Quantity{Value: events.MustDecimal("10"), Unit: events.CNY}, FulfilledOn: events.MustDate("2025-03-01"), Evidence: "凭证"}
					res, err = st.Append(ctx, event(id, county, events.FulfillmentRecordedType, f), res.Sequence)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < commitments; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	cps, err := st.OpenCheckpoints(ctx)
	if err != nil {
		return err
	}
	view := projections.New(quiet())
	if err := view.CatchUp(ctx, st, nil, nil); err != nil {
		return err
	}
	return view.SaveCheckpoint(ctx, cps)
}

// BenchmarkRestart measures, on one ledger in one run, side by side:
//   - raw: reading every message with an ordered consumer, no decoding (the floor);
//   - rebuild: folding every event from the first into a new projection;
//   - checkpoint: a whole restart — embedded server on the folder, stream
//     and checkpoint opened, projection restored and ready.
func BenchmarkRestart(b *testing.B) {
	dir := fixture.Dir(b, func(dir string) error { return fillBenchLedger(dir, benchEvents()) })
	ctx := context.Background()
	open := func(b *testing.B) (*jsstore.Embedded, *jsstore.Store) {
		emb, err := jsstore.StartEmbedded(jsstore.EmbeddedConfig{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		nc, err := emb.Connect("bench")
		if err != nil {
			b.Fatal(err)
		}
		st, err := jsstore.Open(ctx, nc, jsstore.Config{})
		if err != nil {
			b.Fatal(err)
		}
		return emb, st
	}
	b.Run(fmt.Sprintf("raw-ordered-consumer/events=%d", benchEvents()), func(b *testing.B) {
		emb, _ := open(b)
		defer emb.Shutdown()
		nc, _ := emb.Connect("raw")
		js, _ := jetstream.New(nc)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			cons, err := js.OrderedConsumer(ctx, jsstore.DefaultStream, jetstream.OrderedConsumerConfig{})
			if err != nil {
				b.Fatal(err)
			}
			it, err := cons.Messages(jetstream.PullMaxMessages(1024))
			if err != nil {
				b.Fatal(err)
			}
			for {
				msg, err := it.Next()
				if err != nil {
					b.Fatal(err)
				}
				if meta, _ := msg.Metadata(); meta.NumPending == 0 {
					break
				}
			}
			it.Stop()
		}
		b.ReportMetric(float64(benchEvents())*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run(fmt.Sprintf("rebuild-from-event-one/events=%d", benchEvents()), func(b *testing.B) {
		emb, st := open(b)
		defer emb.Shutdown()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			view := projections.New(quiet())
			if err := view.CatchUp(ctx, st, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(benchEvents())*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run(fmt.Sprintf("restart-from-checkpoint/events=%d", benchEvents()), func(b *testing.B) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			start := time.Now()
			emb, st := open(b)
			cps, err := st.OpenCheckpoints(ctx)
			if err != nil {
				b.Fatal(err)
			}
			view := projections.New(quiet())
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- view.Run(rctx, st, projections.RunConfig{Checkpoints: cps}) }()
			for !view.Ready() {
				time.Sleep(time.Millisecond)
			}
			ready := time.Since(start)
			total += ready
			b.StopTimer()
			if s := view.Stats(); s.RestoredFrom == 0 {
				b.Fatalf("did not start from the checkpoint: %+v", s)
			}
			cancel()
			<-done
			emb.Shutdown()
			b.StartTimer()
		}
		b.ReportMetric(total.Seconds()/float64(b.N), "s-to-ready")
	})
}
