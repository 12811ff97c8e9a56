package jsstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/alerts"
	"promiseledger/events"
	"promiseledger/internal/natstest"
	"promiseledger/jsstore"
)

func newEvent(t *testing.T, commitment string, typ events.Type, key string) events.Event {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return events.Event{
		ID: id.String(), Type: typ, Schema: typ.Schema(), CommitmentID: commitment,
		County: "532301", EffectiveOn: events.MustDate("2024-01-02"), RecordedAt: time.Now().UTC().Truncate(time.Microsecond),
		Actor: events.Anonymous, IdempotencyKey: key, Data: json.RawMessage(`{"note":"x"}`),
	}
}

func newID(t *testing.T) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

// ledgerStream is the ledger's stream as a raw JetStream client sees it.
func ledgerStream(t *testing.T, ctx context.Context, nc *nats.Conn) jetstream.Stream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, jsstore.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func messages(t *testing.T, st *jsstore.Store) uint64 {
	t.Helper()
	n, err := st.LastSequence(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStore_AppendConflict(t *testing.T) {
	ctx := context.Background()
	st, _ := natstest.Store(t)
	c := newID(t)

	first, err := st.Append(ctx, newEvent(t, c, events.CommitmentMadeType, ""), 0)
	if err != nil {
		t.Fatal(err)
	}
	// A writer that still believes the commitment is new loses.
	_, err = st.Append(ctx, newEvent(t, c, events.FulfillmentRecordedType, ""), 0)
	if !errors.Is(err, events.ErrConflict) {
		t.Fatalf("append with a stale expectation: got %v, want ErrConflict", err)
	}
	var ce *events.ConflictError
	if !errors.As(err, &ce) || !strings.HasSuffix(ce.Subject, "."+c) || ce.Expected != 0 {
		t.Fatalf("conflict details: %+v", ce)
	}
	if got := messages(t, st); got != 1 {
		t.Fatalf("stream holds %d messages after a conflict, want 1", got)
	}
	// With the right expectation it goes through.
	second, err := st.Append(ctx, newEvent(t, c, events.FulfillmentRecordedType, ""), first.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if second.Sequence != first.Sequence+1 {
		t.Fatalf("second sequence %d", second.Sequence)
	}
	// Another commitment's subject has its own sequence: no conflict.
	if _, err := st.Append(ctx, newEvent(t, newID(t), events.CommitmentMadeType, ""), 0); err != nil {
		t.Fatalf("other commitment: %v", err)
	}
}

func TestStore_RetriedIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	st, _ := natstest.Store(t)
	c := newID(t)
	made, err := st.Append(ctx, newEvent(t, c, events.CommitmentMadeType, ""), 0)
	if err != nil {
		t.Fatal(err)
	}
	ev := newEvent(t, c, events.FulfillmentRecordedType, "key-1")
	first, err := st.Append(ctx, ev, made.Sequence)
	if err != nil || first.Duplicate {
		t.Fatalf("first append: %+v %v", first, err)
	}

	// The retry of the same append, with the same expectation: since
	// nats-server 2.12 the expected-sequence check runs before
	// de-duplication, so the retry is reported as a conflict, not a duplicate.
	_, err = st.Append(ctx, ev, made.Sequence)
	if !errors.Is(err, events.ErrConflict) {
		t.Fatalf("retry: got %v, want a conflict (the caller then finds the key already stored)", err)
	}

	// A retry whose expectation still holds (a new commitment's subject, as a
	// retried POST /commitments makes a new id) is a duplicate of the first.
	retry := newEvent(t, newID(t), events.CommitmentMadeType, "key-1")
	dup, err := st.Append(ctx, retry, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !dup.Duplicate || dup.Sequence != first.Sequence {
		t.Fatalf("duplicate: %+v, want duplicate of sequence %d", dup, first.Sequence)
	}
	if got := messages(t, st); got != 2 {
		t.Fatalf("stream holds %d messages, want 2", got)
	}
}

func TestStore_ReopenAfterStop(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := newID(t)

	emb, err := jsstore.StartEmbedded(jsstore.EmbeddedConfig{Dir: dir, SyncAlways: true})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := emb.Connect("first")
	if err != nil {
		t.Fatal(err)
	}
	st, err := jsstore.Open(ctx, nc, jsstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var written []events.Event
	last := uint64(0)
	for _, typ := range []events.Type{events.CommitmentMadeType, events.FulfillmentRecordedType, events.DisputeOpenedType} {
		ev := newEvent(t, c, typ, "")
		res, err := st.Append(ctx, ev, last)
		if err != nil {
			t.Fatal(err)
		}
		ev.Sequence, last = res.Sequence, res.Sequence
		written = append(written, ev)
	}
	nc.Close()
	emb.Shutdown()

	emb2 := natstest.Start(t, dir)
	st2, _ := natstest.OpenStore(t, emb2)
	got, err := st2.Load(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(written) {
		t.Fatalf("after reopening: %d events, want %d", len(got), len(written))
	}
	for i := range got {
		w, g := written[i], got[i]
		if g.ID != w.ID || g.Type != w.Type || g.Sequence != w.Sequence || !g.RecordedAt.Equal(w.RecordedAt) || string(g.Data) != string(w.Data) {
			t.Errorf("event %d changed across the restart:\n got %+v\nwant %+v", i, g, w)
		}
	}
	// The stream still refuses to append on a stale expectation.
	if _, err := st2.Append(ctx, newEvent(t, c, events.FulfillmentRecordedType, ""), written[1].Sequence); !errors.Is(err, events.ErrConflict) {
		t.Fatalf("stale append after reopen: %v", err)
	}
}

func TestStore_FollowAndLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, _ := natstest.Store(t)
	a, b := newID(t), newID(t)
	lastA := uint64(0)
	for i := 0; i < 3; i++ {
		typ := events.FulfillmentRecordedType
		if i == 0 {
			typ = events.CommitmentMadeType
		}
		res, err := st.Append(ctx, newEvent(t, a, typ, ""), lastA)
		if err != nil {
			t.Fatal(err)
		}
		lastA = res.Sequence
		if i == 0 {
			if _, err := st.Append(ctx, newEvent(t, b, events.CommitmentMadeType, ""), 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	evs, err := st.Load(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0].Type != events.CommitmentMadeType {
		t.Fatalf("load a: %d events", len(evs))
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Sequence <= evs[i-1].Sequence {
			t.Fatalf("load is not in stream order")
		}
	}
	none, err := st.Load(ctx, newID(t))
	if err != nil || len(none) != 0 {
		t.Fatalf("load of an unknown commitment: %d events, %v", len(none), err)
	}

	// Follow from sequence 2 sees 3 and 4, then a new one as it is stored.
	var seen []uint64
	fctx, fcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- st.Follow(fctx, 2, func(ev events.Event) error {
			seen = append(seen, ev.Sequence)
			if ev.Sequence == 5 {
				fcancel()
			}
			return nil
		})
	}()
	if _, err := st.Append(ctx, newEvent(t, b, events.FulfillmentRecordedType, ""), 2); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("follow ended with %v", err)
	}
	if len(seen) != 3 || seen[0] != 3 || seen[2] != 5 {
		t.Fatalf("follow saw %v, want [3 4 5]", seen)
	}
}

func TestStore_StreamRefusesDeletes(t *testing.T) {
	ctx := context.Background()
	st, nc := natstest.Store(t)
	if _, err := st.Append(ctx, newEvent(t, newID(t), events.CommitmentMadeType, ""), 0); err != nil {
		t.Fatal(err)
	}
	s := ledgerStream(t, ctx, nc)
	if err := s.DeleteMsg(ctx, 1); err == nil {
		t.Error("deleting an event succeeded")
	}
	if err := s.Purge(ctx); err == nil {
		t.Error("purging the stream succeeded")
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 || !info.Config.DenyDelete || !info.Config.DenyPurge || info.Config.Storage != jetstream.FileStorage || info.Config.Duplicates == 0 {
		t.Fatalf("stream config or state: %+v %+v", info.Config, info.State)
	}
}

func TestEmbedded_DataFolderIsLocked(t *testing.T) {
	dir := t.TempDir()
	natstest.Start(t, dir)
	if _, err := jsstore.StartEmbedded(jsstore.EmbeddedConfig{Dir: dir}); err == nil {
		t.Fatal("a second server opened a data folder in use")
	}
}

// TestEmbedded_AuditorCannotForgeEvents: with a NATS listener, a client with
// the auditor's credentials reads the stream and can change nothing.
func TestEmbedded_AuditorCannotForgeEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	emb, err := jsstore.StartEmbedded(jsstore.EmbeddedConfig{Dir: t.TempDir(), Listen: "127.0.0.1:-1", AuditorPassword: "auditor-secret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	st, ledgerNC := openWithMirror(t, emb)
	c := newID(t)
	if _, err := st.Append(ctx, newEvent(t, c, events.CommitmentMadeType, ""), 0); err != nil {
		t.Fatal(err)
	}
	url := emb.ClientURL()

	// No credentials, or wrong ones: no connection at all.
	if nc, err := nats.Connect(url); err == nil {
		nc.Close()
		t.Fatal("connected without credentials")
	}
	if nc, err := nats.Connect(url, nats.UserInfo(jsstore.LedgerUser, "guess")); err == nil {
		nc.Close()
		t.Fatal("connected as the ledger with a guessed password")
	}

	var asyncErr error
	var mu sync.Mutex
	nc, err := nats.Connect(url, nats.UserInfo(jsstore.AuditorUser, "auditor-secret"), nats.CustomInboxPrefix(jsstore.AuditorInboxPrefix),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { mu.Lock(); asyncErr = err; mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// violation waits for the server's asynchronous Permissions Violation.
	violation := func() error {
		for i := 0; i < 200; i++ {
			mu.Lock()
			err := asyncErr
			mu.Unlock()
			if err != nil && strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
				return nil
			}
			time.Sleep(10 * time.Millisecond)
		}
		return errors.New("no permissions violation reported")
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// It can read: stream info, one message, and the events through a
	// consumer of its own on the audit mirror.
	s, err := js.Stream(ctx, jsstore.DefaultStream)
	if err != nil {
		t.Fatalf("auditor stream info: %v", err)
	}
	if s.CachedInfo().State.Msgs != 1 {
		t.Fatalf("auditor sees %d messages", s.CachedInfo().State.Msgs)
	}
	if m, err := s.GetMsg(ctx, 1, jetstream.WithGetMsgSubject("")); err != nil || !strings.Contains(string(m.Data), c) {
		t.Fatalf("auditor direct get: %v", err)
	}
	_ = ledgerNC
	cons, err := js.OrderedConsumer(ctx, jsstore.AuditMirror, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("auditor consumer: %v", err)
	}
	if msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second)); err != nil || !strings.Contains(string(msg.Data()), c) {
		t.Fatalf("auditor read: %v", err)
	}

	// It cannot write: a forged event on a commitment's subject is refused.
	forged := newEvent(t, c, events.FulfillmentRecordedType, "")
	body, _ := json.Marshal(forged)
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	_, err = js.Publish(pctx, "ledger.532301."+c, body)
	pcancel()
	if err == nil {
		t.Fatal("the auditor published an event")
	}
	if err := nc.Publish("ledger.532301."+c, body); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	if err := violation(); err != nil {
		t.Errorf("publishing a forged event: %v", err)
	}
	// Nor change the stream, nor read the tokens.
	short, scancel := context.WithTimeout(ctx, time.Second)
	defer scancel()
	if _, err := js.UpdateStream(short, jetstream.StreamConfig{Name: jsstore.DefaultStream, Subjects: []string{"ledger.>", "forged.>"}}); err == nil {
		t.Error("the auditor changed the stream")
	}
	if _, err := js.KeyValue(short, jsstore.DefaultTokenBucket); err == nil {
		t.Error("the auditor opened the token bucket")
	}
	if n := messages(t, st); n != 1 {
		t.Fatalf("the stream holds %d messages, want 1", n)
	}
	// Nor read others' replies, nor take over the alerts' delivery consumers.
	mu.Lock()
	asyncErr = nil
	mu.Unlock()
	if _, err := nc.SubscribeSync("_INBOX.>"); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	if err := violation(); err != nil {
		t.Errorf("subscribing to everyone's inboxes: %v", err)
	}
	cctx, ccancel := context.WithTimeout(ctx, time.Second)
	defer ccancel()
	if _, err := js.CreateOrUpdateConsumer(cctx, jsstore.AlertStream, jetstream.ConsumerConfig{Durable: "deliver-0123456789abcdef"}); err == nil {
		t.Error("the auditor made a consumer on the alerts stream")
	}

	// It can follow the alerts as they are raised, with a plain subscription.
	sub, err := nc.SubscribeSync("alerts.>")
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	as, err := st.OpenAlerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := as.Append(ctx, alerts.Alert{ID: alerts.Key(alerts.Overdue, c, "20260101"), Key: alerts.Key(alerts.Overdue, c, "20260101"), State: alerts.Raised, Rule: alerts.Overdue, CommitmentID: c, County: "532301"}, 0); err != nil {
		t.Fatal(err)
	}
	msg, err := sub.NextMsg(5 * time.Second)
	if err != nil || msg.Subject != "alerts.532301.overdue."+alerts.Key(alerts.Overdue, c, "20260101") {
		t.Fatalf("the auditor's subscription: %v %v", msg, err)
	}
	if err := nc.Publish("alerts.532301.overdue.forged", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	if last, _ := as.LastSequence(ctx); last != 1 {
		t.Fatalf("the alerts stream holds %d messages, want 1", last)
	}
}

// openWithMirror opens the ledger's stream with its audit mirror, as serve
// does when auditors may connect over NATS.
func openWithMirror(t *testing.T, emb *jsstore.Embedded) (*jsstore.Store, *nats.Conn) {
	t.Helper()
	nc, err := emb.Connect(t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	st, err := jsstore.Open(context.Background(), nc, jsstore.Config{AuditMirror: true})
	if err != nil {
		t.Fatal(err)
	}
	return st, nc
}

// The attack of the adversarial trial, through a real NATS connection as
// the auditor: re-sending the config of one of the ledger's own consumers
// with headers_only (or another filter) used to be accepted — JetStream's
// consumer "create" also updates — and blinded the ledger's views and
// seals. The auditor may no longer list, create, update or delete any
// consumer on the ledger's stream; it reads the audit mirror instead, which
// holds the same messages at the same sequences and which the ledger never
// reads.
func TestEmbedded_AuditorCannotChangeTheLedgersConsumers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	emb, err := jsstore.StartEmbedded(jsstore.EmbeddedConfig{Dir: t.TempDir(), Listen: "127.0.0.1:-1", AuditorPassword: "auditor-secret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	st, ledgerNC := openWithMirror(t, emb)
	c := newID(t)
	first := newEvent(t, c, events.CommitmentMadeType, "")
	if _, err := st.Append(ctx, first, 0); err != nil {
		t.Fatal(err)
	}
	// The ledger follows its stream, as its projection does.
	got := make(chan events.Event, 10)
	fctx, fcancel := context.WithCancel(ctx)
	followed := make(chan struct{}) // closed when Follow returns, with followErr
	var followErr error
	go func() {
		defer close(followed)
		followErr = st.Follow(fctx, 0, func(ev events.Event) error { got <- ev; return nil })
	}()
	defer func() { fcancel(); <-followed }()
	if ev := <-got; ev.ID != first.ID {
		t.Fatalf("followed %+v", ev)
	}
	ljs, err := jetstream.New(ledgerNC)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := ljs.Stream(ctx, jsstore.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	var ledgers []jetstream.ConsumerConfig
	for info := range ls.ListConsumers(ctx).Info() {
		ledgers = append(ledgers, info.Config)
	}
	if len(ledgers) == 0 {
		t.Fatal("the ledger has no consumer on its stream")
	}

	nc, err := nats.Connect(emb.ClientURL(), nats.UserInfo(jsstore.AuditorUser, "auditor-secret"), nats.CustomInboxPrefix(jsstore.AuditorInboxPrefix))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, time.Second)
		t.Cleanup(cancel)
		return c
	}
	as, err := js.Stream(ctx, jsstore.DefaultStream)
	if err != nil {
		t.Fatalf("auditor stream info: %v", err)
	}
	lister := as.ConsumerNames(short())
	for range lister.Name() {
		t.Error("the auditor listed the ledger's consumers")
	}
	for _, cfg := range ledgers {
		for name, change := range map[string]func(*jetstream.ConsumerConfig){
			"headers_only":    func(c *jetstream.ConsumerConfig) { c.HeadersOnly = true },
			"filter":          func(c *jetstream.ConsumerConfig) { c.FilterSubject, c.FilterSubjects = "ledger.none", nil },
			"deliver nothing": func(c *jetstream.ConsumerConfig) { c.DeliverPolicy, c.OptStartSeq = jetstream.DeliverNewPolicy, 0 },
		} {
			attack := cfg
			change(&attack)
			if _, err := js.CreateOrUpdateConsumer(short(), jsstore.DefaultStream, attack); err == nil {
				t.Errorf("the auditor changed the ledger's consumer %s (%s)", cfg.Name, name)
			}
		}
		if err := js.DeleteConsumer(short(), jsstore.DefaultStream, cfg.Name); err == nil {
			t.Errorf("the auditor deleted the ledger's consumer %s", cfg.Name)
		}
		// The raw request, as a hand-written client would send it.
		body, _ := json.Marshal(map[string]any{"stream_name": jsstore.DefaultStream, "config": map[string]any{"name": cfg.Name, "headers_only": true, "deliver_policy": "all", "ack_policy": "none"}})
		if m, err := nc.Request("$JS.API.CONSUMER.CREATE."+jsstore.DefaultStream+"."+cfg.Name, body, time.Second); err == nil && !strings.Contains(string(m.Data), `"error"`) {
			t.Errorf("the raw create request was accepted: %s", m.Data)
		}
	}
	for info := range ls.ListConsumers(ctx).Info() {
		if info.Config.HeadersOnly || info.Config.FilterSubject == "ledger.none" || info.Config.DeliverPolicy == jetstream.DeliverNewPolicy {
			t.Errorf("the ledger's consumer %s was changed: %+v", info.Name, info.Config)
		}
	}
	// The ledger still reads every event whole.
	second := newEvent(t, c, events.FulfillmentRecordedType, "")
	if _, err := st.Append(ctx, second, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-got:
		if ev.ID != second.ID || ev.Type != events.FulfillmentRecordedType {
			t.Fatalf("the ledger read %+v", ev)
		}
	case <-followed:
		t.Fatalf("the ledger stopped following: %v", followErr)
	case <-ctx.Done():
		t.Fatal("the ledger read nothing more")
	}
	// The auditor reads the same messages, at the same sequences, from the mirror.
	cons, err := js.OrderedConsumer(ctx, jsstore.AuditMirror, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("auditor consumer on the mirror: %v", err)
	}
	for want := uint64(1); want <= 2; want++ {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("auditor read of the mirror: %v", err)
		}
		meta, _ := msg.Metadata()
		orig, err := ls.GetMsg(ctx, want)
		if err != nil {
			t.Fatal(err)
		}
		if meta.Sequence.Stream != want || string(msg.Data()) != string(orig.Data) || msg.Subject() != orig.Subject {
			t.Fatalf("mirror message %d differs from the ledger's", want)
		}
	}
}

// The README's configuration for an external cluster lists exactly the
// auditor's permissions of the embedded server.
func TestAuditorPermissions_READMEMatches(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "publish: { allow: [")
	end := strings.Index(readme[start:], "] }")
	if start < 0 || end < 0 {
		t.Fatal("no auditor allow-list in the README")
	}
	var listed []string
	for _, f := range strings.Split(readme[start+len("publish: { allow: ["):start+end], ",") {
		listed = append(listed, strings.Trim(strings.TrimSpace(f), `"`))
	}
	want := jsstore.AuditorPermissions(jsstore.DefaultStream, jsstore.AuditMirror, jsstore.AlertStream).Publish.Allow
	if strings.Join(listed, "\n") != strings.Join(want, "\n") {
		t.Fatalf("README lists\n%s\nbut the auditor may\n%s", strings.Join(listed, "\n"), strings.Join(want, "\n"))
	}
}

// A reader that was idle longer than the stall limit, then meets a short
// delivery delay (a consumer paused for a moment, as a cluster node restart
// can), is not damage: the stall is timed from when the stream first holds
// the undelivered message, not from the last delivery.
func TestFollow_ShortDelayAfterIdleIsNotDamage(t *testing.T) {
	emb := natstest.Start(t, "")
	nc, err := emb.Connect(t.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := jsstore.Open(ctx, nc, jsstore.Config{Stall: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c := newID(t)
	if _, err := st.Append(ctx, newEvent(t, c, events.CommitmentMadeType, ""), 0); err != nil {
		t.Fatal(err)
	}
	got := make(chan events.Event, 4)
	followed := make(chan error, 1)
	fctx, fcancel := context.WithCancel(ctx)
	defer fcancel()
	go func() { followed <- st.Follow(fctx, 0, func(ev events.Event) error { got <- ev; return nil }) }()
	<-got
	time.Sleep(3 * time.Second) // idle for longer than the stall limit

	js, _ := jetstream.New(nc)
	s, _ := js.Stream(ctx, jsstore.DefaultStream)
	for info := range s.ListConsumers(ctx).Info() {
		if _, err := js.PauseConsumer(ctx, jsstore.DefaultStream, info.Name, time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Append(ctx, newEvent(t, c, events.FulfillmentRecordedType, ""), 1); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-got:
		if ev.Sequence != 2 {
			t.Fatalf("delivered %d", ev.Sequence)
		}
	case err := <-followed:
		t.Fatalf("a short delay after an idle spell was taken for damage: %v", err)
	case <-ctx.Done():
		t.Fatal("never delivered")
	}
}

// Reading leaves no consumer behind on the server: history reads by the
// thousand once left as many idle consumers for five minutes each, until the
// server refused new ones ("maximum consumers limit reached") and reads
// failed with 500s (found by the soak test).
func TestStore_ReadsLeaveNoConsumers(t *testing.T) {
	ctx := context.Background()
	st, nc := natstest.Store(t)
	c := newID(t)
	if _, err := st.Append(ctx, newEvent(t, c, events.CommitmentMadeType, ""), 0); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if evs, err := st.Load(ctx, c); err != nil || len(evs) != 1 {
			t.Fatalf("load: %d events, %v", len(evs), err)
		}
		if _, err := st.Load(ctx, newID(t)); err != nil { // nothing to read
			t.Fatal(err)
		}
	}
	fctx, cancel := context.WithCancel(ctx)
	if err := st.Follow(fctx, 0, func(events.Event) error { cancel(); return nil }); err != nil && fctx.Err() == nil {
		t.Fatal(err)
	}
	info, err := ledgerStream(t, ctx, nc).Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Consumers != 0 {
		t.Fatalf("%d consumers left on the stream after the reads", info.State.Consumers)
	}
}
