package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"promiseledger/audit"
	"promiseledger/jsstore"
)

// getAs answers a GET with the bearer token, less the instant of the answer.
func getAs(t *testing.T, url, token string) (int, string) {
	t.Helper()
	status, b := callAs(t, token, "GET", url, "")
	return status, regexp.MustCompile(`"as_of":"[^"]*"`).ReplaceAllString(string(b), "")
}

// viewsOf is what the ledger shows: the counties, the list of commitments,
// and these commitments' histories.
func viewsOf(t *testing.T, url, token string, ids []string) string {
	t.Helper()
	paths := []string{"/api/v1/counties", "/api/v1/commitments?limit=500"}
	for _, id := range ids {
		paths = append(paths, "/api/v1/commitments/"+id+"/history")
	}
	var out []string
	for _, p := range paths {
		status, b := getAs(t, url+p, token)
		if status != 200 {
			t.Fatalf("GET %s: %d %s", p, status, b)
		}
		out = append(out, b)
	}
	return strings.Join(out, "\n")
}

// recordWithFile uploads an evidence file and records a new commitment's
// fulfilment citing it, and returns the commitment's id.
func recordWithFile(t *testing.T, url, token string) string {
	t.Helper()
	do := func(method, path, contentType string, body io.Reader) []byte {
		req, _ := http.NewRequest(method, url+path, body)
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 201 {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
		return b
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "合同.pdf")
	_, _ = fw.Write([]byte("%PDF-1.7 出让合同"))
	_ = mw.Close()
	var up struct {
		SHA256 string `json:"sha256"`
	}
	if err := json.Unmarshal(do("POST", "/api/v1/attachments", mw.FormDataContentType(), &body), &up); err != nil {
		t.Fatal(err)
	}
	var c struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(do("POST", "/api/v1/commitments", "application/json", strings.NewReader(`{"county":"532301","department":"楚雄市自然资源局","project":"项目","investor":{"name":"企业","credit_code":"91350100M000100Y43"},"kind":"land","description":"供地","quantity":{"value":"10","unit":"mu"},"made_on":"2020-03-15","due":"2027-12-31"}`)), &c); err != nil {
		t.Fatal(err)
	}
	do("POST", "/api/v1/commitments/"+c.ID+"/fulfillments", "application/json", strings.NewReader(`{"quantity":{"value":"5","unit":"mu"},"fulfilled_on":"2020-10-01","evidence":"出让合同","attachments":["`+up.SHA256+`"]}`))
	return c.ID
}

// A ledger filled by the program, backed up and restored into a fresh
// folder, verifies, and serves the same views with the same tokens. A
// restore over a ledger, or from a backup with an altered file, is refused
// before anything is restored; a restore that does not verify fails.
func TestRun_BackupAndRestore(t *testing.T) {
	src := t.TempDir()
	if _, err := ledgerCmd(t, "gen", "--data", src, "--commitments", "30"); err != nil {
		t.Fatal(err)
	}
	out, err := ledgerCmd(t, "token", "add", "--data", src, "--role", "supervisor", "--name", "州投促局督查")
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(out)
	url, stop := start(t, "--data", src)
	ours := recordWithFile(t, url, token)
	_, list := getAs(t, url+"/api/v1/commitments?limit=5", token)
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(list), &page); err != nil || len(page.Items) != 5 {
		t.Fatalf("commitments: %v %.300s", err, list)
	}
	ids := []string{ours}
	for _, it := range page.Items {
		ids = append(ids, it.ID)
	}
	before := viewsOf(t, url, token, ids)
	if err := stop(); err != nil { // seals what is left
		t.Fatal(err)
	}

	backup := filepath.Join(t.TempDir(), "backup")
	out, err = ledgerCmd(t, "backup", "--data", src, backup)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"LEDGER ", "ALERTS ", "KV_LEDGER_TOKENS ", "OBJ_LEDGER_ATTACHMENTS ", "OBJ_LEDGER_CHECKPOINTS ", "backed up ", "NOTE the seal key is NOT in this backup"} {
		if !strings.Contains(out, want) {
			t.Fatalf("backup said, without %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(backup, "seal.key")); !os.IsNotExist(err) {
		t.Fatalf("the private key was copied without --with-seal-key: %v", err)
	}
	m, err := jsstore.OpenBackup(backup)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ledgerCmd(t, "audit", "pubkey", "--data", src)
	if err != nil || m.Seal.PublicKey != strings.TrimSpace(pub) || m.LastEvent == nil {
		t.Fatalf("the manifest's seal and last event: %+v %+v, pubkey %q %v", m.Seal, m.LastEvent, pub, err)
	}
	if _, err := ledgerCmd(t, "backup", "--data", src, backup); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("a backup into a full folder: %v", err)
	}

	dst := filepath.Join(t.TempDir(), "restored")
	out, err = ledgerCmd(t, "restore", "--data", dst, backup)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"checked the ", "restored LEDGER ", "ok: every event", " 0 events after the last seal", "NOTE the seal key is not in the backup"} {
		if !strings.Contains(out, want) {
			t.Fatalf("restore said, without %q:\n%s", want, out)
		}
	}
	url, stop = start(t, "--data", dst, "--seal-key", filepath.Join(src, "seal.key"))
	after := viewsOf(t, url, token, ids)
	unknown, _ := getAs(t, url+"/api/v1/counties", "pl_nobody_nothing")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if before != after {
		i := 0
		for i < len(before) && i < len(after) && before[i] == after[i] {
			i++
		}
		t.Fatalf("the restored ledger shows other views, from byte %d:\nbefore %.300s\nafter  %.300s", i, before[max(i-100, 0):], after[max(i-100, 0):])
	}
	if unknown != 401 {
		t.Fatalf("an unknown token on the restored ledger: %d", unknown)
	}

	// Over a ledger: refused, and nothing restored.
	out, err = ledgerCmd(t, "restore", "--data", dst, backup)
	if err == nil || !strings.Contains(err.Error(), "already holds") || !strings.Contains(err.Error(), "LEDGER") || strings.Contains(out, "restored ") {
		t.Fatalf("a restore over a ledger: %v\n%s", err, out)
	}

	// A file altered: refused before the target is even opened.
	altered := filepath.Join(t.TempDir(), "altered")
	if err := os.CopyFS(altered, os.DirFS(backup)); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(altered, "LEDGER", jsstore.SnapshotFile)
	b, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(snap, b, 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	out, err = ledgerCmd(t, "restore", "--data", fresh, altered)
	if err == nil || !strings.Contains(err.Error(), "LEDGER/stream.tar.s2") || !strings.Contains(err.Error(), "SHA-256") || strings.Contains(out, "restored ") {
		t.Fatalf("a restore from an altered backup: %v\n%s", err, out)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Fatalf("the refused restore touched its target: %v", err)
	}

	// Verified against another key: the restore fails.
	other := filepath.Join(t.TempDir(), "other.key")
	if _, _, err := audit.LoadOrCreateKey(other); err != nil {
		t.Fatal(err)
	}
	otherPub, err := ledgerCmd(t, "audit", "pubkey", "--seal-key", other)
	if err != nil {
		t.Fatal(err)
	}
	out, err = ledgerCmd(t, "restore", "--data", filepath.Join(t.TempDir(), "other"), "--pubkey", strings.TrimSpace(otherPub), backup)
	if err == nil || !strings.Contains(err.Error(), "does not verify") || !strings.Contains(out, "PROBLEM") {
		t.Fatalf("a restore that does not verify: %v\n%s", err, out)
	}

	// --with-seal-key: the key goes along, readable by its owner only, and
	// is put in place by the restore.
	withKey := filepath.Join(t.TempDir(), "with-key")
	out, err = ledgerCmd(t, "backup", "--data", src, "--with-seal-key", withKey)
	if err != nil || !strings.Contains(out, "PRIVATE seal key") {
		t.Fatalf("backup --with-seal-key: %v\n%s", err, out)
	}
	if fi, err := os.Stat(filepath.Join(withKey, "seal.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the key in the backup: %v %v", err, fi)
	}
	dst2 := filepath.Join(t.TempDir(), "restored-with-key")
	if out, err := ledgerCmd(t, "restore", "--data", dst2, withKey); err != nil || !strings.Contains(out, "ok: every event") {
		t.Fatalf("restore with the key: %v\n%s", err, out)
	}
	if fi, err := os.Stat(filepath.Join(dst2, "seal.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the restored key: %v %v", err, fi)
	}
	if got, err := ledgerCmd(t, "audit", "pubkey", "--data", dst2); err != nil || got != pub {
		t.Fatalf("the restored key is %q (%v), not %q", got, err, pub)
	}

	// After a key rotation, the manifest names the ledger's first key,
	// from which verification follows the rotation.
	next := filepath.Join(t.TempDir(), "next.key")
	if _, err := ledgerCmd(t, "audit", "rotate-key", "--data", src, "--new-key", next); err != nil {
		t.Fatal(err)
	}
	rotated := filepath.Join(t.TempDir(), "rotated")
	if _, err := ledgerCmd(t, "backup", "--data", src, "--seal-key", next, rotated); err != nil {
		t.Fatal(err)
	}
	first, err := audit.ParsePublicKey(strings.TrimSpace(pub))
	if err != nil {
		t.Fatal(err)
	}
	if m, err = jsstore.OpenBackup(rotated); err != nil || m.Seal.PublicKey != strings.TrimSpace(pub) || m.Seal.KeyID == "" || m.Seal.KeyID == audit.KeyID(first) {
		t.Fatalf("the manifest after a rotation: %+v %v", m.Seal, err)
	}
	if out, err := ledgerCmd(t, "restore", "--data", filepath.Join(t.TempDir(), "restored-rotated"), rotated); err != nil || !strings.Contains(out, "ok: every event") {
		t.Fatalf("restore after a rotation: %v\n%s", err, out)
	}
}

func TestRun_BackupUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"ledger", "backup", "-h"}, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ledger backup [--data DIR | --nats-url URL]", "-with-seal-key", "-data string", "-nats-url string"} {
		if !strings.Contains(errOut.String(), want) {
			t.Fatalf("backup -h, without %q:\n%s", want, errOut.String())
		}
	}
	if _, err := ledgerCmd(t, "backup", "--data", t.TempDir()); err == nil || !strings.Contains(err.Error(), "BACKUP_DIR") {
		t.Fatalf("backup without a folder: %v", err)
	}
	if _, err := ledgerCmd(t, "restore", "--data", t.TempDir(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "manifest.json") {
		t.Fatalf("restore from a folder that is not a backup: %v", err)
	}
	if _, err := ledgerCmd(t, "backup", "--data", t.TempDir(), filepath.Join(t.TempDir(), "b")); err == nil || !strings.Contains(err.Error(), "no stream LEDGER") {
		t.Fatalf("backup of a folder without a ledger: %v", err)
	}
}
