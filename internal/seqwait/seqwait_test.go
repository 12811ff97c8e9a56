package seqwait

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPosition(t *testing.T) {
	var p Position
	done := make(chan error, 1)
	go func() { done <- p.Wait(context.Background(), 3) }()
	ch := p.Changed()
	p.Advance(2)
	<-ch // woken at the advance
	select {
	case <-done:
		t.Fatal("woke before sequence 3")
	case <-time.After(10 * time.Millisecond):
	}
	p.Advance(1) // never backwards
	if p.Seq() != 2 {
		t.Fatalf("seq %d", p.Seq())
	}
	p.Advance(3)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Wait(ctx, 9); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
}

func TestPosition_WaitUnlessEndsOnFailure(t *testing.T) {
	var p Position
	failed := make(chan struct{})
	bad := errors.New("damaged")
	done := make(chan error, 1)
	go func() { done <- p.WaitUnless(context.Background(), 5, failed, func() error { return bad }) }()
	p.Advance(3)
	close(failed)
	if err := <-done; !errors.Is(err, bad) {
		t.Fatalf("WaitUnless after the failure: %v, want the fault", err)
	}
	if err := p.WaitUnless(context.Background(), 3, make(chan struct{}), nil); err != nil {
		t.Fatalf("a position already reached: %v", err)
	}
}
