package events

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// Every type above version 1 has a step from each older version.
func TestSchema_EveryOlderVersionHasAnUpcaster(t *testing.T) {
	for _, ty := range Types {
		for v := 1; v < ty.Schema(); v++ {
			if upcasters[ty][v] == nil {
				t.Errorf("%s: no upcaster from schema %d", ty, v)
			}
		}
		for v := range upcasters[ty] {
			if v < 1 || v >= ty.Schema() {
				t.Errorf("%s: an upcaster from schema %d, but the type is at %d", ty, v, ty.Schema())
			}
		}
	}
}

// A dispute.opened stored at schema 1 (as earlier releases wrote it, bytes
// unchanged) decodes as schema 2; one stored at schema 2 as it is.
func TestSchema_DisputeOpenedUpcastFromVersion1(t *testing.T) {
	tests := []struct {
		name    string
		schema  int
		data    string
		want    DisputeOpened
		wantErr string
	}{
		{name: "stored at 1", schema: 1, data: `{"complainant":"【演示】企业法定代表人","summary":"延期后仍未兑现剩余部分"}`,
			want: DisputeOpened{Complainant: Complainant{Name: "【演示】企业法定代表人"}, Summary: "延期后仍未兑现剩余部分"}},
		{name: "stored at 1, members kept", schema: 1, data: `{"summary":"s","complainant":"甲"}`,
			want: DisputeOpened{Complainant: Complainant{Name: "甲"}, Summary: "s"}},
		{name: "stored at 2", schema: 2, data: `{"complainant":{"name":"乙","credit_code":"91350100M000100Y43"},"summary":"s"}`,
			want: DisputeOpened{Complainant: Complainant{Name: "乙", CreditCode: "91350100M000100Y43"}, Summary: "s"}},
		{name: "schema 1 that is not", schema: 1, data: `{"complainant":{"name":"乙"},"summary":"s"}`, wantErr: "upcast dispute.opened from schema 1: complainant"},
		{name: "newer than this reader", schema: 3, data: `{}`, wantErr: "schema 3 of dispute.opened not supported (this reader knows 1 to 2)"},
		{name: "no schema", schema: 0, data: `{}`, wantErr: "schema 0 of dispute.opened not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := Event{ID: "e1", Type: DisputeOpenedType, Schema: tt.schema, Data: json.RawMessage(tt.data)}
			v, err := ev.Decode()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := *v.(*DisputeOpened); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if string(ev.Data) != tt.data {
				t.Fatal("decoding changed the stored bytes")
			}
		})
	}
}

// A commitment folds old and new versions alike; types still at version 1
// refuse a version they do not know.
func TestSchema_FoldMixesVersions(t *testing.T) {
	c := history(t, made())
	for i, ev := range []Event{
		{ID: "d1", Type: DisputeOpenedType, Schema: 1, CommitmentID: "c1", County: "532301", EffectiveOn: MustDate("2020-12-01"), Sequence: 2,
			Data: json.RawMessage(`{"complainant":"企业甲","summary":"未按期供地"}`)},
		{ID: "d2", Type: DisputeOpenedType, Schema: 2, CommitmentID: "c1", County: "532301", EffectiveOn: MustDate("2020-12-02"), Sequence: 3,
			Data: json.RawMessage(`{"complainant":{"name":"企业乙","credit_code":"91350100M000100Y43"},"summary":"未按期供地"}`)},
	} {
		if err := c.Apply(ev); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if len(c.Disputes) != 2 || c.Disputes[0].Complainant != "企业甲" || c.Disputes[0].CreditCode != "" ||
		c.Disputes[1].Complainant != "企业乙" || c.Disputes[1].CreditCode != "91350100M000100Y43" {
		t.Fatalf("disputes: %+v", c.Disputes)
	}
	if _, err := (Event{ID: "f", Type: FulfillmentRecordedType, Schema: 2, Data: json.RawMessage(`{}`)}).Decode(); err == nil {
		t.Fatal("fulfillment.recorded at schema 2 was accepted")
	}
}
