package natstest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"promiseledger/events"
)

// Holding is a real store whose readers a test can hold: while a [Hold] is
// set, the next readers to call Follow wait until it is released (or their
// context ends) before they read. Everything else goes straight to the
// store. Give it to what should be held (the as-of folds) and the plain
// store to the rest (the live projection).
type Holding struct {
	events.Store
	mu   sync.Mutex
	hold *Hold
	left int // readers the hold still takes
}

// Hold is a hold on the readers of a [Holding].
type Hold struct {
	release chan struct{}
	once    sync.Once
	held    atomic.Int64
}

// Held is how many readers are waiting, or have waited, on the hold.
func (h *Hold) Held() int64 { return h.held.Load() }

// Release lets the held readers read, and the ones that come later.
func (h *Hold) Release() { h.once.Do(func() { close(h.release) }) }

// Hold holds the next n readers until the Hold is released; the test
// releases it when it ends, at the latest.
func (s *Holding) Hold(t testing.TB, n int) *Hold {
	h := &Hold{release: make(chan struct{})}
	s.mu.Lock()
	s.hold, s.left = h, n
	s.mu.Unlock()
	t.Cleanup(h.Release)
	return h
}

// Follow waits while the reader is held, then follows the store.
func (s *Holding) Follow(ctx context.Context, after uint64, fn func(events.Event) error) error {
	s.mu.Lock()
	h := s.hold
	if h != nil {
		if s.left--; s.left <= 0 {
			s.hold = nil
		}
	}
	s.mu.Unlock()
	if h != nil {
		h.held.Add(1)
		select {
		case <-h.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.Store.Follow(ctx, after, fn)
}
