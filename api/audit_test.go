package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"

	"promiseledger/audit"
)

func TestAudit_ProofsVerifyAndExport(t *testing.T) {
	h := newHarness(t)
	var ids []string
	for i, county := range []string{"532301", "532322", "532301"} {
		c := h.must(201, "POST", "/api/v1/commitments", commitment(county, "subsidy", "100", "CNY", "2025-01-01", "2026-01-01")).str("id")
		h.must(201, "POST", "/api/v1/commitments/"+c+"/fulfillments", fulfilment(fmt.Sprint(10+i), "CNY", "2025-06-01"))
		ids = append(ids, c)
	}
	pubText := h.must(200, "GET", "/api/v1/audit/pubkey", nil).str("public_key")
	pub, err := audit.ParsePublicKey(pubText)
	if err != nil {
		t.Fatal(err)
	}

	// Not sealed yet: a read never makes the ledger seal.
	first := h.must(200, "GET", "/api/v1/commitments/"+ids[1]+"/history", nil).body["events"].([]any)[0].(map[string]any)["id"].(string)
	if r := h.do("GET", "/api/v1/commitments/"+ids[1]+"/proof?event="+first, nil); r.status != 503 || r.header.Get("Retry-After") == "" {
		t.Fatalf("proof before a seal: %d %s", r.status, r.raw)
	}
	if _, err := h.sealer.SealNow(context.Background()); err != nil {
		t.Fatal(err)
	}

	// An inclusion proof, checked offline with nothing but the public key.
	hist := h.must(200, "GET", "/api/v1/commitments/"+ids[1]+"/history", nil).body["events"].([]any)
	eventID := hist[1].(map[string]any)["id"].(string)
	p := h.must(200, "GET", "/api/v1/commitments/"+ids[1]+"/proof?event="+eventID, nil)
	var proof struct {
		Event     json.RawMessage `json:"event"`
		LeafIndex uint64          `json:"leaf_index"`
		TreeSize  uint64          `json:"tree_size"`
		AuditPath []string        `json:"audit_path"`
		Seal      audit.Seal      `json:"seal"`
	}
	if err := json.Unmarshal(p.raw, &proof); err != nil {
		t.Fatal(err)
	}
	if err := audit.CheckInclusion(proof.Event, proof.LeafIndex, proof.TreeSize, proof.AuditPath, proof.Seal, pub); err != nil {
		t.Fatalf("proof: %v", err)
	}
	if proof.LeafIndex != 3 || proof.TreeSize != 6 {
		t.Fatalf("leaf %d of %d", proof.LeafIndex, proof.TreeSize)
	}
	forged := bytes.Replace(proof.Event, []byte(`"value":"11.00"`), []byte(`"value":"99.00"`), 1)
	if err := audit.CheckInclusion(forged, proof.LeafIndex, proof.TreeSize, proof.AuditPath, proof.Seal, pub); err == nil {
		t.Fatal("a changed event passed its proof")
	}
	if r := h.do("GET", "/api/v1/commitments/"+ids[1]+"/proof?event=nope", nil); r.status != 404 || r.errField() != "event" {
		t.Fatalf("unknown event: %d %s", r.status, r.raw)
	}

	// More events, a second seal, and a consistency proof between the two.
	h.must(201, "POST", "/api/v1/commitments/"+ids[0]+"/fulfillments", fulfilment("1", "CNY", "2025-07-01"))
	if _, err := h.sealer.SealNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	seals := h.must(200, "GET", "/api/v1/audit/seals", nil).body["seals"].([]any)
	if len(seals) != 2 {
		t.Fatalf("%d seals", len(seals))
	}
	from, to := seals[0].(map[string]any), seals[1].(map[string]any)
	c := h.must(200, "GET", fmt.Sprintf("/api/v1/audit/consistency?from=%v&to=%v", from["at"], to["at"]), nil)
	var cons struct {
		From, To audit.Seal
		Proof    []string
	}
	_ = json.Unmarshal(c.raw, &cons)
	var path []audit.Hash
	for _, x := range cons.Proof {
		path = append(path, mustHash(t, x))
	}
	h1, _ := cons.From.Head()
	h2, _ := cons.To.Head()
	if err := audit.VerifyConsistency(cons.From.Events, cons.To.Events, h1, h2, path); err != nil {
		t.Fatalf("consistency: %v", err)
	}

	// The whole ledger verifies, on the server and from its export.
	v := h.must(200, "GET", "/api/v1/audit/verify", nil)
	if v.body["ok"] != true || v.body["events"] != 7.0 || v.body["seals"] != 2.0 {
		t.Fatalf("verify: %s", v.raw)
	}
	export := h.must(200, "GET", "/api/v1/audit/export", nil)
	ver := audit.NewVerifier(pub)
	sc := bufio.NewScanner(bytes.NewReader(export.raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	lines := 0
	for sc.Scan() {
		var rec audit.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		ver.Add(rec)
		lines++
	}
	if rep := ver.Finish(); !rep.OK() || lines != 9 {
		t.Fatalf("export of %d lines: %+v", lines, rep)
	}
	// One county's export verifies as a part.
	part := h.must(200, "GET", "/api/v1/audit/export?county=532301&format=jsonl", nil)
	pv := audit.NewVerifier(pub).Partial()
	sc = bufio.NewScanner(bytes.NewReader(part.raw))
	n := 0
	for sc.Scan() {
		var rec audit.Record
		_ = json.Unmarshal(sc.Bytes(), &rec)
		pv.Add(rec)
		n++
	}
	if rep := pv.Finish(); !rep.OK() || n != 5 {
		t.Fatalf("county export of %d lines: %+v", n, rep)
	}
	csv := h.must(200, "GET", "/api/v1/audit/export?format=csv&from=2026-11-27&to=2026-11-27", nil)
	if !bytes.HasPrefix(csv.raw, []byte("\ufeffsequence,subject,id,type,commitment_id")) || bytes.Count(csv.raw, []byte("\n")) != 8 {
		t.Fatalf("csv export:\n%s", csv.raw)
	}
}

func mustHash(t *testing.T, s string) audit.Hash {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("hash %s: %v", s, err)
	}
	return audit.Hash(b)
}
