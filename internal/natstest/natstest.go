// Package natstest starts a real, in-process nats-server with JetStream on a
// test's temporary folder, the way nats-server's own tests do. No mocks.
package natstest

import (
	"context"
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
