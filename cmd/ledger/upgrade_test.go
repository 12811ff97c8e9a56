package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// previousRelease is a data folder written by the previous release
// (725be82: `ledger serve --demo`, then an upload and a fulfilment citing it,
// sealed at shutdown). Its dispute.opened events are of schema 1.
const previousRelease = "testdata/upgrade/release-725be82.tar.gz"

// untar unpacks a fixture archive into a new temporary folder and returns
// that folder.
func untar(t *testing.T, archive string) string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(path, dir+string(filepath.Separator)) {
			t.Fatalf("%s: %q leaves the folder", archive, h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(path, 0o700)
		case tar.TypeReg:
			var b []byte
			if b, err = io.ReadAll(tr); err == nil {
				err = os.WriteFile(path, b, os.FileMode(h.Mode)&0o700)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// disputes returns, for every commitment with a dispute, its disputes as the
// API shows them.
func disputes(t *testing.T, url string) map[string][]map[string]any {
	t.Helper()
	status, b := call(t, "GET", url+"/api/v1/commitments?limit=500", "")
	if status != 200 {
		t.Fatalf("list: %d %s", status, b)
	}
	var page struct {
		Items []struct {
			ID       string           `json:"id"`
			Disputes []map[string]any `json:"disputes"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatal(err)
	}
	out := map[string][]map[string]any{}
	for _, it := range page.Items {
		if len(it.Disputes) > 0 {
			out[it.ID] = it.Disputes
		}
	}
	return out
}

// TestUpgrade_PreviousReleasesLedgerServedAndVerified serves and verifies a
// ledger written by the previous release: its schema-1 events are upcast as
// they are read (never rewritten), the checkpoint it saved is used, events of
// schema 2 are appended beside them, and a rebuild from event one and the
// audit verification agree with what was served.
func TestUpgrade_PreviousReleasesLedgerServedAndVerified(t *testing.T) {
	data := filepath.Join(untar(t, previousRelease), "data")
	out, err := ledgerCmd(t, "audit", "verify", "--data", data)
	if err != nil || !strings.Contains(out, "ok: every event") {
		t.Fatalf("verify the previous release's folder: %v\n%s", err, out)
	}

	url, stop := start(t, "--data", data, "--demo")
	old := disputes(t, url)
	if len(old) == 0 {
		t.Fatal("the fixture's disputes (schema 1) are not shown")
	}
	var id string
	for cid, ds := range old {
		if ds[0]["complainant"] != "【演示】企业法定代表人" {
			t.Fatalf("a schema-1 dispute reads as %v", ds[0])
		}
		if _, ok := ds[0]["complainant_credit_code"]; ok {
			t.Fatalf("a schema-1 dispute has a credit code: %v", ds[0])
		}
		id = cid
	}
	// The history shows the stored event as it was written: schema 1, the
	// complainant a string.
	status, b := call(t, "GET", url+"/api/v1/commitments/"+id+"/history", "")
	if status != 200 || !strings.Contains(string(b), `"type":"dispute.opened","schema":1`) || !strings.Contains(string(b), `"complainant":"【演示】企业法定代表人"`) {
		t.Fatalf("history of %s: %d %s", id, status, b)
	}
	// The fulfilment the previous release recorded with a file is there.
	if status, b := call(t, "GET", url+"/api/v1/attachments/5a838678058f6de375e8635b5f2fea47a4e5f07cb1a882a44b10f39abc6f34ff", ""); status != 200 || !strings.HasPrefix(string(b), "%PDF") {
		t.Fatalf("the previous release's file: %d %.80s", status, b)
	}

	// This release writes schema 2 beside them.
	status, b = call(t, "POST", url+"/api/v1/commitments/"+id+"/disputes", `{"complainant":"云南楚雄市新能源电池材料有限公司","complainant_credit_code":"91532301ma6000001k","summary":"第二次投诉"}`)
	if status != 201 {
		t.Fatalf("a new dispute: %d %s", status, b)
	}
	ds := disputes(t, url)[id]
	if len(ds) != len(old[id])+1 || ds[len(ds)-1]["complainant_credit_code"] != "91532301MA6000001K" {
		t.Fatalf("the new dispute: %v", ds)
	}
	status, b = call(t, "POST", url+"/api/v1/commitments/"+id+"/disputes", `{"complainant":"某企业","complainant_credit_code":"91532301MA6000001X","summary":"校验码错误"}`)
	if status != 400 || !strings.Contains(string(b), `"field":"complainant_credit_code"`) {
		t.Fatalf("a wrong credit code: %d %s", status, b)
	}
	served := snapshot(t, url)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// From event one, schema 1 and 2 together, the views are the same.
	if out, err := ledgerCmd(t, "rebuild", "--data", data); err != nil {
		t.Fatalf("rebuild: %v\n%s", err, out)
	}
	url, stop = start(t, "--data", data, "--demo")
	rebuilt := snapshot(t, url)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if served != rebuilt {
		t.Fatal("the views differ after a rebuild from event one")
	}
	out, err = ledgerCmd(t, "audit", "verify", "--data", data)
	if err != nil || !strings.Contains(out, "ok: every event") || !strings.Contains(out, " 0 events after the last seal") {
		t.Fatalf("verify after the upgrade: %v\n%s", err, out)
	}
}
