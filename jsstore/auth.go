package jsstore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats-server/v2/server"

	"promiseledger/internal/atomicfile"
)

// The NATS users of an embedded server that accepts network clients.
const (
	LedgerUser  = "ledger"  // the ledger itself: the only one that may write
	AuditorUser = "auditor" // reads the ledger's stream with the standard nats CLI
)

// AuditorInboxPrefix is the only inbox the auditor may subscribe to: its
// clients must use it (the nats CLI: --inbox-prefix _INBOX_auditor), so that
// it can read no one else's replies (the ledger's own reads of its buckets).
const AuditorInboxPrefix = "_INBOX_auditor"

// AuditorPermissions lets a NATS client read the ledger's events and
// nothing more. It may read the ledger's stream one message at a time
// (stream info, direct and message gets), and read the audit mirror (see
// [AuditMirror]) with consumers of its own; it may read the alerts stream's
// info and messages and subscribe to the alert subjects. It may not publish
// on the ledger's subjects, change any stream, or create, update, list or
// delete a consumer on the ledger's stream or the alerts stream: the ledger
// reads and delivers through those consumers, and JetStream's "create" also
// updates one (re-sent with headers_only or another filter, it would blind
// the ledger's views and seals). Nor may it reach the token or checkpoint
// buckets. The same list serves an external cluster's configuration (see
// the README).
func AuditorPermissions(ledger, mirror, alertStream string) *server.Permissions {
	allow := []string{
		"$JS.API.INFO", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST",
		"$JS.API.STREAM.INFO." + ledger,
		"$JS.API.STREAM.MSG.GET." + ledger,
		"$JS.API.DIRECT.GET." + ledger, "$JS.API.DIRECT.GET." + ledger + ".>",
		"$JS.API.STREAM.INFO." + mirror,
		"$JS.API.STREAM.MSG.GET." + mirror,
		"$JS.API.DIRECT.GET." + mirror, "$JS.API.DIRECT.GET." + mirror + ".>",
		"$JS.API.CONSUMER.CREATE." + mirror, "$JS.API.CONSUMER.CREATE." + mirror + ".>",
		"$JS.API.CONSUMER.INFO." + mirror + ".>", "$JS.API.CONSUMER.DELETE." + mirror + ".>", // its own readers, once done
		"$JS.API.CONSUMER.NAMES." + mirror, "$JS.API.CONSUMER.LIST." + mirror,
		"$JS.API.CONSUMER.MSG.NEXT." + mirror + ".>",
		"$JS.ACK." + mirror + ".>", "$JS.FC." + mirror + ".>",
		"$JS.API.STREAM.INFO." + alertStream,
		"$JS.API.STREAM.MSG.GET." + alertStream,
		"$JS.API.DIRECT.GET." + alertStream, "$JS.API.DIRECT.GET." + alertStream + ".>",
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: allow},
		Subscribe: &server.SubjectPermission{Allow: []string{AuditorInboxPrefix + ".>", AlertSubject + ".>"}},
	}
}

// secret returns a random password.
func secret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// AuditorPassword reads the auditor's NATS password from file, creating the
// file with a new random password (readable by its owner only) when absent.
func AuditorPassword(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err == nil {
		if pw := strings.TrimSpace(string(b)); pw != "" {
			return pw, nil
		}
		return "", fmt.Errorf("%s is empty", file)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	pw, err := secret()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
		return "", err
	}
	if err := atomicfile.Create(file, []byte(pw+"\n"), 0o600); err != nil {
		return "", err
	}
	return pw, nil
}
