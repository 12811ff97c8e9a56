package jsstore

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"promiseledger/events"
)

// EmbeddedConfig configures the nats-server that runs inside the ledger.
type EmbeddedConfig struct {
	Dir string // JetStream storage folder
	// Listen is host:port for a NATS client listener (so the standard nats
	// CLI can look at the stream); empty means in-process connections only.
	// A listener requires credentials: the ledger's own (a random password
	// that never leaves the process) and the auditor's, read-only.
	Listen string
	// AuditorPassword is the password of the auditor NATS user; required
	// with Listen.
	AuditorPassword string
	// SyncAlways fsyncs every message before it is acknowledged. When false
	// the server syncs every SyncInterval (its default is 2 minutes), and an
	// acknowledged append can be lost if the machine loses power.
	SyncAlways   bool
	SyncInterval time.Duration
}

// StartTimeout bounds how long the embedded server may take to recover its
// streams from disk and accept connections.
const StartTimeout = time.Minute

// Embedded is a running in-process nats-server with JetStream.
type Embedded struct {
	Server   *server.Server
	release  func()
	password string // the ledger user's, when the server requires credentials
}

// StartEmbedded starts the server and waits until it accepts connections.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	if cfg.Dir == "" {
		return nil, errors.New("embedded nats: data folder is required")
	}
	opts := &server.Options{
		ServerName:   "promise-ledger",
		JetStream:    true,
		StoreDir:     cfg.Dir,
		DontListen:   cfg.Listen == "",
		NoSigs:       true,
		SyncAlways:   cfg.SyncAlways,
		SyncInterval: cfg.SyncInterval,
	}
	var ledgerPassword string
	if cfg.Listen != "" {
		if cfg.AuditorPassword == "" {
			return nil, errors.New("embedded nats: a listener needs the auditor's password")
		}
		pw, err := secret()
		if err != nil {
			return nil, err
		}
		ledgerPassword = pw
		opts.Users = []*server.User{
			{Username: LedgerUser, Password: pw},
			{Username: AuditorUser, Password: cfg.AuditorPassword, Permissions: AuditorPermissions(DefaultStream, AuditMirror, AlertStream)},
		}
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("embedded nats: listen address %q: %w", cfg.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("embedded nats: listen port %q: %w", port, err)
		}
		opts.Host, opts.Port = host, p
	}
	release, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		release()
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	// Start recovers every stream from disk, and on some damaged block
	// files nats-server never returns: give it a deadline, and say where to
	// look, rather than hang without a word.
	started := make(chan struct{})
	go func() { ns.Start(); close(started) }()
	select {
	case <-started:
	case <-time.After(StartTimeout):
		release()
		return nil, fmt.Errorf("embedded nats: JetStream did not finish recovering %s within %s: its stream files are probably damaged (check them, or restore the folder from a backup): %w", cfg.Dir, StartTimeout, &events.DamageError{Problem: "the embedded server could not recover the stream files"})
	}
	if !ns.ReadyForConnections(StartTimeout) {
		ns.Shutdown()
		release()
		return nil, fmt.Errorf("embedded nats: not ready after %s", StartTimeout)
	}
	return &Embedded{Server: ns, release: release, password: ledgerPassword}, nil
}

// Connect opens an in-process client connection.
func (e *Embedded) Connect(name string) (*nats.Conn, error) {
	opts := []nats.Option{nats.InProcessServer(e.Server), nats.Name(name)}
	if e.password != "" {
		opts = append(opts, nats.UserInfo(LedgerUser, e.password))
	}
	return nats.Connect("", opts...)
}

// ClientURL is the URL of the client listener, or "" when there is none.
func (e *Embedded) ClientURL() string {
	if e.Server.Addr() == nil {
		return ""
	}
	return e.Server.ClientURL()
}

// Shutdown stops the server and waits until it has flushed and stopped.
func (e *Embedded) Shutdown() {
	e.Server.Shutdown()
	e.Server.WaitForShutdown()
	e.release()
}
