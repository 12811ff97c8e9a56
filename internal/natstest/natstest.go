// Package natstest starts real, in-process nats-servers with JetStream on a
// test's temporary folders, the way nats-server's own tests do: one, or a
// cluster of three ([StartCluster]). No mocks.
package natstest

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"

	"promiseledger/jsstore"
)

// Start runs an embedded server on dir (a new temporary folder when empty)
// and stops it when the test ends.
func Start(t testing.TB, dir string) *jsstore.Embedded {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	emb, err := jsstore.StartEmbedded(jsstore.EmbeddedConfig{Dir: dir, SyncAlways: true})
	if err != nil {
		t.Fatalf("start nats: %v", err)
	}
	t.Cleanup(emb.Shutdown)
	return emb
}

// Store starts a server and opens the ledger's stream on it.
func Store(t testing.TB) (*jsstore.Store, *nats.Conn) {
	t.Helper()
	emb := Start(t, "")
	return OpenStore(t, emb)
}

// OpenStore connects to a running server and opens the ledger's stream.
func OpenStore(t testing.TB, emb *jsstore.Embedded) (*jsstore.Store, *nats.Conn) {
	t.Helper()
	nc, err := emb.Connect(t.Name())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	st, err := jsstore.Open(context.Background(), nc, jsstore.Config{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	return st, nc
}

// BenchEvents is the size of a benchmark ledger: LEDGER_BENCH_EVENTS, or a
// small smoke size by default, so that `make test` stays quick.
func BenchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("LEDGER_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 2_000
}

// Fixture is a data folder filled once per test binary and shared by its
// benchmarks; the package's TestMain removes it.
type Fixture struct {
	once sync.Once
	dir  string
	err  error
}

// Dir fills the folder with fill the first time it is asked for.
func (f *Fixture) Dir(b testing.TB, fill func(dir string) error) string {
	b.Helper()
	f.once.Do(func() {
		if f.dir, f.err = os.MkdirTemp("", "ledger-bench-*"); f.err == nil {
			f.err = fill(f.dir)
		}
	})
	if f.err != nil {
		b.Fatal(f.err)
	}
	return f.dir
}

// Remove deletes the folder, if it was made.
func (f *Fixture) Remove() {
	if f.dir != "" {
		os.RemoveAll(f.dir)
	}
}
