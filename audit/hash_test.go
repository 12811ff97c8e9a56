package audit

import (
	"encoding/json"
	"os"
	"testing"
)

// The vectors were computed by an independent implementation; see the file.
func TestEventHash_Vectors(t *testing.T) {
	b, err := os.ReadFile("../testdata/event-hash-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors []struct {
			Stored    json.RawMessage `json:"stored"`
			Canonical string          `json:"canonical"`
			Hash      string          `json:"hash"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) < 3 {
		t.Fatal("too few vectors")
	}
	prev := ""
	for i, v := range f.Vectors {
		got, err := EventHash(v.Stored)
		if err != nil {
			t.Fatal(err)
		}
		if got != v.Hash {
			t.Errorf("vector %d: hash %s, want %s", i, got, v.Hash)
		}
		var m map[string]json.RawMessage
		_ = json.Unmarshal(v.Stored, &m)
		delete(m, "hash")
		delete(m, "sequence")
		raw, _ := json.Marshal(m)
		c, _ := Canonical(raw)
		if string(c) != v.Canonical {
			t.Errorf("vector %d: canonical form\n got %s\nwant %s", i, c, v.Canonical)
		}
		var e struct {
			PrevHash string `json:"prev_hash"`
		}
		_ = json.Unmarshal(v.Stored, &e)
		if e.PrevHash != prev {
			t.Errorf("vector %d: prev_hash %q, want %q", i, e.PrevHash, prev)
		}
		prev = v.Hash
	}
}
