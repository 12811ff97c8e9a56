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

// AuditorPermissions lets a NATS client look at the ledger's streams —
// stream info, their messages, consumers of its own to read them — and
// subscribe to the alert subjects, and nothing more: no publishing on the
// ledger's subjects, no change to any stream, no access to the token or
// checkpoint buckets. The same list serves an external cluster's
// configuration (see the README).
func AuditorPermissions(streams ...string) *server.Permissions {
	allow := []string{"$JS.API.INFO", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST"}
	for _, st := range streams {
		allow = append(allow,
			"$JS.API.STREAM.INFO."+st,
			"$JS.API.STREAM.MSG.GET."+st,
			"$JS.API.DIRECT.GET."+st, "$JS.API.DIRECT.GET."+st+".>",
			"$JS.API.CONSUMER.CREATE."+st, "$JS.API.CONSUMER.CREATE."+st+".>",
			"$JS.API.CONSUMER.INFO."+st+".>",
			"$JS.API.CONSUMER.NAMES."+st, "$JS.API.CONSUMER.LIST."+st,
			"$JS.API.CONSUMER.MSG.NEXT."+st+".>",
			"$JS.ACK."+st+".>", "$JS.FC."+st+".>",
		)
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: allow},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>", AlertSubject + ".>"}},
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
