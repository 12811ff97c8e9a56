package jsstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/events"
	"promiseledger/jsstore"
)

// BenchmarkAppend measures durable appends (fsync before each
// acknowledgement) from 64 concurrent writers, side by side in one run:
//   - store: the ledger's Append, with group commit (atomic batches);
//   - store-alone: the same, every append written alone;
//   - raw-per-message: raw JetStream, each message its own synced publish
//     with an expected last subject sequence, 64 publishers;
//   - raw-atomic-batch: raw JetStream atomic batches of 64 messages.
func BenchmarkAppend(b *testing.B) {
	const writers = 64
	interval := false // the server syncs every two minutes, not before each acknowledgement
	open := func(b *testing.B, cfg jsstore.Config) (*jsstore.Store, jetstream.JetStream) {
		emb, err := jsstore.StartEmbedded(jsstore.EmbeddedConfig{Dir: b.TempDir(), SyncAlways: !interval})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(emb.Shutdown)
		nc, _ := emb.Connect("bench")
		b.Cleanup(nc.Close)
		st, err := jsstore.Open(context.Background(), nc, cfg)
		if err != nil {
			b.Fatal(err)
		}
		js, _ := jetstream.New(nc)
		return st, js
	}
	concurrently := func(b *testing.B, one func(i int) error) {
		var next atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1)); i <= b.N; i = int(next.Add(1)) {
					if err := one(i); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	}
	for _, grouped := range []bool{true, false} {
		name := "store"
		if !grouped {
			name = "store-alone"
		}
		b.Run(name, func(b *testing.B) {
			st, _ := open(b, jsstore.Config{NoGroupCommit: !grouped})
			ids := make([]string, b.N+1)
			for i := range ids {
				ids[i] = newIDb(b)
			}
			concurrently(b, func(i int) error {
				_, err := st.Append(context.Background(), benchEvent(ids[i]), 0)
				return err
			})
			batches, batched, fallbacks := st.GroupCommitStats()
			if batches > 0 {
				b.ReportMetric(float64(batched)/float64(batches), "events/batch")
			}
			b.ReportMetric(float64(fallbacks), "fallbacks")
		})
	}
	payload := make([]byte, 600)
	raw := func(b *testing.B) {
		_, js := open(b, jsstore.Config{})
		concurrently(b, func(i int) error {
			_, err := js.Publish(context.Background(), fmt.Sprintf("ledger.532301.raw-%d", i), payload, jetstream.WithExpectLastSequencePerSubject(0))
			return err
		})
	}
	b.Run("raw-per-message", raw)
	// --sync interval: the store writes one by one (as serve does then),
	// against raw concurrent publishing with the same expectation.
	interval = true
	b.Run("interval/store", func(b *testing.B) {
		st, _ := open(b, jsstore.Config{NoGroupCommit: true})
		concurrently(b, func(i int) error {
			_, err := st.Append(context.Background(), benchEvent(newIDb(b)), 0)
			return err
		})
	})
	b.Run("interval/raw-per-message", raw)
}

// BenchmarkAtomicBatch is raw JetStream atomic batches of 64 messages from
// one publisher, each message with an expected last subject sequence: the
// ceiling of group commit.
func BenchmarkAtomicBatch(b *testing.B) {
	emb, err := jsstore.StartEmbedded(jsstore.EmbeddedConfig{Dir: b.TempDir(), SyncAlways: true})
	if err != nil {
		b.Fatal(err)
	}
	defer emb.Shutdown()
	nc, _ := emb.Connect("bench")
	defer nc.Close()
	if _, err := jsstore.Open(context.Background(), nc, jsstore.Config{}); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 600)
	const size = 64
	b.ResetTimer()
	for n := 0; n < b.N; n += size {
		id := fmt.Sprintf("b%d", n)
		for i := 0; i < size; i++ {
			m := nats.NewMsg(fmt.Sprintf("ledger.532301.raw-%d", n+i))
			m.Data = payload
			m.Header.Set("Nats-Expected-Last-Subject-Sequence", "0")
			m.Header.Set("Nats-Batch-Id", id)
			m.Header.Set("Nats-Batch-Sequence", fmt.Sprint(i+1))
			if i < size-1 {
				if err := nc.PublishMsg(m); err != nil {
					b.Fatal(err)
				}
				continue
			}
			m.Header.Set("Nats-Batch-Commit", "1")
			resp, err := nc.RequestMsg(m, 10*time.Second)
			if err != nil || strings.Contains(string(resp.Data), "error") {
				b.Fatalf("%v %s", err, resp.Data)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}

func newIDb(b *testing.B) string {
	b.Helper()
	return fmt.Sprintf("01a21000-0000-7000-8000-%012d", nextBenchID.Add(1))
}

var nextBenchID atomic.Int64

func benchEvent(commitment string) events.Event {
	return events.Event{ID: commitment, Type: events.CommitmentMadeType, Schema: events.SchemaVersion, CommitmentID: commitment, County: "532301",
		EffectiveOn: events.MustDate("2024-01-02"), Actor: events.Anonymous, Data: []byte(`{"department":"财政局","project":"项目","kind":"subsidy","description":"设备补助","quantity":{"value":"1000000.00","unit":"CNY"},"made_on":"2024-01-02","due":"2025-01-02","investor":{"name":"企业"}}`)}
}
