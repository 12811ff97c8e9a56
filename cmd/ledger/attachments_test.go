package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"promiseledger/jsstore"
)

// A cited evidence file whose bytes are changed in the object store is
// reported by `ledger audit verify`, naming the event that cites it.
func TestRun_VerifyReportsAnAlteredFile(t *testing.T) {
	dir := t.TempDir()
	url, stop := start(t, "--data", dir, "--demo")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "合同.pdf")
	_, _ = fw.Write([]byte("%PDF-1.7 出让合同"))
	_ = mw.Close()
	req, _ := http.NewRequest("POST", url+"/api/v1/attachments", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+demoSupervisor)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var up struct {
		SHA256 string `json:"sha256"`
	}
	if res.StatusCode != 201 || json.Unmarshal(raw, &up) != nil {
		t.Fatalf("upload: %d %s", res.StatusCode, raw)
	}
	status, b := call(t, "POST", url+"/api/v1/commitments", `{"county":"532301","department":"楚雄市自然资源局","project":"项目","investor":{"name":"企业","credit_code":"91350100M000100Y43"},"kind":"land","description":"供地","quantity":{"value":"10","unit":"mu"},"made_on":"2020-03-15","due":"2027-12-31"}`)
	if status != 201 {
		t.Fatalf("make: %d %s", status, b)
	}
	var c struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(b, &c)
	if status, b := call(t, "POST", url+"/api/v1/commitments/"+c.ID+"/fulfillments", `{"quantity":{"value":"5","unit":"mu"},"fulfilled_on":"2020-10-01","evidence":"出让合同","attachments":["`+up.SHA256+`"]}`); status != 201 {
		t.Fatalf("fulfilment citing the file: %d %s", status, b)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if out, err := ledgerCmd(t, "audit", "verify", "--data", dir); err != nil {
		t.Fatalf("verify before the change: %v\n%s", err, out)
	}

	// An operator swaps the file's bytes in the object store.
	emb, err := jsstore.StartEmbedded(jsstore.EmbeddedConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := emb.Connect("tamper")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	js, _ := jetstream.New(nc)
	obj, err := js.ObjectStore(ctx, jsstore.DefaultAttachmentBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj.PutBytes(ctx, up.SHA256, []byte("%PDF-1.7 另一份合同")); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	emb.Shutdown()

	out, err := ledgerCmd(t, "audit", "verify", "--data", dir)
	if err == nil || !strings.Contains(out, "PROBLEM attachment_altered") || !strings.Contains(out, up.SHA256) {
		t.Fatalf("verify after the change: %v\n%s", err, out)
	}
}
