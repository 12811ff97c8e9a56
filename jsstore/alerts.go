package jsstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/alerts"
	"promiseledger/events"
)

var _ alerts.Store = (*AlertStore)(nil)

// The alerts stream: alerts.<county>.<rule>.<alert-key>, so that one
// county's, or one rule's, alerts are one subject filter away.
const (
	AlertStream  = "ALERTS"
	AlertSubject = "alerts"
)

// AlertStore keeps alert raises and resolutions in their own stream.
type AlertStore struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	cfg    Config
}

// OpenAlerts creates or opens the alerts stream beside the ledger's.
func (s *Store) OpenAlerts(ctx context.Context) (*AlertStore, error) {
	st, err := s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        AlertStream,
		Description: "Promise Ledger supervision alerts: each raised once and resolved once",
		Subjects:    []string{AlertSubject + ".>"},
		Storage:     jetstream.FileStorage,
		Replicas:    s.cfg.Replicas,
		Duplicates:  DuplicateWindow,
		DenyDelete:  true,
		DenyPurge:   true,
	})
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", AlertStream, err)
	}
	return &AlertStore{js: s.js, stream: st, cfg: s.cfg}, nil
}

// Subject is the subject of one alert.
func alertSubject(a alerts.Alert) string {
	return AlertSubject + "." + a.County + "." + string(a.Rule) + "." + a.Key
}

// Append stores an alert message with optimistic concurrency on its subject.
func (s *AlertStore) Append(ctx context.Context, a alerts.Alert, expectedLast uint64) (uint64, error) {
	a.Sequence = 0
	body, err := json.Marshal(a)
	if err != nil {
		return 0, err
	}
	msg := &nats.Msg{Subject: alertSubject(a), Data: body, Header: nats.Header{}}
	ack, err := s.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(expectedLast), jetstream.WithMsgID(a.ID+"."+string(a.State)))
	if err != nil {
		if isWrongLastSeq(err) {
			return 0, &events.ConflictError{Subject: alertSubject(a), Expected: expectedLast, Err: err}
		}
		return 0, fmt.Errorf("append alert %s: %w", a.ID, err)
	}
	return ack.Sequence, nil
}

// CheckDense checks that the alerts stream holds every message it numbered.
func (s *AlertStore) CheckDense(ctx context.Context) error { return checkDense(ctx, s.stream) }

// LastSequence is the alerts stream's last sequence.
func (s *AlertStore) LastSequence(ctx context.Context) (uint64, error) {
	info, err := s.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("alerts stream info: %w", err)
	}
	return info.State.LastSeq, nil
}

func decodeAlert(msg jetstream.Msg, seq uint64) (alerts.Alert, error) {
	var a alerts.Alert
	if err := json.Unmarshal(msg.Data(), &a); err != nil {
		return alerts.Alert{Sequence: seq}, fmt.Errorf("alert at sequence %d: %w", seq, err)
	}
	a.Sequence = seq
	return a, nil
}

// Follow delivers every alert after sequence after, then new ones.
func (s *AlertStore) Follow(ctx context.Context, after uint64, fn func(alerts.Alert) error) error {
	return follow(ctx, s.stream, after, s.cfg.Stall, func(msg jetstream.Msg, seq uint64) error {
		a, err := decodeAlert(msg, seq)
		if err == nil && a.ID == "" {
			err = errors.New("it has no id")
		}
		if err != nil {
			return &events.DamageError{Stream: AlertStream, Sequence: seq, Problem: fmt.Sprintf("message on %s is not an alert: %v", msg.Subject(), err)}
		}
		return fn(a)
	})
}

// Subjects filters alerts by counties and rules (empty: all).
func Subjects(counties []string, rules []alerts.Rule) []string {
	if len(counties) == 0 {
		counties = []string{"*"}
	}
	var rs []string
	for _, r := range rules {
		rs = append(rs, string(r))
	}
	if len(rs) == 0 {
		rs = []string{"*"}
	}
	var out []string
	for _, c := range counties {
		for _, r := range rs {
			out = append(out, AlertSubject+"."+c+"."+r+".*")
		}
	}
	return out
}

// Deliver hands every alert on the subjects to fn, in order, through a
// durable consumer named after the receiver, so that nothing is lost while
// the ledger or the receiver is down. When fn fails, the alert is offered
// again after backoff(attempt), and nothing after it is delivered first.
// The consumer is named after the receiver's full URL (two receivers never
// share one) and described with name, which should hold no secret.
func (s *AlertStore) Deliver(ctx context.Context, receiver, name string, subjects []string, backoff func(attempt uint64) time.Duration, fn func(alerts.Alert) error) error {
	sum := sha256.Sum256([]byte(receiver))
	durable := "deliver-" + hex.EncodeToString(sum[:8])
	cons, err := s.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:        durable,
		Description:    "Promise Ledger alert delivery to " + name,
		FilterSubjects: subjects,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        time.Minute,
		MaxDeliver:     -1,
		MaxAckPending:  1, // in order: a receiver that is down holds the queue
	})
	if err != nil {
		return fmt.Errorf("delivery consumer %s: %w", durable, err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		meta, err := msg.Metadata()
		if err != nil {
			_ = msg.Term()
			return
		}
		a, err := decodeAlert(msg, meta.Sequence.Stream)
		if err != nil {
			_ = msg.Term()
			return
		}
		if err := fn(a); err != nil {
			_ = msg.NakWithDelay(backoff(meta.NumDelivered))
			return
		}
		_ = msg.Ack()
	})
	if err != nil {
		return fmt.Errorf("delivery %s: %w", durable, err)
	}
	defer cc.Stop()
	<-ctx.Done()
	return ctx.Err()
}
