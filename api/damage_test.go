package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/events"
	"promiseledger/jsstore"
)

// The second wall behind the NATS permissions: if the ledger's own reading
// consumers are changed behind its back (re-created with headers_only, or
// another filter — what a NATS user allowed to "create" consumers on the
// stream could do), the views and the sealer stop and say so; writes are
// refused at once rather than answered after 30 s with an event stored
// anyway, and nothing is served from the blinded views.
func TestDamage_ConsumerChangedBehindTheLedgersBack(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*jetstream.ConsumerConfig)
		want   string
	}{
		{"headers only", func(c *jetstream.ConsumerConfig) { c.HeadersOnly = true }, "without its body"},
		{"another filter", func(c *jetstream.ConsumerConfig) {
			c.FilterSubject, c.FilterSubjects = "ledger.532301.nothing-here", nil
		}, "a consumer whose filter was changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			first := h.must(http.StatusCreated, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2027-12-31"))
			id := first.str("id")

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			js, err := jetstream.New(h.nc)
			if err != nil {
				t.Fatal(err)
			}
			s, err := js.Stream(ctx, jsstore.DefaultStream)
			if err != nil {
				t.Fatal(err)
			}
			changed := 0
			for info := range s.ListConsumers(ctx).Info() {
				cfg := info.Config
				tc.change(&cfg)
				if _, err := js.CreateOrUpdateConsumer(ctx, jsstore.DefaultStream, cfg); err != nil {
					t.Fatalf("changing consumer %s: %v", info.Name, err)
				}
				changed++
			}
			if changed == 0 {
				t.Fatal("the ledger has no consumers to change")
			}

			// The write ends with the damage (not "not_ready" once its 30 s
			// wait for the view runs out, as it did).
			r := h.do("POST", "/api/v1/commitments/"+id+"/fulfillments", fulfilment("10", "mu", "2021-01-01"))
			if r.status != http.StatusServiceUnavailable || r.errCode() != "damaged" || !strings.Contains(r.errMessage(), tc.want) {
				t.Fatalf("the write after the change: %d %s; want 503 damaged naming %q", r.status, r.raw, tc.want)
			}
			// Nothing more is served from the blinded views, and /readyz says why.
			before := h.events()
			r = h.do("POST", "/api/v1/commitments/"+id+"/fulfillments", fulfilment("10", "mu", "2021-01-02"))
			if r.status != http.StatusServiceUnavailable || r.errCode() != "damaged" {
				t.Fatalf("a second write: %d %s", r.status, r.raw)
			}
			if h.events() != before {
				t.Fatal("a write was appended after the damage was found")
			}
			if r := h.do("GET", "/api/v1/commitments/"+id, nil); r.status != http.StatusServiceUnavailable || r.errCode() != "damaged" {
				t.Fatalf("a read: %d %s", r.status, r.raw)
			}
			ready := h.do("GET", "/readyz", nil)
			if ready.status != http.StatusServiceUnavailable || !strings.Contains(ready.str("problem"), tc.want) {
				t.Fatalf("/readyz: %d %s", ready.status, ready.raw)
			}
			// The sealer reads through a consumer of its own: it finds the
			// damage too (at once, or when its reader stalls), and seals no more.
			for deadline := time.Now().Add(20 * time.Second); h.sealer.Err() == nil; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the sealer goes on sealing what it cannot read")
				}
			}
			if _, err := h.sealer.SealNow(ctx); !errors.Is(err, events.ErrDamaged) {
				t.Fatalf("sealing over damaged data: %v", err)
			}
		})
	}
}
