// Package bench measures the ledger beside raw JetStream, in one process,
// on one machine, with the same stream settings on both sides: the figures
// of `ledger bench` and BENCHMARKS.md, each with its baseline and the
// ratio. Every measurement starts its own embedded server on a folder of
// its own.
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/events"
	"promiseledger/gen"
	"promiseledger/jsstore"
	"promiseledger/ledger"
	"promiseledger/projections"
)

// Figure is one measurement beside its baseline.
type Figure struct {
	What, Unit     string
	Value          float64
	Baseline       string // what the value is compared with ("" for none)
	BaselineValue  float64
	HigherIsBetter bool
}

// Ratio is the value over its baseline (0 without one).
func (f Figure) Ratio() float64 {
	if f.BaselineValue == 0 {
		return 0
	}
	return f.Value / f.BaselineValue
}

// Config says how big each measurement is.
type Config struct {
	Dir         string // where the servers keep their data (a folder each)
	Appends     int    // events appended per append measurement
	Writers     int    // concurrent writers
	Commitments int    // commitments of the generated ledger (rebuild, county view)
	Log         io.Writer
}

func (c Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// Run takes every measurement and returns the figures.
func Run(ctx context.Context, c Config) ([]Figure, error) {
	var out []Figure
	for _, step := range []func(context.Context, Config) ([]Figure, error){Appends, Generated} {
		f, err := step(ctx, c)
		if err != nil {
			return out, err
		}
		out = append(out, f...)
	}
	return out, nil
}

// server is an embedded server on a folder of its own.
func server(c Config, name string, syncAlways bool) (*jsstore.Embedded, *nats.Conn, error) {
	dir := filepath.Join(c.Dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	emb, err := jsstore.StartEmbedded(jsstore.EmbeddedConfig{Dir: dir, SyncAlways: syncAlways})
	if err != nil {
		return nil, nil, err
	}
	nc, err := emb.Connect("bench")
	if err != nil {
		emb.Shutdown()
		return nil, nil, err
	}
	return emb, nc, nil
}

// Concurrently runs one(i) for i in 1..n on writers goroutines and returns
// the rate.
func Concurrently(n, writers int, one func(i int) error) (float64, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var first atomic.Pointer[error]
	start := time.Now()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)); i <= n; i = int(next.Add(1)) {
				if err := one(i); err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := first.Load(); err != nil {
		return 0, *err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

var payload = make([]byte, 600)

// Event is commitment i's first event, as the store appends it.
func Event(i int) events.Event {
	id := fmt.Sprintf("01a21000-0000-7000-8000-%012d", i)
	return events.Event{ID: id, Type: events.CommitmentMadeType, Schema: events.CommitmentMadeType.Schema(), CommitmentID: id, County: "532301",
		EffectiveOn: events.MustDate("2024-01-02"), Actor: events.Anonymous, Data: []byte(`{"department":"财政局","project":"项目","kind":"subsidy","description":"设备补助","quantity":{"value":"1000000.00","unit":"CNY"},"made_on":"2024-01-02","due":"2025-01-02","investor":{"name":"企业"}}`)}
}

// Appends measures durable appends from c.Writers writers through the
// store (group commit, and one by one) beside raw JetStream (per message,
// and atomic batches of 64), then --sync interval beside raw.
func Appends(ctx context.Context, c Config) ([]Figure, error) {
	rate := func(name string, syncAlways bool, run func(nc *nats.Conn) (float64, error)) (float64, error) {
		emb, nc, err := server(c, name, syncAlways)
		if err != nil {
			return 0, err
		}
		defer emb.Shutdown()
		defer nc.Close()
		r, err := run(nc)
		c.logf("%-28s %10.0f appends/s", name, r)
		return r, err
	}
	store := func(noGroup bool) func(*nats.Conn) (float64, error) {
		return func(nc *nats.Conn) (float64, error) {
			st, err := jsstore.Open(ctx, nc, jsstore.Config{NoGroupCommit: noGroup, Logger: quiet()})
			if err != nil {
				return 0, err
			}
			return Concurrently(c.Appends, c.Writers, func(i int) error {
				_, err := st.Append(ctx, Event(i), 0)
				return err
			})
		}
	}
	raw := func(nc *nats.Conn) (float64, error) {
		if _, err := jsstore.Open(ctx, nc, jsstore.Config{Logger: quiet()}); err != nil {
			return 0, err
		}
		js, _ := jetstream.New(nc)
		return Concurrently(c.Appends, c.Writers, func(i int) error {
			_, err := js.Publish(ctx, fmt.Sprintf("ledger.532301.raw-%d", i), payload, jetstream.WithExpectLastSequencePerSubject(0))
			return err
		})
	}
	atomicBatches := func(nc *nats.Conn) (float64, error) {
		if _, err := jsstore.Open(ctx, nc, jsstore.Config{Logger: quiet()}); err != nil {
			return 0, err
		}
		return AtomicBatches(nc, c.Appends)
	}
	var rates [6]float64
	steps := []struct {
		name   string
		always bool
		run    func(*nats.Conn) (float64, error)
	}{
		{"appends-group-commit", true, store(false)}, {"appends-alone", true, store(true)},
		{"raw-per-message", true, raw}, {"raw-atomic-batches-64", true, atomicBatches},
		{"interval-appends", false, store(true)}, {"interval-raw", false, raw},
	}
	for i, s := range steps {
		r, err := rate(s.name, s.always, s.run)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		rates[i] = r
	}
	w := fmt.Sprint(c.Writers)
	return []Figure{
		{What: "durable appends/s, " + w + " writers, group commit", Unit: "appends/s", Value: rates[0], Baseline: "raw per-message SyncAlways publish, " + w + " publishers", BaselineValue: rates[2], HigherIsBetter: true},
		{What: "durable appends/s, group commit", Unit: "appends/s", Value: rates[0], Baseline: "raw atomic batches of 64", BaselineValue: rates[3], HigherIsBetter: true},
		{What: "durable appends/s, every append alone", Unit: "appends/s", Value: rates[1], Baseline: "raw per-message SyncAlways publish", BaselineValue: rates[2], HigherIsBetter: true},
		{What: "--sync interval appends/s", Unit: "appends/s", Value: rates[4], Baseline: "raw concurrent publish, expected last subject sequence", BaselineValue: rates[5], HigherIsBetter: true},
	}, nil
}

// AtomicBatches publishes n messages (rounded up to whole batches) to the
// ledger's stream in raw JetStream atomic batches of 64, one publisher,
// each message with an expected last subject sequence; it returns the rate.
func AtomicBatches(nc *nats.Conn, n int) (float64, error) {
	const size = 64
	start := time.Now()
	for b := 0; b < n; b += size {
		id := fmt.Sprintf("b%d", b)
		for i := 0; i < size; i++ {
			m := nats.NewMsg(fmt.Sprintf("ledger.532301.raw-%d", b+i))
			m.Data = payload
			m.Header.Set("Nats-Expected-Last-Subject-Sequence", "0")
			m.Header.Set("Nats-Batch-Id", id)
			m.Header.Set("Nats-Batch-Sequence", fmt.Sprint(i+1))
			if i < size-1 {
				if err := nc.PublishMsg(m); err != nil {
					return 0, err
				}
				continue
			}
			m.Header.Set("Nats-Batch-Commit", "1")
			resp, err := nc.RequestMsg(m, 10*time.Second)
			if err != nil {
				return 0, err
			}
			if strings.Contains(string(resp.Data), `"error"`) {
				return 0, fmt.Errorf("batch refused: %s", resp.Data)
			}
		}
	}
	return float64((n+size-1)/size*size) / time.Since(start).Seconds(), nil
}

// Generated measures, on a ledger of c.Commitments commitments made by
// ledger gen: the rebuild beside a raw read of the stream, and the county
// view kept as events apply beside counted afresh.
func Generated(ctx context.Context, c Config) ([]Figure, error) {
	emb, nc, err := server(c, "generated", true)
	if err != nil {
		return nil, err
	}
	defer emb.Shutdown()
	defer nc.Close()
	st, err := jsstore.Open(ctx, nc, jsstore.Config{Logger: quiet()})
	if err != nil {
		return nil, err
	}
	live := projections.New(quiet())
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- live.Run(rctx, st, projections.RunConfig{}) }()
	defer func() { cancel(); <-done }()
	for !live.Ready() {
		time.Sleep(time.Millisecond)
	}
	l := ledger.New(st, live, events.DefaultJurisdiction(), time.Now)
	start := time.Now()
	evs, err := gen.Run(ctx, l, c.Commitments, c.Writers, 1, nil)
	if err != nil {
		return nil, err
	}
	c.logf("generated %d commitments, %d events in %s", c.Commitments, evs, time.Since(start).Round(time.Millisecond))
	// Rebuild: a new projection folds every event; raw: an ordered consumer
	// reads every message.
	start = time.Now()
	if err := projections.New(quiet()).CatchUp(ctx, st, nil, nil); err != nil {
		return nil, err
	}
	rebuild := float64(evs) / time.Since(start).Seconds()
	js, _ := jetstream.New(nc)
	cons, err := js.OrderedConsumer(ctx, jsstore.DefaultStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	last, err := st.LastSequence(ctx)
	if err != nil {
		return nil, err
	}
	start = time.Now()
	it, err := cons.Messages(jetstream.PullMaxMessages(1024))
	if err != nil {
		return nil, err
	}
	for {
		msg, err := it.Next()
		if err != nil {
			return nil, err
		}
		if meta, _ := msg.Metadata(); meta.Sequence.Stream >= last {
			break
		}
	}
	it.Stop()
	raw := float64(last) / time.Since(start).Seconds()
	// The county view: kept, and afresh (another day each time).
	j, today := l.Jurisdiction(), l.Today()
	live.Counties(j, today)
	const reads = 200
	start = time.Now()
	for range reads {
		live.Counties(j, today)
	}
	kept := time.Since(start).Seconds() / reads * 1000
	afreshReads := 5
	start = time.Now()
	for i := range afreshReads {
		live.Counties(j, today.AddDays(i+1))
	}
	afresh := time.Since(start).Seconds() / float64(afreshReads) * 1000
	n := fmt.Sprint(c.Commitments)
	return []Figure{
		{What: "rebuild, every projection, " + fmt.Sprint(evs) + " events", Unit: "events/s", Value: rebuild, Baseline: "raw ordered-consumer read of the same stream", BaselineValue: raw, HigherIsBetter: true},
		{What: "county view read, " + n + " commitments, kept as events apply", Unit: "ms", Value: kept, Baseline: "counted afresh over every commitment", BaselineValue: afresh},
	}, nil
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
