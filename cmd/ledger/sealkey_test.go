package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"promiseledger/audit"
)

// A seal key that is missing, or another one, is never quietly replaced:
// serve refuses to start and says how to proceed. A rotation signed by the
// old key hands sealing over, and verification with the first public key
// follows it.
func TestRun_SealKeyIsNeverQuietlyReplaced(t *testing.T) {
	dir := t.TempDir()
	_, stop := start(t, "--data", dir, "--demo")
	if err := stop(); err != nil { // seals at shutdown
		t.Fatal(err)
	}
	first, err := ledgerCmd(t, "audit", "pubkey", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	first = strings.TrimSpace(first)
	keyFile := filepath.Join(dir, "seal.key")
	kept := filepath.Join(t.TempDir(), "seal.key")
	if err := os.Rename(keyFile, kept); err != nil {
		t.Fatal(err)
	}
	serve := func(args ...string) error {
		return run(context.Background(), append([]string{"ledger", "serve", "--http", "127.0.0.1:0", "--data", dir}, args...), func(string) string { return "" }, &syncBuffer{}, &syncBuffer{})
	}

	// The key file is gone: refused, and no new key was made in its place.
	err = serve()
	if err == nil || !strings.Contains(err.Error(), "does not exist, but the ledger's seals are signed by key") || !strings.Contains(err.Error(), "Restore the key file") {
		t.Fatalf("serve without its key: %v", err)
	}
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Fatalf("a new key was created in place of the missing one: %v", err)
	}
	// Another key: refused too.
	other := filepath.Join(t.TempDir(), "other.key")
	if _, _, err := audit.LoadOrCreateKey(other); err != nil {
		t.Fatal(err)
	}
	if _, err := ledgerCmd(t, "audit", "rotate-key", "--data", dir, "--seal-key", other, "--new-key", filepath.Join(t.TempDir(), "x.key")); err == nil {
		t.Fatal("a rotation signed by a key that is not in force was appended")
	}
	if err := serve("--seal-key", other); err == nil || !strings.Contains(err.Error(), "holds key") || !strings.Contains(err.Error(), "but the ledger's seals are signed by key") {
		t.Fatalf("serve with another key: %v", err)
	}

	// A rotation signed by the key in force hands over to the new key.
	next := filepath.Join(t.TempDir(), "next.key")
	out, err := ledgerCmd(t, "audit", "rotate-key", "--data", dir, "--seal-key", kept, "--new-key", next)
	if err != nil || !strings.Contains(out, "seal key rotated") {
		t.Fatalf("rotate-key: %v\n%s", err, out)
	}
	if err := serve("--seal-key", kept); err == nil {
		t.Fatal("serve with the retired key")
	}
	url, stop := start(t, "--data", dir, "--demo", "--seal-key", next)
	if status, b := call(t, "POST", url+"/api/v1/commitments/"+firstCommitment(t, url)+"/disputes", `{"complainant":"某某公司","summary":"土地未交付"}`); status != 201 {
		t.Fatalf("a write after the rotation: %d %s", status, b)
	}
	if err := stop(); err != nil { // seals with the new key
		t.Fatal(err)
	}
	out, err = ledgerCmd(t, "audit", "verify", "--data", dir, "--pubkey", first)
	if err != nil || !strings.Contains(out, "ok: every event") {
		t.Fatalf("verify from the first key across the rotation: %v\n%s", err, out)
	}
}

// firstCommitment is the id of the first commitment in the list.
func firstCommitment(t *testing.T, url string) string {
	t.Helper()
	_, b := call(t, "GET", url+"/api/v1/commitments?limit=1", "")
	i := strings.Index(string(b), `"id":"`)
	if i < 0 {
		t.Fatalf("no commitment: %s", b)
	}
	return string(b[i+6 : i+6+36])
}

// check-proof on a file that holds the ledger's error answer says so, and
// does not read like tampering.
func TestRun_CheckProofOnAnErrorAnswer(t *testing.T) {
	file := filepath.Join(t.TempDir(), "proof.json")
	body := `{"error":{"code":"not_ready","field":"event","message":"event x is not sealed yet; the next seal is due in about 9m0s (see Retry-After)"}}`
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ledgerCmd(t, "audit", "check-proof", file, "--pubkey", "vL9yjj0CxkXSXuSZZUlYQIEnxKlrx8aSO1jvtOb9SFc=")
	if err == nil || !strings.Contains(err.Error(), "error answer, not a proof") || !strings.Contains(err.Error(), "not sealed yet") || strings.Contains(err.Error(), "does not hold") {
		t.Fatalf("check-proof on an error answer: %v", err)
	}
}
