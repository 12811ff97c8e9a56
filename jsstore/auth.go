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

// AuditorPermissions lets a NATS client look at the LEDGER stream — stream
// info, its messages, consumers of its own to read them — and nothing more:
// no publishing on the ledger's subjects, no change to any stream, no
// access to the token or checkpoint buckets. The same list serves an
// external cluster's configuration (see the README).
func AuditorPermissions(stream string) *server.Permissions {
	return &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			"$JS.API.INFO",
			"$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST",
			"$JS.API.STREAM.INFO." + stream,
			"$JS.API.STREAM.MSG.GET." + stream,
			"$JS.API.DIRECT.GET." + stream, "$JS.API.DIRECT.GET." + stream + ".>",
			"$JS.API.CONSUMER.CREATE." + stream, "$JS.API.CONSUMER.CREATE." + stream + ".>",
			"$JS.API.CONSUMER.INFO." + stream + ".>",
			"$JS.API.CONSUMER.NAMES." + stream, "$JS.API.CONSUMER.LIST." + stream,
			"$JS.API.CONSUMER.MSG.NEXT." + stream + ".>",
			"$JS.ACK." + stream + ".>", "$JS.FC." + stream + ".>",
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
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
