package jsstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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
)

// Config names the stream and how it is replicated.
type Config struct {
	Stream   string // default DefaultStream
	Subject  string // subject prefix, default DefaultSubject
	Replicas int    // 0: keep the existing stream's, or 1 for a new one; 3 on a cluster
	Logger   *slog.Logger
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
}

// Store is the JetStream implementation of [events.Store].
type Store struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	cfg    Config
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
	})
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", cfg.Stream, err)
	}
	return &Store{js: js, stream: st, cfg: cfg}, nil
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
	opts := []jetstream.PublishOpt{jetstream.WithExpectLastSequencePerSubject(expectedLast)}
	if ev.IdempotencyKey != "" {
		// Scoped to the principal, as the ledger's receipts are.
		opts = append(opts, jetstream.WithMsgID(MsgID(ev.Actor.Name+"\x00"+ev.IdempotencyKey)))
	}
	msg := &nats.Msg{Subject: s.Subject(ev.County, ev.CommitmentID), Data: body, Header: nats.Header{}}
	msg.Header.Set("Ledger-Event-Type", string(ev.Type))
	ack, err := s.js.PublishMsg(ctx, msg, opts...)
	if err != nil {
		if isWrongLastSeq(err) {
			return events.AppendResult{}, &events.ConflictError{CommitmentID: ev.CommitmentID, Expected: expectedLast, Err: err}
		}
		return events.AppendResult{}, fmt.Errorf("append %s: %w", ev.CommitmentID, err)
	}
	return events.AppendResult{Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
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

// Load reads one commitment's events with an ordered consumer filtered on
// its subject.
func (s *Store) Load(ctx context.Context, commitmentID string) ([]events.Event, error) {
	if _, err := uuid.Parse(commitmentID); err != nil {
		return nil, fmt.Errorf("load %q: %w", commitmentID, events.ErrNotFound)
	}
	cons, err := s.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{s.cfg.Subject + ".*." + commitmentID},
	})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", commitmentID, err)
	}
	if cons.CachedInfo().NumPending == 0 {
		return nil, nil
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(256))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", commitmentID, err)
	}
	defer it.Stop()
	var out []events.Event
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", commitmentID, err)
		}
		ev, meta, err := s.decode(msg)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", commitmentID, err)
		}
		out = append(out, ev)
		if meta.NumPending == 0 {
			return out, nil
		}
	}
}

// Follow delivers every event after sequence after, then new ones as they
// are stored, until ctx ends or fn fails. A message that is not a ledger
// event is logged and delivered as an Event with only its Sequence set.
func (s *Store) Follow(ctx context.Context, after uint64, fn func(events.Event) error) error {
	return follow(ctx, s.stream, after, func(msg jetstream.Msg, seq uint64) error {
		if s.isSeal(msg.Subject()) {
			return fn(events.Event{Sequence: seq}) // not an event: only a position
		}
		ev, _, err := s.decode(msg)
		if err != nil {
			s.cfg.Logger.Error("skipping a message that is not a ledger event", "subject", msg.Subject(), "err", err)
			ev = events.Event{Sequence: seq}
		}
		return fn(ev)
	})
}

// follow reads a stream in order from the message after sequence after,
// with an ordered consumer, and keeps following until ctx ends or fn fails.
func follow(ctx context.Context, st jetstream.Stream, after uint64, fn func(msg jetstream.Msg, seq uint64) error) error {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if after > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, after+1
	}
	cons, err := st.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("follow: %w", err)
	}
	// The handler runs under mu and checks stopped, so that once follow has
	// returned, fn is never called again.
	var (
		mu      sync.Mutex
		stopped bool
		failed  = make(chan error, 1)
	)
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		meta, err := msg.Metadata()
		if err == nil {
			err = fn(msg, meta.Sequence.Stream)
		}
		if err != nil {
			stopped = true
			failed <- err
		}
	}, jetstream.PullMaxMessages(1024))
	if err != nil {
		return fmt.Errorf("follow: %w", err)
	}
	defer cc.Stop()
	select {
	case <-ctx.Done():
		err = ctx.Err()
	case err = <-failed:
	}
	mu.Lock()
	stopped = true
	mu.Unlock()
	return err
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
