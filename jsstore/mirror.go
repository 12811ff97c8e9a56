package jsstore

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// mirror keeps the records of a key-value bucket in memory, kept current by
// watching it, so that a record written on one instance takes effect on
// all: the tokens and the web accounts.
type mirror[T any] struct {
	watcher jetstream.KeyWatcher
	keyOf   func(T) string // the key the copy is found by (not the bucket's)

	mu    sync.RWMutex
	byKey map[string]T
}

// watch loads every record under pattern and goes on watching it.
func watch[T any](ctx context.Context, kv jetstream.KeyValue, pattern string, keyOf func(T) string, logError func(string, ...any)) (*mirror[T], error) {
	w, err := kv.Watch(context.WithoutCancel(ctx), pattern)
	if err != nil {
		return nil, err
	}
	m := &mirror[T]{watcher: w, keyOf: keyOf, byKey: map[string]T{}}
	loaded := make(chan struct{})
	go func() {
		for e := range w.Updates() {
			if e == nil {
				close(loaded)
				continue
			}
			if e.Operation() != jetstream.KeyValuePut {
				continue
			}
			var rec T
			if err := json.Unmarshal(e.Value(), &rec); err != nil {
				logError("unreadable record", "bucket", kv.Bucket(), "key", e.Key(), "err", err)
				continue
			}
			m.put(rec)
		}
	}()
	select {
	case <-loaded:
	case <-ctx.Done():
		_ = w.Stop()
		return nil, ctx.Err()
	}
	return m, nil
}

// put keeps a record written or seen.
func (m *mirror[T]) put(rec T) {
	m.mu.Lock()
	m.byKey[m.keyOf(rec)] = rec
	m.mu.Unlock()
}

func (m *mirror[T]) get(key string) (T, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	rec, ok := m.byKey[key]
	return rec, ok
}

// all is every record, in no order.
func (m *mirror[T]) all() []T {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]T, 0, len(m.byKey))
	for _, rec := range m.byKey {
		out = append(out, rec)
	}
	return out
}

func (m *mirror[T]) stop() { _ = m.watcher.Stop() }
