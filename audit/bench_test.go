package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/audit"
	"promiseledger/events"
	"promiseledger/internal/natstest"
	"promiseledger/jsstore"
)

var (
	fixture  natstest.Fixture
	benchKey ed25519.PrivateKey // signs the benchmark ledger's seal
)

func benchEvents() int { return natstest.BenchEvents() }

func TestMain(m *testing.M) {
	code := m.Run()
	fixture.Remove()
	os.Exit(code)
}

func fillSealed(dir string, n int) error {
	ctx := context.Background()
	emb, err := jsstore.StartEmbedded(jsstore.EmbeddedConfig{Dir: dir})
	if err != nil {
		return err
	}
	defer emb.Shutdown()
	nc, err := emb.Connect("fill")
	if err != nil {
		return err
	}
	defer nc.Close()
	st, err := jsstore.Open(ctx, nc, jsstore.Config{})
	if err != nil {
		return err
	}
	js, _ := jetstream.New(nc)
	recorded := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	made, _ := json.Marshal(events.CommitmentMade{Department: "财政局", Project: "项目", Investor: events.Investor{Name: "企业", CreditCode: "91350100M000100Y43"},
		Kind: events.Subsidy, Description: "固定资产投资补助", Quantity: events.Quantity{Value: events.MustDecimal("100"), Unit: events.CNY},
		MadeOn: events.MustDate("2025-01-01"), Due: events.MustDate("2026-06-30")})
	fulfil, _ := json.Marshal(events.FulfillmentRecorded{Quantity: events.Quantity{Value: events.MustDecimal("10"), Unit: events.CNY}, FulfilledOn: events.MustDate("2025-03-01"), Evidence: "凭证"})
	// Publish asynchronously, in stream order; chains are computed here.
	var pending []jetstream.PubAckFuture
	flush := func() error {
		for _, f := range pending {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return err
			}
		}
		pending = pending[:0]
		return nil
	}
	commitments := (n + 4) / 5 // five events each, unless LEDGER_BENCH_COMMITMENTS says how many
	if c, err := strconv.Atoi(os.Getenv("LEDGER_BENCH_COMMITMENTS")); err == nil && c > 0 && c < n {
		commitments = c
	}
	prev := make([]string, commitments)
	ids := make([]string, commitments)
	written := 0
	for round := 0; written < n; round++ {
		for i := 0; i < commitments && written < n; i++ {
			if round == 0 {
				ids[i] = uuid.Must(uuid.NewV7()).String()
			}
			ev := events.Event{ID: uuid.Must(uuid.NewV7()).String(), Type: events.FulfillmentRecordedType, Schema: 1, CommitmentID: ids[i],
				County: events.Chuxiong[i%10].Code, EffectiveOn: events.MustDate("2025-03-01"), RecordedAt: recorded, Actor: events.Anonymous, Data: fulfil, PrevHash: prev[i]}
			if round == 0 {
				ev.Type, ev.Data = events.CommitmentMadeType, made
			}
			if err := audit.HashEvent(&ev); err != nil {
				return err
			}
			prev[i] = ev.Hash
			body, _ := json.Marshal(ev)
			f, err := js.PublishAsync(st.Subject(ev.County, ev.CommitmentID), body)
			if err != nil {
				return err
			}
			pending = append(pending, f)
			written++
			if len(pending) == 4096 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	_, benchKey, _ = ed25519.GenerateKey(rand.Reader)
	sealer := audit.NewSealer(st, benchKey, 0, 0, time.Now, quiet())
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = sealer.Run(sctx); close(done) }()
	for !sealer.Ready() {
		time.Sleep(time.Millisecond)
	}
	_, err = sealer.SealNow(ctx)
	cancel()
	<-done
	return err
}

// BenchmarkVerify measures, on one sealed ledger in one run, side by side:
// reading every message raw with an ordered consumer, and verifying every
// event's hash and chain and the seal's tree head and signature.
func BenchmarkVerify(b *testing.B) {
	dir := fixture.Dir(b, func(dir string) error { return fillSealed(dir, benchEvents()) })
	ctx := context.Background()
	emb, err := jsstore.StartEmbedded(jsstore.EmbeddedConfig{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer emb.Shutdown()
	nc, _ := emb.Connect("bench")
	st, err := jsstore.Open(ctx, nc, jsstore.Config{})
	if err != nil {
		b.Fatal(err)
	}
	n := benchEvents()
	b.Run(fmt.Sprintf("raw-ordered-consumer/events=%d", n), func(b *testing.B) {
		js, _ := jetstream.New(nc)
		for i := 0; i < b.N; i++ {
			cons, err := js.OrderedConsumer(ctx, jsstore.DefaultStream, jetstream.OrderedConsumerConfig{})
			if err != nil {
				b.Fatal(err)
			}
			it, _ := cons.Messages(jetstream.PullMaxMessages(1024))
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
		b.ReportMetric(float64(n+1)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	pub := benchKey.Public().(ed25519.PublicKey)
	// As `ledger audit verify` runs it (audit.Verify: a screen that keeps one
	// hash per commitment; on a sound ledger, the only pass), and the full
	// diagnosis it falls back on when the screen finds a problem, each with
	// the peak of the heap in use while it runs.
	b.Run(fmt.Sprintf("verify/events=%d", n), func(b *testing.B) {
		defer debug.SetGCPercent(debug.SetGCPercent(audit.VerifyGC))
		peak := heapPeak()
		for i := 0; i < b.N; i++ {
			rep, passes, err := audit.Verify(pub, false, 2, func(add func(audit.Record)) error {
				return st.Records(ctx, func(r audit.Record) error { add(r); return nil })
			})
			if err != nil || passes != 1 || !rep.OK() || rep.Events != uint64(n) || rep.Seals != 1 {
				b.Fatalf("verification: %d passes, %d events, %d seals, %v %v", passes, rep.Events, rep.Seals, err, rep.Problems[:min(3, len(rep.Problems))])
			}
		}
		b.ReportMetric(float64(n+1)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
	})
	b.Run(fmt.Sprintf("diagnosis/events=%d", n), func(b *testing.B) {
		defer debug.SetGCPercent(debug.SetGCPercent(audit.VerifyGC))
		peak := heapPeak()
		for i := 0; i < b.N; i++ {
			v := audit.NewVerifier(pub)
			add, wait := v.Concurrent(2)
			if err := st.Records(ctx, func(r audit.Record) error { add(r); return nil }); err != nil {
				b.Fatal(err)
			}
			wait()
			if rep := v.Finish(); !rep.OK() || rep.Events != uint64(n) || rep.Seals != 1 {
				b.Fatalf("verification: %d events, %d seals, %v", rep.Events, rep.Seals, rep.Problems[:min(3, len(rep.Problems))])
			}
		}
		b.ReportMetric(float64(n+1)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
	})
}

// heapPeak samples the heap in use every 10 ms, after a collection, and
// returns a function that stops sampling and gives the highest sample.
func heapPeak() func() uint64 {
	runtime.GC()
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(stop); return <-done }
}
