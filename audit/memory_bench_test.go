package audit_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"promiseledger/audit"
	"promiseledger/events"
)

// BenchmarkVerifyMemory measures what verification itself keeps, apart
// from any server: records made on the fly (LEDGER_BENCH_EVENTS events over
// LEDGER_BENCH_COMMITMENTS histories, sealed every 10,000 events) are fed to
// audit.Verify (the screen, the only pass on a sound ledger) and to the full
// Verifier, and the heap still in use after a collection at the end of the
// reading is reported, less what was in use before it began. The screen's
// figure grows with the number of commitments, not of events.
func BenchmarkVerifyMemory(b *testing.B) {
	n := benchEvents()
	commitments := (n + 4) / 5
	if c, err := strconv.Atoi(os.Getenv("LEDGER_BENCH_COMMITMENTS")); err == nil && c > 0 {
		commitments = c
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	pub := key.Public().(ed25519.PublicKey)
	made, _ := json.Marshal(events.CommitmentMade{Department: "财政局", Project: "项目", Investor: events.Investor{Name: "企业", CreditCode: "91350100M000100Y43"},
		Kind: events.Subsidy, Description: "补助", Quantity: events.Quantity{Value: events.MustDecimal("100"), Unit: events.CNY},
		MadeOn: events.MustDate("2025-01-01"), Due: events.MustDate("2026-06-30")})
	fulfil, _ := json.Marshal(events.FulfillmentRecorded{Quantity: events.Quantity{Value: events.MustDecimal("1"), Unit: events.CNY}, FulfilledOn: events.MustDate("2025-03-01")})
	ids := make([]string, commitments)
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7()).String()
	}
	// feed writes the ledger: events in rounds over the commitments, a seal
	// every 10,000 events and one at the end.
	feed := func(add func(audit.Record)) {
		prev := make([]string, commitments)
		var tree audit.Frontier
		seq := uint64(0)
		seal := func() {
			seq++
			head := tree.Root()
			s := audit.Seal{Type: audit.SealType, Schema: 1, Sequence: seq - 1, Events: tree.Size(), TreeHead: hex.EncodeToString(head[:]), SealedAt: time.Unix(0, 0).UTC()}
			if err := s.Sign(key); err != nil {
				b.Fatal(err)
			}
			data, _ := json.Marshal(s)
			add(audit.Record{Sequence: seq, Subject: "ledger" + audit.SealSubjectSuffix, Data: data})
		}
		for i := 0; i < n; i++ {
			c := i % commitments
			ev := events.Event{ID: uuid.Must(uuid.NewV7()).String(), Type: events.FulfillmentRecordedType, Schema: 1, CommitmentID: ids[c],
				County: "532301", EffectiveOn: events.MustDate("2025-03-01"), RecordedAt: time.Unix(0, 0).UTC(), Actor: events.Anonymous, Data: fulfil, PrevHash: prev[c]}
			if prev[c] == "" {
				ev.Type, ev.Data = events.CommitmentMadeType, made
			}
			if err := audit.HashEvent(&ev); err != nil {
				b.Fatal(err)
			}
			prev[c] = ev.Hash
			leaf, _ := hex.DecodeString(ev.Hash)
			tree.Append(leaf)
			data, _ := json.Marshal(ev)
			seq++
			add(audit.Record{Sequence: seq, Subject: "ledger.532301." + ids[c], Data: data})
			if (i+1)%10_000 == 0 {
				seal()
			}
		}
		seal()
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	b.Run(fmt.Sprintf("screen/events=%d/commitments=%d", n, commitments), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			before := heap()
			var kept uint64
			rep, passes, err := audit.Verify(pub, false, 1, func(add func(audit.Record)) error {
				feed(add)
				after := heap()
				kept = after - min(before, after)
				return nil
			})
			if err != nil || passes != 1 || !rep.OK() || rep.Events != uint64(n) {
				b.Fatalf("%d passes, %+v, %v", passes, rep, err)
			}
			b.ReportMetric(float64(kept)/(1<<20), "kept-MiB")
		}
	})
	b.Run(fmt.Sprintf("diagnosis/events=%d/commitments=%d", n, commitments), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			before := heap()
			v := audit.NewVerifier(pub)
			feed(v.Add)
			after := heap()
			kept := after - min(before, after)
			if rep := v.Finish(); !rep.OK() || rep.Events != uint64(n) {
				b.Fatalf("%+v", rep)
			}
			b.ReportMetric(float64(kept)/(1<<20), "kept-MiB")
		}
	})
}
