package jsstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/bench"
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
		b.ResetTimer()
		rate, err := bench.Concurrently(b.N, writers, one)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(rate, "appends/s")
	}
	for _, grouped := range []bool{true, false} {
		name := "store"
		if !grouped {
			name = "store-alone"
		}
		b.Run(name, func(b *testing.B) {
			st, _ := open(b, jsstore.Config{NoGroupCommit: !grouped})
			concurrently(b, func(i int) error {
				_, err := st.Append(context.Background(), bench.Event(i), 0)
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
			_, err := st.Append(context.Background(), bench.Event(i), 0)
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
	b.ResetTimer()
	rate, err := bench.AtomicBatches(nc, b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rate, "appends/s")
}
