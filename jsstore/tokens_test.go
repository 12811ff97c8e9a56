package jsstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"promiseledger/access"
	"promiseledger/internal/natstest"
	"promiseledger/jsstore"
)

// TestTokens_RevocationsNeverLeaveNoAdmin: two ledger instances on one
// token bucket revoke admin tokens at the same moment, round after round.
// Each round three admins are revoked at once; two may go, the third is
// refused, whichever it is, so one admin always remains.
func TestTokens_RevocationsNeverLeaveNoAdmin(t *testing.T) {
	ctx := context.Background()
	emb := natstest.Start(t, "")
	var regs []*jsstore.Tokens
	for range 2 {
		st, _ := natstest.OpenStore(t, emb)
		reg, err := st.OpenTokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(reg.Close)
		regs = append(regs, reg)
	}
	add := func(name string) {
		_, tok, err := access.NewToken(access.Principal{Name: name, Role: access.Admin}, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := regs[0].Add(tok); err != nil {
			t.Fatal(err)
		}
	}
	// seen waits until both instances have every token the bucket has.
	seen := func(n int) {
		deadline := time.Now().Add(10 * time.Second)
		for len(regs[0].List()) != n || len(regs[1].List()) != n {
			if time.Now().After(deadline) {
				t.Fatalf("the instances see %d and %d tokens, want %d", len(regs[0].List()), len(regs[1].List()), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	survivor := "root"
	add(survivor)
	for round := range 10 {
		names := []string{survivor, fmt.Sprintf("甲%d", round), fmt.Sprintf("乙%d", round)}
		add(names[1])
		add(names[2])
		seen(1 + 2*(round+1))
		errs := make([]error, len(names))
		var wg sync.WaitGroup
		for i, name := range names {
			wg.Go(func() { errs[i] = regs[i%2].Revoke(name, time.Now()) })
		}
		wg.Wait()
		refused := 0
		for i, err := range errs {
			switch {
			case err == nil:
			case errors.Is(err, access.ErrLastAdmin):
				refused++
				survivor = names[i]
			default:
				t.Fatalf("round %d, revoking %s: %v", round, names[i], err)
			}
		}
		if refused != 1 {
			t.Fatalf("round %d: %d of 3 revocations refused (%v), want 1", round, refused, errs)
		}
	}
	// The bucket, read afresh, holds exactly one admin that is not revoked.
	st, _ := natstest.OpenStore(t, emb)
	reg, err := st.OpenTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	var active []string
	for _, tok := range reg.List() {
		if tok.Role == access.Admin && tok.RevokedAt == nil {
			active = append(active, tok.Name)
		}
	}
	if len(active) != 1 || active[0] != survivor {
		t.Fatalf("admins not revoked: %v, want [%s]", active, survivor)
	}
}
