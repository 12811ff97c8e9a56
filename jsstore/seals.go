package jsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/audit"
	"promiseledger/events"
)

var _ audit.SealStore = (*Store)(nil)

// sealSubject is where seals go: in the ledger's own stream, so that a seal
// stands in the sequence it covers.
func (s *Store) sealSubject() string { return s.cfg.Subject + audit.SealSubjectSuffix }

func (s *Store) isSeal(subject string) bool { return subject == s.sealSubject() }

// AppendSeal appends a seal if the stream's last message is at
// expectedLast: the seal then stands right after the events it covers, and
// neither an event written meanwhile nor another instance's seal can slip
// between them.
func (s *Store) AppendSeal(ctx context.Context, seal audit.Seal, expectedLast uint64) (uint64, error) {
	return s.appendSealRecord(ctx, audit.SealType, seal, expectedLast)
}

// appendSealRecord appends a record of the seal subject (a seal or a key
// rotation) if the stream's last message is at expectedLast.
func (s *Store) appendSealRecord(ctx context.Context, typ string, v any, expectedLast uint64) (uint64, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	msg := &nats.Msg{Subject: s.sealSubject(), Data: body, Header: nats.Header{}}
	msg.Header.Set("Ledger-Event-Type", typ)
	ack, err := s.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequence(expectedLast))
	if err != nil {
		if isWrongLastSeq(err) {
			return 0, &events.ConflictError{Subject: s.sealSubject(), Expected: expectedLast, Err: err}
		}
		return 0, fmt.Errorf("append %s: %w", typ, err)
	}
	return ack.Sequence, nil
}

// FollowRecords delivers every stored message after sequence after, as it
// is stored, then new ones.
func (s *Store) FollowRecords(ctx context.Context, after uint64, fn func(audit.Record) error) error {
	return follow(ctx, s.stream, after, s.cfg.Stall, func(msg jetstream.Msg, seq uint64) error {
		return fn(audit.Record{Sequence: seq, Subject: msg.Subject(), Data: msg.Data()})
	})
}

// Records calls fn with every stored message up to the stream's last
// sequence now, then returns.
func (s *Store) Records(ctx context.Context, fn func(audit.Record) error) error {
	last, err := s.LastSequence(ctx)
	if err != nil || last == 0 {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := errors.New("done")
	err = s.FollowRecords(ctx, 0, func(r audit.Record) error {
		if err := fn(r); err != nil {
			return err
		}
		if r.Sequence >= last {
			return done
		}
		return nil
	})
	if errors.Is(err, done) {
		return nil
	}
	return err
}

// AppendKeyRotation appends a key rotation on the seal subject if the
// stream's last message is at expectedLast.
func (s *Store) AppendKeyRotation(ctx context.Context, k audit.KeyRotation, expectedLast uint64) (uint64, error) {
	return s.appendSealRecord(ctx, audit.KeyRotationType, k, expectedLast)
}

// SealKeyInForce returns the id of the key the next seal must be signed
// with: the new key of the last key rotation, or the key of the last seal,
// whichever is later; "" when the stream holds neither. seq is where that
// record stands.
func (s *Store) SealKeyInForce(ctx context.Context) (keyID string, seq uint64, err error) {
	msg, err := s.stream.GetLastMsgForSubject(ctx, s.sealSubject())
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("last seal: %w", err)
	}
	var rec struct {
		Type     string `json:"type"`
		KeyID    string `json:"key_id"`
		NewKeyID string `json:"new_key_id"`
	}
	if err := json.Unmarshal(msg.Data, &rec); err != nil {
		return "", msg.Sequence, &events.DamageError{Stream: s.cfg.Stream, Sequence: msg.Sequence, Problem: "the last message on the seal subject is not JSON"}
	}
	if rec.Type == audit.KeyRotationType {
		return rec.NewKeyID, msg.Sequence, nil
	}
	return rec.KeyID, msg.Sequence, nil
}
