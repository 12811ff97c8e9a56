package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/audit"
	"promiseledger/events"
	"promiseledger/internal/natstest"
	"promiseledger/jsstore"
	"promiseledger/ledger"
	"promiseledger/projections"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// sealedLedger makes 5 commitments, each fulfilled in three parts, the
// events of different commitments interleaved, then seals them.
func sealedLedger(t *testing.T) (*jsstore.Store, *nats.Conn, ed25519.PrivateKey, []audit.Record) {
	t.Helper()
	ctx := context.Background()
	st, nc := natstest.Store(t)
	view := projections.New(quiet())
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = view.Run(rctx, st, projections.RunConfig{}); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for !view.Ready() {
		time.Sleep(time.Millisecond)
	}
	now := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	l := ledger.New(st, view, events.DefaultJurisdiction(), func() time.Time { return now })
	var ids []string
	for i := 0; i < 5; i++ {
		first := fmt.Sprintf("91532301MA6%06d", i)
		check, _ := events.CreditCodeCheck(first)
		c, err := l.Make(ctx, events.MakeCommitment{County: events.Chuxiong[i].Code, Department: "财政局", Project: "项目", Kind: "subsidy",
			Investor: events.InvestorInput{Name: "企业", CreditCode: first + string(check)}, Description: "补贴",
			Quantity: &events.QuantityInput{Value: events.Text("90"), Unit: "CNY"}, MadeOn: "2025-01-01", Due: "2026-01-01"}, ledger.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	for round := 0; round < 3; round++ {
		for _, id := range ids {
			if _, err := l.Execute(ctx, id, events.RecordFulfillment{Quantity: &events.QuantityInput{Value: events.Text("10"), Unit: "CNY"},
				FulfilledOn: "2025-06-01", Evidence: "凭证"}, ledger.Meta{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	sealer := audit.NewSealer(st, key, 0, 0, func() time.Time { return now }, quiet())
	sctx, scancel := context.WithCancel(ctx)
	sdone := make(chan struct{})
	go func() { _ = sealer.Run(sctx); close(sdone) }()
	for !sealer.Ready() {
		time.Sleep(time.Millisecond)
	}
	if _, err := sealer.SealNow(ctx); err != nil {
		t.Fatal(err)
	}
	scancel()
	<-sdone
	var recs []audit.Record
	if err := st.Records(ctx, func(r audit.Record) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 21 || !recs[20].IsSeal() {
		t.Fatalf("%d records; last is a seal: %v", len(recs), recs[len(recs)-1].IsSeal())
	}
	return st, nc, key, recs
}

// tamperedCopy writes records into a new stream, as an administrator with
// full access to the server could, and reads them back.
func tamperedCopy(t *testing.T, nc *nats.Conn, name string, recs []audit.Record) []audit.Record {
	t.Helper()
	ctx := context.Background()
	js, _ := jetstream.New(nc)
	prefix := strings.ToLower(name)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{prefix + ".>"}}); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		subject := prefix + strings.TrimPrefix(r.Subject, "ledger")
		if _, err := js.Publish(ctx, subject, r.Data); err != nil {
			t.Fatal(err)
		}
	}
	copyStore, err := jsstore.Open(ctx, nc, jsstore.Config{Stream: name, Subject: prefix})
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Record
	if err := copyStore.Records(ctx, func(r audit.Record) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// verify checks recs as `ledger audit verify` does (audit.Verify: a screen
// in bounded memory, then the full diagnosis when the screen finds
// anything), and panics unless that says exactly what the full Verifier
// alone says, having read the records once when they are sound and twice
// when they are not.
func verify(pub ed25519.PublicKey, recs []audit.Record) audit.Report {
	v := audit.NewVerifier(pub)
	for _, r := range recs {
		v.Add(r)
	}
	full := v.Finish()
	for _, workers := range []int{1, 4} {
		rep, passes, err := audit.Verify(pub, false, workers, func(add func(audit.Record)) error {
			for _, r := range recs {
				add(r)
			}
			return nil
		})
		if err != nil || !reflect.DeepEqual(rep, full) {
			panic(fmt.Sprintf("audit.Verify (%d workers) says %+v (%v), the full verifier %+v", workers, rep, err, full))
		}
		if want := map[bool]int{true: 1, false: 2}[full.OK()]; passes != want {
			panic(fmt.Sprintf("audit.Verify read the records %d times, want %d (sound: %v)", passes, want, full.OK()))
		}
	}
	return full
}

// edit changes an event's data; with rehash, its hash is recomputed as a
// careful forger would.
func edit(t *testing.T, r audit.Record, rehash bool) audit.Record {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Data, &m); err != nil {
		t.Fatal(err)
	}
	data := m["data"].(map[string]any)
	data["quantity"] = map[string]any{"value": "90.00", "unit": "CNY"} // "the whole subsidy was paid"
	if rehash {
		delete(m, "hash")
		b, _ := json.Marshal(m)
		h, err := audit.EventHash(b)
		if err != nil {
			t.Fatal(err)
		}
		m["hash"] = h
	}
	b, _ := json.Marshal(m)
	return audit.Record{Sequence: r.Sequence, Subject: r.Subject, Data: b}
}

func field(t *testing.T, r audit.Record, name string) string {
	var m map[string]any
	_ = json.Unmarshal(r.Data, &m)
	s, _ := m[name].(string)
	return s
}

// want checks the findings exactly: kind at sequence, and the event they name.
func want(t *testing.T, rep audit.Report, expect ...string) {
	t.Helper()
	var got []string
	for _, p := range rep.Problems {
		got = append(got, fmt.Sprintf("%s@%d:%s", p.Kind, p.Sequence, p.EventID))
	}
	if fmt.Sprint(sortStrings(got)) != fmt.Sprint(sortStrings(expect)) {
		t.Fatalf("findings\n got %v\nwant %v\n%v", got, expect, rep.Problems)
	}
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestVerify_NamesEveryTampering(t *testing.T) {
	_, nc, key, recs := sealedLedger(t)
	pub := key.Public().(ed25519.PublicKey)
	// recs: 1–5 made (commitments A–E), 6–10 first fulfilments, 11–15 second,
	// 16–20 third, 21 the seal. Events 7 and 12 are B's first and second fulfilment.
	seal := uint64(21)

	t.Run("clean copy", func(t *testing.T) {
		rep := verify(pub, tamperedCopy(t, nc, "CLEAN", recs))
		want(t, rep)
		if rep.Events != 20 || rep.Seals != 1 || rep.Chains != 5 || rep.Unsealed != 0 {
			t.Fatalf("report %+v", rep)
		}
	})

	t.Run("data changed, hash not recomputed", func(t *testing.T) {
		c := append([]audit.Record(nil), recs...)
		c[6] = edit(t, c[6], false)
		want(t, verify(pub, tamperedCopy(t, nc, "ALTERED", c)), fmt.Sprintf("altered@7:%s", field(t, recs[6], "id")))
	})

	t.Run("data changed, hashes recomputed", func(t *testing.T) {
		c := append([]audit.Record(nil), recs...)
		c[6] = edit(t, c[6], true)
		want(t, verify(pub, tamperedCopy(t, nc, "REHASHED", c)),
			fmt.Sprintf("altered@7:%s", field(t, recs[6], "id")), fmt.Sprintf("seal_mismatch@%d:", seal))
	})

	t.Run("event dropped", func(t *testing.T) {
		c := append(append([]audit.Record(nil), recs[:6]...), recs[7:]...) // B's first fulfilment is gone
		// B's second fulfilment, now at sequence 11, names a predecessor the copy lacks.
		want(t, verify(pub, tamperedCopy(t, nc, "DROPPED", c)),
			fmt.Sprintf("missing@11:%s", field(t, recs[11], "id")), fmt.Sprintf("seal_count@%d:", seal-1))
	})

	t.Run("event inserted", func(t *testing.T) {
		forged := edit(t, recs[6], true) // a second copy of B's first fulfilment, changed and rehashed
		var m map[string]any
		_ = json.Unmarshal(forged.Data, &m)
		m["id"] = "01a21d00-0000-7000-8000-00000000f0f0"
		delete(m, "hash")
		b, _ := json.Marshal(m)
		h, _ := audit.EventHash(b)
		m["hash"] = h
		forged.Data, _ = json.Marshal(m)
		c := append(append(append([]audit.Record(nil), recs[:7]...), forged), recs[7:]...) // right after the real one
		want(t, verify(pub, tamperedCopy(t, nc, "INSERTED", c)),
			"inserted@8:01a21d00-0000-7000-8000-00000000f0f0", fmt.Sprintf("seal_count@%d:", seal+1))
	})

	t.Run("two events swapped", func(t *testing.T) {
		c := append([]audit.Record(nil), recs...)
		c[6], c[11] = c[11], c[6] // B's first and second fulfilments trade places
		want(t, verify(pub, tamperedCopy(t, nc, "SWAPPED", c)),
			fmt.Sprintf("reordered@12:%s", field(t, recs[6], "id")), fmt.Sprintf("seal_mismatch@%d:", seal))
	})

	t.Run("seal re-signed with another key", func(t *testing.T) {
		var s audit.Seal
		_ = json.Unmarshal(recs[20].Data, &s)
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		if err := s.Sign(other); err != nil {
			t.Fatal(err)
		}
		c := append([]audit.Record(nil), recs...)
		c[20].Data, _ = json.Marshal(s)
		rep := verify(pub, tamperedCopy(t, nc, "RESIGNED", c))
		want(t, rep, fmt.Sprintf("seal_signature@%d:", seal))
		if !strings.Contains(rep.Problems[0].Detail, audit.KeyID(other.Public().(ed25519.PublicKey))) {
			t.Fatalf("the finding should name the key that signed: %s", rep.Problems[0].Detail)
		}
	})
}
