package jsstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/events"
)

var _ events.Store = (*Store)(nil)

// Defaults of the stream. The stream name and subject prefix are part of the
// stored format: a ledger finds its events by them.
const (
	DefaultStream  = "LEDGER"
	DefaultSubject = "ledger"
	// DuplicateWindow is how long JetStream itself remembers idempotency
	// keys. It closes the race between two identical requests in flight; the
	// ledger remembers keys for ever through the events that carry them.
	DuplicateWindow = time.Hour
	// AuditMirror is the stream that mirrors the ledger's, message for
	// message and sequence for sequence, for auditors who read it over NATS
	// with consumers of their own: the ledger never reads it, so nothing an
	// auditor does to its consumers can change what the ledger reads.
	AuditMirror = "LEDGER_AUDIT"
)

// Config names the stream and how it is replicated.
type Config struct {
	Stream   string // default DefaultStream
	Subject  string // subject prefix, default DefaultSubject
	Replicas int    // 0: keep the existing stream's, or 1 for a new one; 3 on a cluster
	// AuditMirror keeps the stream AuditMirror, for auditors reading over
	// NATS (a listener, or a cluster).
	AuditMirror bool
	// Stall is how long a reader waits for the next message while the
	// stream holds it before the stream is taken for damaged (default
	// StallAfter).
	Stall  time.Duration
	Logger *slog.Logger
	// NoGroupCommit writes every append alone, never gathered into atomic
	// batches: for --sync interval, where nothing waits for an fsync.
	NoGroupCommit bool
}

func (cfg *Config) defaults() {
	if cfg.Stream == "" {
		cfg.Stream = DefaultStream
	}
	if cfg.Subject == "" {
		cfg.Subject = DefaultSubject
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Stall == 0 {
		cfg.Stall = StallAfter
	}
}

// StallAfter is how long a reader of a stream waits for the next message
// that the stream holds: a healthy consumer delivers in milliseconds, so
// one that delivers nothing for this long while the stream holds more has
// been changed or cannot read the store, and that is damage.
const StallAfter = 15 * time.Second

// Store is the JetStream implementation of [events.Store].
type Store struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	cfg    Config
	group  *groupCommit // nil: every append written alone
}

// Open creates or updates the stream and returns the store.
func Open(ctx context.Context, nc *nats.Conn, cfg Config) (*Store, error) {
	cfg.defaults()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
		if existing, err := js.Stream(ctx, cfg.Stream); err == nil {
			cfg.Replicas = existing.CachedInfo().Config.Replicas
		}
	}
	st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        cfg.Stream,
		Description: "Promise Ledger: every event of every incentive commitment; append-only",
		Subjects:    []string{cfg.Subject + ".>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Replicas:    cfg.Replicas,
		Duplicates:  DuplicateWindow,
		DenyDelete:  true,
		DenyPurge:   true,
		AllowDirect: true,
		// Group commit writes concurrent appends as atomic batches.
		AllowAtomicPublish: true,
	})
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", cfg.Stream, err)
	}
	if cfg.AuditMirror {
		if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name:        AuditMirror,
			Description: "Promise Ledger: a mirror of " + cfg.Stream + " for auditors; the ledger never reads it",
			Mirror:      &jetstream.StreamSource{Name: cfg.Stream},
			Storage:     jetstream.FileStorage,
			Replicas:    cfg.Replicas,
			DenyDelete:  true,
			DenyPurge:   true,
			AllowDirect: true,
		}); err != nil {
			return nil, fmt.Errorf("stream %s: %w", AuditMirror, err)
		}
	}
	s := &Store{js: js, stream: st, cfg: cfg}
	if !cfg.NoGroupCommit {
		s.group = &groupCommit{s: s, nc: nc, slots: make(chan struct{}, batchesInFlight)}
	}
	return s, nil
}

// Attach opens an existing stream without creating or changing anything:
// for readers, such as an auditor whose NATS user may only read.
func Attach(ctx context.Context, nc *nats.Conn, cfg Config) (*Store, error) {
	cfg.defaults()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	st, err := js.Stream(ctx, cfg.Stream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", cfg.Stream, err)
	}
	return &Store{js: js, stream: st, cfg: cfg}, nil
}

// Subject is the subject of one commitment's events.
func (s *Store) Subject(county, commitmentID string) string {
	return s.cfg.Subject + "." + county + "." + commitmentID
}

// MsgID is the Nats-Msg-Id for an idempotency key: a digest, so that any key
// a client sends is a valid header value.
func MsgID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "idem-" + hex.EncodeToString(sum[:16])
}

// Append publishes ev with optimistic concurrency on its commitment's subject.
func (s *Store) Append(ctx context.Context, ev events.Event, expectedLast uint64) (events.AppendResult, error) {
	ev.Sequence = 0
	body, err := json.Marshal(ev)
	if err != nil {
		return events.AppendResult{}, fmt.Errorf("append %s: %w", ev.CommitmentID, err)
	}
	msg := &nats.Msg{Subject: s.Subject(ev.County, ev.CommitmentID), Data: body, Header: nats.Header{}}
	msg.Header.Set("Ledger-Event-Type", string(ev.Type))
	if ev.IdempotencyKey != "" {
		// Scoped to the principal, as the ledger's receipts are.
		msg.Header.Set(nats.MsgIdHdr, MsgID(events.IdempotencyScope(ev.Actor.Name, ev.IdempotencyKey)))
	}
	if s.group != nil {
		return s.group.append(ctx, msg, expectedLast)
	}
	return s.publish(ctx, msg, expectedLast)
}

// publish writes one message alone, with optimistic concurrency on its
// subject.
func (s *Store) publish(ctx context.Context, msg *nats.Msg, expectedLast uint64) (events.AppendResult, error) {
	ack, err := s.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(expectedLast))
	if err != nil {
		if isWrongLastSeq(err) {
			return events.AppendResult{}, &events.ConflictError{Subject: msg.Subject, Expected: expectedLast, Err: err}
		}
		return events.AppendResult{}, fmt.Errorf("append %s: %w", msg.Subject, unavailable(err))
	}
	return events.AppendResult{Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
}

// unavailable marks the error of a write that no stream leader answered —
// none is elected yet (a node stopped), or the connection is down — as
// events.ErrNotReady: the API answers it 503 with Retry-After, as what it
// is, a moment to wait, not an internal error. Nothing was stored on
// "no responders"; after a timeout it may have been, and a retry with the
// same idempotency key is answered with its first result.
func unavailable(err error) error {
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("%w: %w", events.ErrNotReady, err)
	}
	return err
}

// isWrongLastSeq reports an optimistic-concurrency conflict: 10071, or 10164
// on replicated streams (as nats.go's own key-value store checks).
func isWrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// LastSequence is the stream's last sequence.
func (s *Store) LastSequence(ctx context.Context) (uint64, error) {
	info, err := s.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream info: %w", err)
	}
	return info.State.LastSeq, nil
}

// LoadWait bounds how long Load waits for the next event of a commitment
// that the stream says it holds: past it, the message is taken for lost.
const LoadWait = 10 * time.Second

// pullHeartbeat is how often a reader's consumer says it is alive while it
// has nothing to deliver. On a cluster the first pull request to a new
// consumer on another node is now and then lost, and nothing comes at all
// until nats.go, after two missed heartbeats, makes a new consumer where
// the old one stopped. At nats.go's default (5 s) that took all of
// LoadWait and two thirds of StallAfter: well within both, it is only a
// short delay.
const pullHeartbeat = time.Second

// Load reads one commitment's events with an ordered consumer filtered on
// its subject. A message the stream counts but does not deliver within
// LoadWait, or one that is not an event of this commitment, is damage
// (an error matching events.ErrDamaged), never a wait without end.
func (s *Store) Load(ctx context.Context, commitmentID string) ([]events.Event, error) {
	if _, err := uuid.Parse(commitmentID); err != nil {
		return nil, fmt.Errorf("load %q: %w", commitmentID, events.ErrNotFound)
	}
	cons, err := s.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{s.cfg.Subject + ".*." + commitmentID},
		InactiveThreshold: orderedInactive,
	})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", commitmentID, err)
	}
	defer deleteConsumer(s.stream, cons)
	// On a cluster the consumer may live on a replica that has not stored
	// the latest events yet, and count fewer: the stream's leader says how
	// many there are, and the read waits for them all.
	pending, err := s.count(ctx, commitmentID)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", commitmentID, err)
	}
	if pending == 0 {
		return nil, nil
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(256), jetstream.PullHeartbeat(pullHeartbeat))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", commitmentID, err)
	}
	defer it.Stop()
	var out []events.Event
	for {
		wctx, cancel := context.WithTimeout(ctx, LoadWait)
		msg, err := it.Next(jetstream.NextContext(wctx))
		cancel()
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				return nil, &events.DamageError{Stream: s.cfg.Stream, Problem: fmt.Sprintf("commitment %s: the stream counts %d events but delivered %d and nothing more within %s", commitmentID, pending, len(out), LoadWait)}
			}
			return nil, fmt.Errorf("load %s: %w", commitmentID, err)
		}
		ev, meta, err := s.decode(msg)
		if err == nil && len(msg.Data()) == 0 {
			err = errors.New("delivered without its body")
		}
		if err == nil && ev.CommitmentID != commitmentID {
			err = fmt.Errorf("it is an event of commitment %q", ev.CommitmentID)
		}
		if err != nil {
			seq := uint64(0)
			if meta != nil {
				seq = meta.Sequence.Stream
			}
			return nil, &events.DamageError{Stream: s.cfg.Stream, Sequence: seq, Problem: fmt.Sprintf("message on %s is not an event of commitment %s: %v", msg.Subject(), commitmentID, err)}
		}
		out = append(out, ev)
		if uint64(len(out)) >= pending && meta.NumPending == 0 {
			return out, nil
		}
	}
}

// count is how many events of a commitment the stream holds, as its
// leader answers (a stream's info comes from its leader).
func (s *Store) count(ctx context.Context, commitmentID string) (uint64, error) {
	info, err := s.stream.Info(ctx, jetstream.WithSubjectFilter(s.cfg.Subject+".*."+commitmentID))
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return n, nil
}

// orderedInactive is how long the server keeps a reader's consumer after
// its last request, should deleting it fail (nats.go's default is five
// minutes: under a few hundred history reads a second, that is tens of
// thousands of idle consumers, and the server's limit on them).
const orderedInactive = 10 * time.Second

// deleteConsumer removes an ordered consumer from the server once read:
// stopping it only ends the client's side. A failure leaves it to
// orderedInactive.
func deleteConsumer(st jetstream.Stream, cons jetstream.Consumer) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = st.DeleteConsumer(ctx, cons.CachedInfo().Name)
}

// Follow delivers every event after sequence after, then new ones as they
// are stored, until ctx ends or fn fails. Seals are delivered as an Event
// with only its Sequence set. A message that is not a ledger event, or a
// gap in the sequence, ends it with an error matching events.ErrDamaged:
// only the ledger writes on its subjects, and the stream denies deletes.
func (s *Store) Follow(ctx context.Context, after uint64, fn func(events.Event) error) error {
	return follow(ctx, s.stream, after, s.cfg.Stall, func(msg jetstream.Msg, seq uint64) error {
		if s.isSeal(msg.Subject()) {
			return fn(events.Event{Sequence: seq}) // not an event: only a position
		}
		ev, _, err := s.decode(msg)
		if err != nil {
			return &events.DamageError{Stream: s.cfg.Stream, Sequence: seq, Problem: fmt.Sprintf("message on %s is not a ledger event: %v", msg.Subject(), err)}
		}
		return fn(ev)
	})
}

// follow reads a stream in order from the message after sequence after,
// with an ordered consumer, and keeps following until ctx ends or fn fails.
// The ledger's streams deny deletes, so their sequences are dense: a
// sequence that skips or goes back, or a message delivered without its body
// (a consumer changed behind the ledger's back), is damage, and ends it
// with an error matching events.ErrDamaged rather than be passed over; so
// does a consumer that delivers nothing for stall while the stream holds
// messages after the last one delivered.
func follow(ctx context.Context, st jetstream.Stream, after uint64, stall time.Duration, fn func(msg jetstream.Msg, seq uint64) error) error {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy, InactiveThreshold: orderedInactive}
	if after > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, after+1
	}
	cons, err := st.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("follow: %w", err)
	}
	defer deleteConsumer(st, cons)
	name := st.CachedInfo().Config.Name
	// The handler runs under mu and checks stopped, so that once follow has
	// returned, fn is never called again.
	var (
		mu        sync.Mutex
		stopped   bool
		next      = after + 1
		delivered = time.Now()
		failed    = make(chan error, 1)
	)
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		meta, err := msg.Metadata()
		if err == nil {
			err = checkDelivery(name, msg, meta.Sequence.Stream, next)
		}
		if err == nil {
			next, delivered = meta.Sequence.Stream+1, time.Now()
			err = fn(msg, meta.Sequence.Stream)
		}
		if err != nil {
			stopped = true
			failed <- err
		}
	}, jetstream.PullMaxMessages(1024), jetstream.PullHeartbeat(pullHeartbeat))
	if err != nil {
		return fmt.Errorf("follow: %w", err)
	}
	defer cc.Stop()
	tick := time.NewTicker(stall / 5)
	defer tick.Stop()
	var w stallWatch
	for err == nil {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case err = <-failed:
		case <-tick.C:
			mu.Lock()
			want, quiet := next, time.Since(delivered)
			mu.Unlock()
			err = w.check(ctx, st, want, quiet, stall)
		}
	}
	mu.Lock()
	stopped = true
	mu.Unlock()
	return err
}

// stallWatch tells a consumer that stopped delivering from a stream that
// has nothing more: it reports damage only once the stream has held the
// message expected next for stall, without its delivery, however long the
// stream was quiet before.
type stallWatch struct {
	since time.Time // when the stream was first seen holding want undelivered
	want  uint64
}

func (w *stallWatch) check(ctx context.Context, st jetstream.Stream, want uint64, quiet, stall time.Duration) error {
	if quiet < stall/5 {
		w.since = time.Time{} // delivering
		return nil
	}
	ictx, cancel := context.WithTimeout(ctx, stall/5)
	defer cancel()
	info, err := st.Info(ictx)
	if err != nil || info.State.LastSeq < want {
		w.since = time.Time{} // nothing to deliver, or the server cannot say now: not a stall
		return nil
	}
	if w.since.IsZero() || w.want != want {
		w.since, w.want = time.Now(), want
		return nil
	}
	if waited := time.Since(w.since); waited >= stall {
		return &events.DamageError{Stream: info.Config.Name, Sequence: want, Problem: fmt.Sprintf("the stream holds messages up to sequence %d, but nothing after %d was delivered for %s (a damaged store, or a consumer whose filter was changed)", info.State.LastSeq, want-1, waited.Round(time.Second))}
	}
	return nil
}

// checkDelivery checks that a message is the one expected next, whole.
func checkDelivery(stream string, msg jetstream.Msg, seq, want uint64) error {
	switch {
	case seq > want:
		return &events.DamageError{Stream: stream, Sequence: want, Problem: fmt.Sprintf("message missing: delivery went from sequence %d to %d, and the stream denies deletes (a damaged store, or a consumer whose filter was changed)", want-1, seq)}
	case seq < want:
		return &events.DamageError{Stream: stream, Sequence: seq, Problem: fmt.Sprintf("sequence went back from %d to %d", want-1, seq)}
	case len(msg.Data()) == 0 && msg.Headers().Get("Nats-Msg-Size") != "":
		return &events.DamageError{Stream: stream, Sequence: seq, Problem: "message delivered without its body (headers only): the reading consumer was changed behind the ledger's back"}
	}
	return nil
}

// CheckDense checks that the stream holds every message from sequence 1 to
// its last: it denies deletes, so a missing message is damage. The error
// names the missing sequences.
func (s *Store) CheckDense(ctx context.Context) error { return checkDense(ctx, s.stream) }

func checkDense(ctx context.Context, st jetstream.Stream) error {
	info, err := st.Info(ctx, jetstream.WithDeletedDetails(true))
	if err != nil {
		return fmt.Errorf("stream info: %w", err)
	}
	state, name := info.State, info.Config.Name
	if state.LastSeq == 0 {
		return nil
	}
	if state.FirstSeq == 1 && state.NumDeleted == 0 && state.Msgs == state.LastSeq {
		return nil
	}
	missing := append([]uint64(nil), state.Deleted...)
	for q := uint64(1); q < state.FirstSeq && len(missing) < 1000; q++ {
		missing = append(missing, q)
	}
	slices.Sort(missing)
	n := state.LastSeq - state.Msgs
	return &events.DamageError{Stream: name, Sequence: first(missing), Problem: fmt.Sprintf("%d of its %d messages are missing (%s), and the stream denies deletes: the data folder is damaged", n, state.LastSeq, ranges(missing))}
}

func first(s []uint64) uint64 {
	if len(s) == 0 {
		return 0
	}
	return s[0]
}

// ranges writes sorted sequences as "3, 7–9, 12", the first few only.
func ranges(seqs []uint64) string {
	if len(seqs) == 0 {
		return "sequences not listed by the server"
	}
	var b strings.Builder
	b.WriteString("sequences ")
	for i, n := 0, 0; i < len(seqs); n++ {
		j := i
		for j+1 < len(seqs) && seqs[j+1] == seqs[j]+1 {
			j++
		}
		if n == 10 {
			b.WriteString(", …")
			break
		}
		if n > 0 {
			b.WriteString(", ")
		}
		if j > i {
			fmt.Fprintf(&b, "%d–%d", seqs[i], seqs[j])
		} else {
			fmt.Fprintf(&b, "%d", seqs[i])
		}
		i = j + 1
	}
	return b.String()
}

func (s *Store) decode(msg jetstream.Msg) (events.Event, *jetstream.MsgMetadata, error) {
	meta, err := msg.Metadata()
	if err != nil {
		return events.Event{}, nil, fmt.Errorf("metadata: %w", err)
	}
	var ev events.Event
	if err := json.Unmarshal(msg.Data(), &ev); err != nil {
		return events.Event{}, meta, fmt.Errorf("sequence %d: %w", meta.Sequence.Stream, err)
	}
	ev.Sequence = meta.Sequence.Stream
	return ev, meta, nil
}
