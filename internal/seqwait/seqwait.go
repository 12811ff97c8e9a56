// Package seqwait records how far a reader of a stream has got, and lets
// others wait until it gets somewhere: a writer waits for the projection to
// show its event, a stream of alerts for the next one. The projections, the
// alerts view and the sealer each keep one.
package seqwait

import (
	"context"
	"fmt"
	"sync"
)

// Position is a stream sequence that only moves forward. The zero value is
// at sequence 0.
type Position struct {
	mu      sync.Mutex
	seq     uint64
	changed chan struct{} // closed, and replaced, at each advance
}

func (p *Position) ch() chan struct{} {
	if p.changed == nil {
		p.changed = make(chan struct{})
	}
	return p.changed
}

// Advance moves to seq and wakes whoever waits. A seq not beyond the
// current one changes nothing.
func (p *Position) Advance(seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if seq <= p.seq {
		return
	}
	p.seq = seq
	close(p.ch())
	p.changed = make(chan struct{})
}

// Seq is the current sequence.
func (p *Position) Seq() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seq
}

// Changed is closed at the next advance.
func (p *Position) Changed() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ch()
}

// Wait blocks until the position is at seq or beyond, or ctx ends.
func (p *Position) Wait(ctx context.Context, seq uint64) error {
	for {
		p.mu.Lock()
		at, ch := p.seq, p.ch()
		p.mu.Unlock()
		if at >= seq {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for sequence %d (at %d): %w", seq, at, ctx.Err())
		}
	}
}

// WaitUnless is Wait, ended early once failed is closed, with the error
// fault returns: a reader that stopped (on damage) will never reach seq, and
// whoever waits for it should learn why at once.
func (p *Position) WaitUnless(ctx context.Context, seq uint64, failed <-chan struct{}, fault func() error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-failed:
			cancel(fault())
		case <-ctx.Done():
		}
	}()
	err := p.Wait(ctx, seq)
	select {
	case <-failed:
		if cause := context.Cause(ctx); err != nil && cause != nil && cause != context.Canceled {
			return cause
		}
	default:
	}
	return err
}
