package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"promiseledger/audit"
	"promiseledger/events"
)

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyRotation_Check(t *testing.T) {
	a, b, c := newKey(t), newKey(t), newKey(t)
	pub := func(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }
	rot, err := audit.NewKeyRotation(a, b, time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if next, err := rot.Check(pub(a)); err != nil || !next.Equal(pub(b)) {
		t.Fatalf("a rotation from the key in force: %v", err)
	}
	if next, err := rot.Check(nil); err != nil || !next.Equal(pub(b)) {
		t.Fatalf("a rotation checked against its own old key: %v", err)
	}
	forged := func(edit func(*audit.KeyRotation)) audit.KeyRotation { r := rot; edit(&r); return r }
	for name, r := range map[string]audit.KeyRotation{
		"from another key in force": rot,
		"new key swapped":           forged(func(r *audit.KeyRotation) { r.NewKey, r.NewKeyID = audit.PublicKeyText(pub(c)), audit.KeyID(pub(c)) }),
		"old key swapped":           forged(func(r *audit.KeyRotation) { r.OldKey, r.OldKeyID = audit.PublicKeyText(pub(c)), audit.KeyID(pub(c)) }),
		"date changed":              forged(func(r *audit.KeyRotation) { r.RotatedAt = r.RotatedAt.Add(time.Hour) }),
		"no new signature":          forged(func(r *audit.KeyRotation) { r.NewSignature = "" }),
	} {
		current := pub(a)
		if name == "from another key in force" {
			current = pub(c)
		}
		if name == "old key swapped" {
			current = nil
		}
		if _, err := r.Check(current); !errors.Is(err, audit.ErrSignature) {
			t.Errorf("%s: %v, want ErrSignature", name, err)
		}
	}
}

// A key rotation appended while a ledger serves with the old key (only
// possible on a cluster, where no folder lock stops it) makes that ledger
// stop sealing — it will not sign with a retired key — rather than append a
// seal that every later start would find damaged.
func TestSealer_RefusesToSealWithARetiredKey(t *testing.T) {
	st, _, key, _ := sealedLedger(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := audit.NewSealer(st, key, 1<<40, time.Hour, time.Now, quiet())
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = s.Run(rctx); close(done) }()
	defer func() { stop(); <-done }()
	for !s.Ready() {
		time.Sleep(time.Millisecond)
	}
	next := newKey(t)
	rot, err := audit.NewKeyRotation(key, next, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	last, _ := st.LastSequence(ctx)
	at, err := st.AppendKeyRotation(ctx, rot, last)
	if err != nil {
		t.Fatal(err)
	}
	c := uuid.Must(uuid.NewV7()).String()
	ev := events.Event{ID: uuid.Must(uuid.NewV7()).String(), Type: events.CommitmentMadeType, Schema: 1, CommitmentID: c, County: "532301", RecordedAt: time.Now(), Data: json.RawMessage(`{}`)}
	if err := audit.HashEvent(&ev); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(ctx, ev, 0); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		// The sealer reads the new event in a moment; until then it has nothing to seal.
		if _, err = s.SealNow(ctx); err == nil || !strings.Contains(err.Error(), "nothing to seal") || time.Now().After(deadline) {
			break
		}
	}
	if !errors.Is(err, audit.ErrWrongKey) {
		t.Fatalf("sealing with the retired key: %v, want ErrWrongKey", err)
	}
	if after, _ := st.LastSequence(ctx); after != at+1 {
		t.Fatalf("the stream moved from %d to %d: a seal was appended", at+1, after)
	}
	if s.Err() != nil {
		t.Fatalf("the sealer found damage in its own refusal: %v", s.Err())
	}
}
