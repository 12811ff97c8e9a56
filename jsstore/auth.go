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

// AuditorPermissions lets a NATS client read the ledger's stream — stream
// info, its messages, consumers of its own to read them — and the alerts
// stream's info and messages, and subscribe to the alert subjects; and
// nothing more: no publishing on the ledger's subjects, no change to any
// stream, no consumers on the alerts stream (whose durable consumers deliver
// webhooks), no access to the token or checkpoint buckets. The same list
// serves an external cluster's configuration (see the README).
func AuditorPermissions(ledger, alertStream string) *server.Permissions {
	allow := []string{
		"$JS.API.INFO", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST",
		"$JS.API.STREAM.INFO." + ledger,
		"$JS.API.STREAM.MSG.GET." + ledger,
		"$JS.API.DIRECT.GET." + ledger, "$JS.API.DIRECT.GET." + ledger + ".>",
		"$JS.API.CONSUMER.CREATE." + ledger, "$JS.API.CONSUMER.CREATE." + ledger + ".>",
		"$JS.API.CONSUMER.INFO." + ledger + ".>",
		"$JS.API.CONSUMER.NAMES." + ledger, "$JS.API.CONSUMER.LIST." + ledger,
		"$JS.API.CONSUMER.MSG.NEXT." + ledger + ".>",
		"$JS.ACK." + ledger + ".>", "$JS.FC." + ledger + ".>",
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
	if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
		return "", err
	}
	return pw, nil
}
