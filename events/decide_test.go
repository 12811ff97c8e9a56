package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The dates of every case: a promise of 300 mu of land made on 2020-03-15,
// due 2020-12-31, judged on 2021-01-10.
var (
	madeOn = MustDate("2020-03-15")
	dueOn  = MustDate("2020-12-31")
	today  = MustDate("2021-01-10")
)

// fact is one event of a commitment's history, for [history].
type fact struct {
	typ  Type
	id   string
	on   Date
	data any
}

func made() fact {
	return fact{CommitmentMadeType, "c1", madeOn, CommitmentMade{
		Department: "楚雄市自然资源局", Project: "年产10GW单晶硅棒项目",
		Investor: Investor{Name: "楚雄某某硅材料有限公司", CreditCode: "91350100M000100Y43"},
		Kind:     Land, Description: "保障项目用地300亩", Quantity: Quantity{MustDecimal("300"), Mu},
		MadeOn: madeOn, Due: dueOn,
	}}
}

func delivered(id, mu, on string) fact {
	return fact{FulfillmentRecordedType, id, MustDate(on), FulfillmentRecorded{Quantity: Quantity{MustDecimal(mu), Mu}, FulfilledOn: MustDate(on), Evidence: "合同"}}
}

func reversal(of string) fact {
	return fact{FulfillmentReversedType, "r-" + of, today, FulfillmentReversed{FulfillmentID: of, Reason: "录入错误"}}
}

func waiver() fact {
	return fact{CommitmentWaivedType, "w1", today, CommitmentWaived{Reason: "企业放弃", Approval: "批复"}}
}

func cancellation() fact {
	return fact{CommitmentCancelledType, "x1", today, CommitmentCancelled{Reason: "企业未投产", Approval: "批复"}}
}

func complaint(id string) fact {
	return fact{DisputeOpenedType, id, MustDate("2020-12-01"), DisputeOpened{Complainant: Complainant{Name: "企业"}, Summary: "未按期供地"}}
}

func resolution(of string, o Outcome) fact {
	return fact{DisputeResolvedType, "res-" + of, today, DisputeResolved{DisputeID: of, Outcome: o}}
}

// history folds a commitment from its facts with [Commitment.Apply], as
// the ledger does.
func history(t *testing.T, facts ...fact) *Commitment {
	t.Helper()
	c := &Commitment{}
	for i, f := range facts {
		b, err := json.Marshal(f.data)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Apply(Event{ID: f.id, Type: f.typ, Schema: f.typ.Schema(), CommitmentID: "c1", County: "532301", EffectiveOn: f.on, Sequence: uint64(i + 1), Data: b}); err != nil {
			t.Fatalf("fact %d (%s): %v", i, f.typ, err)
		}
	}
	return c
}

func qty(value, unit string) *QuantityInput { return &QuantityInput{Value: Text(value), Unit: unit} }

// refused checks that err matches want and, when field is not "-", that it
// is a *FieldError naming field ("" when the rule names none).
func refused(t *testing.T, err, want error, field string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want one matching %v", err, want)
	}
	for _, other := range []error{ErrValidation, ErrExceedsOutstanding, ErrInvalidState, ErrNotFound} {
		if other != want && errors.Is(err, other) {
			t.Errorf("error %v also matches %v", err, other)
		}
	}
	if field == "-" {
		return
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *FieldError", err, err)
	}
	if fe.Field != field {
		t.Errorf("field %q, want %q (%v)", fe.Field, field, err)
	}
}

var (
	long  = strings.Repeat("字", 2001) // over the 2,000 characters of free text
	short = strings.Repeat("字", 201)  // over the 200 characters of a name or code
)

func TestMakeCommitment_Decide(t *testing.T) {
	j := DefaultJurisdiction()
	ok := func() MakeCommitment {
		return MakeCommitment{
			County: "532301", Department: "楚雄市自然资源局", Project: "年产10GW单晶硅棒项目",
			Investor: InvestorInput{Name: "楚雄某某硅材料有限公司", CreditCode: "91350100M000100Y43"},
			Kind:     "land", Description: "保障项目用地300亩\n2020年底前完成供地", Quantity: qty("300", "mu"),
			MadeOn: "2020-03-15", Due: "2020-12-31", Reference: "楚投促协〔2020〕17号",
		}
	}
	with := func(change func(*MakeCommitment)) MakeCommitment { m := ok(); change(&m); return m }
	tests := []struct {
		name    string
		cmd     MakeCommitment
		wantErr error  // nil: accepted
		field   string // the field the refusal names
	}{
		{"a complete promise", ok(), nil, ""},
		{"without a reference", with(func(m *MakeCommitment) { m.Reference = "" }), nil, ""},
		{"a credit code in lower case", with(func(m *MakeCommitment) { m.Investor.CreditCode = "91350100m000100y43" }), nil, ""},
		{"due on the day it was made", with(func(m *MakeCommitment) { m.Due = "2020-03-15" }), nil, ""},
		{"made today", with(func(m *MakeCommitment) { m.MadeOn = "2021-01-10"; m.Due = "2021-06-30" }), nil, ""},
		{"every other kind", with(func(m *MakeCommitment) { m.Kind = "other" }), nil, ""},
		{"in yuan with cents", with(func(m *MakeCommitment) { m.Kind = "tax"; m.Quantity = qty("1250000.50", "CNY") }), nil, ""},
		{"200 characters of department", with(func(m *MakeCommitment) { m.Department = short[3:] }), nil, ""},

		{"no county", with(func(m *MakeCommitment) { m.County = "" }), ErrValidation, "county"},
		{"a county of elsewhere", with(func(m *MakeCommitment) { m.County = "110101" }), ErrValidation, "county"},
		{"no department", with(func(m *MakeCommitment) { m.Department = "" }), ErrValidation, "department"},
		{"a blank department", with(func(m *MakeCommitment) { m.Department = " \u3000 " }), ErrValidation, "department"},
		{"a department too long", with(func(m *MakeCommitment) { m.Department = short }), ErrValidation, "department"},
		{"a department on two lines", with(func(m *MakeCommitment) { m.Department = "楚雄\n资源局" }), ErrValidation, "department"},
		{"no project", with(func(m *MakeCommitment) { m.Project = "" }), ErrValidation, "project"},
		{"no investor", with(func(m *MakeCommitment) { m.Investor.Name = "" }), ErrValidation, "investor.name"},
		{"an investor with an override", with(func(m *MakeCommitment) { m.Investor.Name = "公司\u202e" }), ErrValidation, "investor.name"},
		{"no credit code", with(func(m *MakeCommitment) { m.Investor.CreditCode = "" }), ErrValidation, "investor.credit_code"},
		{"a wrong check character", with(func(m *MakeCommitment) { m.Investor.CreditCode = "91350100M000100Y44" }), ErrValidation, "investor.credit_code"},
		{"no kind", with(func(m *MakeCommitment) { m.Kind = "" }), ErrValidation, "kind"},
		{"an unknown kind", with(func(m *MakeCommitment) { m.Kind = "equity" }), ErrValidation, "kind"},
		{"a kind in capitals", with(func(m *MakeCommitment) { m.Kind = "Land" }), ErrValidation, "kind"},
		{"no description", with(func(m *MakeCommitment) { m.Description = "" }), ErrValidation, "description"},
		{"a description too long", with(func(m *MakeCommitment) { m.Description = long }), ErrValidation, "description"},
		{"no quantity", with(func(m *MakeCommitment) { m.Quantity = nil }), ErrValidation, "quantity"},
		{"no unit", with(func(m *MakeCommitment) { m.Quantity = qty("300", "") }), ErrValidation, "quantity.unit"},
		{"an unknown unit", with(func(m *MakeCommitment) { m.Quantity = qty("300", "acre") }), ErrValidation, "quantity.unit"},
		{"a zero quantity", with(func(m *MakeCommitment) { m.Quantity = qty("0", "mu") }), ErrValidation, "quantity.value"},
		{"too many decimals", with(func(m *MakeCommitment) { m.Quantity = qty("1.5", "item") }), ErrValidation, "quantity.value"},
		{"no made_on", with(func(m *MakeCommitment) { m.MadeOn = "" }), ErrValidation, "made_on"},
		{"made_on not a date", with(func(m *MakeCommitment) { m.MadeOn = "2020-02-30" }), ErrValidation, "made_on"},
		{"made_on before 1949", with(func(m *MakeCommitment) { m.MadeOn = "1948-12-31" }), ErrValidation, "made_on"},
		{"made tomorrow", with(func(m *MakeCommitment) { m.MadeOn = "2021-01-11"; m.Due = "2021-06-30" }), ErrValidation, "made_on"},
		{"no due date", with(func(m *MakeCommitment) { m.Due = "" }), ErrValidation, "due"},
		{"due after 2200", with(func(m *MakeCommitment) { m.Due = "2201-01-01" }), ErrValidation, "due"},
		{"due the day before it was made", with(func(m *MakeCommitment) { m.Due = "2020-03-14" }), ErrValidation, "due"},
		{"a reference too long", with(func(m *MakeCommitment) { m.Reference = short }), ErrValidation, "reference"},
		{"a reference with a tab", with(func(m *MakeCommitment) { m.Reference = "17\t号" }), ErrValidation, "reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.cmd.Decide(j, today)
			if tt.wantErr != nil {
				refused(t, err, tt.wantErr, tt.field)
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if string(out.Kind) != tt.cmd.Kind || out.Due.String() != tt.cmd.Due || out.MadeOn.String() != tt.cmd.MadeOn ||
				out.Investor.CreditCode != strings.ToUpper(tt.cmd.Investor.CreditCode) || out.Reference != tt.cmd.Reference {
				t.Errorf("decided %+v from %+v", out, tt.cmd)
			}
		})
	}
}

// The refusal of an unknown kind or unit names every value of the list.
func TestMakeCommitment_NamesTheLists(t *testing.T) {
	for _, tt := range []struct {
		kind, unit string
		want       string
	}{
		{"equity", "mu", "kind: must be one of land, tax, subsidy, fee, infrastructure, financing, other"},
		{"land", "acre", "quantity.unit: must be one of CNY, mu, m2, item"},
		{"land", "", "quantity.unit: is required: one of CNY, mu, m2, item"},
	} {
		m := MakeCommitment{County: "532301", Department: "局", Project: "项目", Investor: InvestorInput{Name: "公司", CreditCode: "91350100M000100Y43"},
			Kind: tt.kind, Description: "承诺", Quantity: qty("1", tt.unit), MadeOn: "2020-03-15", Due: "2020-12-31"}
		_, err := m.Decide(DefaultJurisdiction(), today)
		if err == nil || err.Error() != tt.want {
			t.Errorf("kind %q unit %q: %v, want %q", tt.kind, tt.unit, err, tt.want)
		}
	}
}

// A case of a Command decided on a commitment.
type decideCase struct {
	name    string
	c       *Commitment
	cmd     Command
	wantErr error  // nil: accepted
	field   string // the field a refusal names; "" when none
	// For an accepted command: the effective date it gets, the status of
	// the commitment once its event is folded in, and what else to check.
	wantOn     Date
	wantStatus Status
	check      func(t *testing.T, c *Commitment)
}

// runDecide decides each case. An accepted command's data must be what
// Decode makes of its Type(), and must fold into the commitment.
func runDecide(t *testing.T, tests []decideCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.c.Clone()
			data, on, err := tt.cmd.Decide(tt.c, today)
			if tt.c.Version != before.Version || tt.c.Status() != before.Status() || tt.c.Fulfilled.Cmp(before.Fulfilled) != 0 {
				t.Fatal("Decide changed the commitment")
			}
			if tt.wantErr != nil {
				if data != nil {
					t.Errorf("refused with data %+v", data)
				}
				refused(t, err, tt.wantErr, tt.field)
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if on != tt.wantOn {
				t.Errorf("effective on %s, want %s", on, tt.wantOn)
			}
			b, err := json.Marshal(data)
			if err != nil {
				t.Fatal(err)
			}
			ev := Event{ID: "new", Type: tt.cmd.Type(), Schema: tt.cmd.Type().Schema(), CommitmentID: tt.c.ID, EffectiveOn: on, Data: b}
			decoded, err := ev.Decode()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fmt.Sprintf("%T", decoded), fmt.Sprintf("%T", data); got != want {
				t.Fatalf("%s decides a %s, but its events decode to %s", tt.cmd.Type(), want, got)
			}
			after := tt.c.Clone()
			if err := after.Apply(ev); err != nil {
				t.Fatalf("the decided event does not fold: %v", err)
			}
			if after.Status() != tt.wantStatus {
				t.Errorf("status %s after the event, want %s", after.Status(), tt.wantStatus)
			}
			if tt.check != nil {
				tt.check(t, after)
			}
		})
	}
}

func TestRecordFulfillment_Decide(t *testing.T) {
	open := history(t, made())
	partial := history(t, made(), delivered("f1", "120", "2020-10-01"))
	full := history(t, made(), delivered("f1", "120", "2020-10-01"), delivered("f2", "180", "2020-11-01"))
	record := func(v, unit, on string) RecordFulfillment {
		return RecordFulfillment{Quantity: qty(v, unit), FulfilledOn: on, Evidence: "土地出让合同 CX2020-33"}
	}
	outstanding := func(want string) func(*testing.T, *Commitment) {
		return func(t *testing.T, c *Commitment) {
			if got := c.Outstanding().String(); got != want {
				t.Errorf("outstanding %s, want %s", got, want)
			}
		}
	}
	runDecide(t, []decideCase{
		{name: "part of it", c: open, cmd: record("120", "mu", "2020-10-01"), wantOn: MustDate("2020-10-01"), wantStatus: PartiallyFulfilled, check: outstanding("180")},
		{name: "all of it at once", c: open, cmd: record("300", "mu", "2020-10-01"), wantOn: MustDate("2020-10-01"), wantStatus: Fulfilled, check: outstanding("0")},
		{name: "exactly what is outstanding", c: partial, cmd: record("180", "mu", "2020-12-31"), wantOn: dueOn, wantStatus: Fulfilled},
		{name: "a fraction of a mu", c: partial, cmd: record("0.0001", "mu", "2020-12-31"), wantOn: dueOn, wantStatus: PartiallyFulfilled, check: outstanding("179.9999")},
		{name: "on the day it was made", c: open, cmd: record("1", "mu", "2020-03-15"), wantOn: madeOn, wantStatus: PartiallyFulfilled},
		{name: "today", c: open, cmd: record("1", "mu", "2021-01-10"), wantOn: today, wantStatus: PartiallyFulfilled},
		{name: "late, after the due date", c: open, cmd: record("300", "mu", "2021-01-05"), wantOn: MustDate("2021-01-05"), wantStatus: Fulfilled,
			check: func(t *testing.T, c *Commitment) {
				if c.KeptOnTime() {
					t.Error("a fulfilment after the due date is kept on time")
				}
			}},
		{name: "again after a reversal", c: history(t, made(), delivered("f1", "300", "2020-10-01"), reversal("f1")), cmd: record("300", "mu", "2020-10-02"), wantOn: MustDate("2020-10-02"), wantStatus: Fulfilled},

		{name: "no quantity", c: open, cmd: RecordFulfillment{FulfilledOn: "2020-10-01", Evidence: "合同"}, wantErr: ErrValidation, field: "quantity"},
		{name: "another unit", c: open, cmd: record("120", "m2", "2020-10-01"), wantErr: ErrValidation, field: "quantity.unit"},
		{name: "no unit", c: open, cmd: record("120", "", "2020-10-01"), wantErr: ErrValidation, field: "quantity.unit"},
		{name: "nothing", c: open, cmd: record("0", "mu", "2020-10-01"), wantErr: ErrValidation, field: "quantity.value"},
		{name: "a negative quantity", c: open, cmd: record("-5", "mu", "2020-10-01"), wantErr: ErrValidation, field: "quantity.value"},
		{name: "too many decimals for mu", c: open, cmd: record("0.00001", "mu", "2020-10-01"), wantErr: ErrValidation, field: "quantity.value"},
		{name: "no date", c: open, cmd: record("1", "mu", ""), wantErr: ErrValidation, field: "fulfilled_on"},
		{name: "not a date", c: open, cmd: record("1", "mu", "2020/10/01"), wantErr: ErrValidation, field: "fulfilled_on"},
		{name: "before the promise was made", c: open, cmd: record("1", "mu", "2020-03-14"), wantErr: ErrValidation, field: "fulfilled_on"},
		{name: "tomorrow", c: open, cmd: record("1", "mu", "2021-01-11"), wantErr: ErrValidation, field: "fulfilled_on"},
		{name: "no evidence", c: open, cmd: RecordFulfillment{Quantity: qty("1", "mu"), FulfilledOn: "2020-10-01"}, wantErr: ErrValidation, field: "evidence"},
		{name: "evidence too long", c: open, cmd: RecordFulfillment{Quantity: qty("1", "mu"), FulfilledOn: "2020-10-01", Evidence: long}, wantErr: ErrValidation, field: "evidence"},
		{name: "more than outstanding", c: partial, cmd: record("180.0001", "mu", "2020-12-31"), wantErr: ErrExceedsOutstanding, field: "quantity.value"},
		{name: "more than promised", c: open, cmd: record("301", "mu", "2020-10-01"), wantErr: ErrExceedsOutstanding, field: "quantity.value"},
		{name: "anything once fulfilled", c: full, cmd: record("1", "mu", "2020-12-31"), wantErr: ErrExceedsOutstanding, field: "quantity.value"},
		{name: "on a waived commitment", c: history(t, made(), waiver()), cmd: record("1", "mu", "2020-10-01"), wantErr: ErrInvalidState, field: ""},
		{name: "on a cancelled commitment", c: history(t, made(), cancellation()), cmd: record("1", "mu", "2020-10-01"), wantErr: ErrInvalidState, field: ""},
	})
}

func TestReverseFulfillment_Decide(t *testing.T) {
	partial := history(t, made(), delivered("f1", "120", "2020-10-01"))
	full := history(t, made(), delivered("f1", "120", "2020-10-01"), delivered("f2", "180", "2020-11-01"))
	reverse := func(id string) ReverseFulfillment {
		return ReverseFulfillment{FulfillmentID: id, Reason: "录入错误"}
	}
	runDecide(t, []decideCase{
		{name: "the only fulfilment", c: partial, cmd: reverse("f1"), wantOn: today, wantStatus: Open},
		{name: "one of two, on a fulfilled commitment", c: full, cmd: reverse("f2"), wantOn: today, wantStatus: PartiallyFulfilled,
			check: func(t *testing.T, c *Commitment) {
				if got := c.Outstanding().String(); got != "180" {
					t.Errorf("outstanding %s, want 180", got)
				}
			}},
		{name: "the other one after a reversal", c: history(t, made(), delivered("f1", "120", "2020-10-01"), delivered("f2", "10", "2020-10-02"), reversal("f1")), cmd: reverse("f2"), wantOn: today, wantStatus: Open},

		{name: "no fulfilment id", c: partial, cmd: ReverseFulfillment{Reason: "录入错误"}, wantErr: ErrValidation, field: "fulfillment_id"},
		{name: "no reason", c: partial, cmd: ReverseFulfillment{FulfillmentID: "f1"}, wantErr: ErrValidation, field: "reason"},
		{name: "a reason too long", c: partial, cmd: ReverseFulfillment{FulfillmentID: "f1", Reason: long}, wantErr: ErrValidation, field: "reason"},
		{name: "an unknown fulfilment", c: partial, cmd: reverse("f9"), wantErr: ErrNotFound, field: "fulfillment_id"},
		{name: "the id of another event", c: history(t, made(), delivered("f1", "120", "2020-10-01"), complaint("d1")), cmd: reverse("d1"), wantErr: ErrNotFound, field: "fulfillment_id"},
		{name: "a fulfilment already reversed", c: history(t, made(), delivered("f1", "120", "2020-10-01"), reversal("f1")), cmd: reverse("f1"), wantErr: ErrInvalidState, field: "fulfillment_id"},
		{name: "on a waived commitment", c: history(t, made(), delivered("f1", "120", "2020-10-01"), waiver()), cmd: reverse("f1"), wantErr: ErrInvalidState, field: ""},
		{name: "on a cancelled commitment", c: history(t, made(), delivered("f1", "120", "2020-10-01"), cancellation()), cmd: reverse("f1"), wantErr: ErrInvalidState, field: ""},
	})
}

func TestAmend_Decide(t *testing.T) {
	open := history(t, made())
	partial := history(t, made(), delivered("f1", "120", "2020-10-01"))
	full := history(t, made(), delivered("f1", "300", "2020-10-01"))
	amend := func(due string, q *QuantityInput) Amend {
		return Amend{Due: due, Quantity: q, Reason: "规划调整", Approval: "楚政复〔2020〕8号"}
	}
	dueIs := func(want string) func(*testing.T, *Commitment) {
		return func(t *testing.T, c *Commitment) {
			if c.Due.String() != want {
				t.Errorf("due %s, want %s", c.Due, want)
			}
		}
	}
	runDecide(t, []decideCase{
		{name: "a later due date", c: open, cmd: amend("2021-06-30", nil), wantOn: today, wantStatus: Open, check: dueIs("2021-06-30")},
		{name: "an earlier due date", c: open, cmd: amend("2020-06-30", nil), wantOn: today, wantStatus: Open, check: dueIs("2020-06-30")},
		{name: "due on the day it was made", c: open, cmd: amend("2020-03-15", nil), wantOn: today, wantStatus: Open, check: dueIs("2020-03-15")},
		{name: "more land", c: partial, cmd: amend("", qty("400", "mu")), wantOn: today, wantStatus: PartiallyFulfilled,
			check: func(t *testing.T, c *Commitment) {
				if got := c.Outstanding().String(); got != "280" {
					t.Errorf("outstanding %s, want 280", got)
				}
			}},
		{name: "down to what was fulfilled", c: partial, cmd: amend("", qty("120", "mu")), wantOn: today, wantStatus: Fulfilled},
		{name: "both", c: partial, cmd: amend("2021-06-30", qty("200", "mu")), wantOn: today, wantStatus: PartiallyFulfilled, check: dueIs("2021-06-30")},
		{name: "more on a fulfilled commitment", c: full, cmd: amend("", qty("350", "mu")), wantOn: today, wantStatus: PartiallyFulfilled},

		{name: "no change asked", c: open, cmd: amend("", nil), wantErr: ErrValidation, field: ""},
		{name: "not a date", c: open, cmd: amend("2021-13-01", nil), wantErr: ErrValidation, field: "due"},
		{name: "due before it was made", c: open, cmd: amend("2020-03-14", nil), wantErr: ErrValidation, field: "due"},
		{name: "the same due date", c: open, cmd: amend("2020-12-31", nil), wantErr: ErrValidation, field: "due"},
		{name: "the same quantity", c: open, cmd: amend("", qty("300.0", "mu")), wantErr: ErrValidation, field: "quantity.value"},
		{name: "another unit", c: open, cmd: amend("", qty("300", "m2")), wantErr: ErrValidation, field: "quantity.unit"},
		{name: "a zero quantity", c: open, cmd: amend("", qty("0", "mu")), wantErr: ErrValidation, field: "quantity.value"},
		{name: "no reason", c: open, cmd: Amend{Due: "2021-06-30", Approval: "批复"}, wantErr: ErrValidation, field: "reason"},
		{name: "no approval", c: open, cmd: Amend{Due: "2021-06-30", Reason: "规划调整"}, wantErr: ErrValidation, field: "approval"},
		{name: "an approval on two lines", c: open, cmd: Amend{Due: "2021-06-30", Reason: "规划调整", Approval: "批\n复"}, wantErr: ErrValidation, field: "approval"},
		{name: "below what was fulfilled", c: partial, cmd: amend("", qty("119.9999", "mu")), wantErr: ErrInvalidState, field: "quantity.value"},
		{name: "on a waived commitment", c: history(t, made(), waiver()), cmd: amend("2021-06-30", nil), wantErr: ErrInvalidState, field: ""},
		{name: "on a cancelled commitment", c: history(t, made(), cancellation()), cmd: amend("2021-06-30", nil), wantErr: ErrInvalidState, field: ""},
	})
}

// Waive and Cancel share their rules (release); each is run on every case.
func TestWaiveAndCancel_Decide(t *testing.T) {
	open := history(t, made())
	partial := history(t, made(), delivered("f1", "120", "2020-10-01"))
	full := history(t, made(), delivered("f1", "300", "2020-10-01"))
	disputed := history(t, made(), complaint("d1"))
	waived := history(t, made(), waiver())
	cancelled := history(t, made(), cancellation())
	type release struct {
		c              *Commitment
		reason, approv string
		wantErr        error
		field          string
	}
	cases := map[string]release{
		"an open commitment":            {open, "企业放弃", "批复", nil, ""},
		"a partly fulfilled commitment": {partial, "企业放弃", "批复", nil, ""},
		"a disputed commitment":         {disputed, "企业放弃", "批复", nil, ""},
		"no reason":                     {open, "", "批复", ErrValidation, "reason"},
		"a reason too long":             {open, long, "批复", ErrValidation, "reason"},
		"no approval":                   {open, "企业放弃", "", ErrValidation, "approval"},
		"an approval too long":          {open, "企业放弃", short, ErrValidation, "approval"},
		"a fulfilled commitment":        {full, "企业放弃", "批复", ErrInvalidState, ""},
		"a waived commitment":           {waived, "企业放弃", "批复", ErrInvalidState, ""},
		"a cancelled commitment":        {cancelled, "企业放弃", "批复", ErrInvalidState, ""},
	}
	var tests []decideCase
	for name, r := range cases {
		tests = append(tests,
			decideCase{name: "waive " + name, c: r.c, cmd: Waive{Reason: r.reason, Approval: r.approv}, wantErr: r.wantErr, field: r.field, wantOn: today, wantStatus: Waived},
			decideCase{name: "cancel " + name, c: r.c, cmd: Cancel{Reason: r.reason, Approval: r.approv}, wantErr: r.wantErr, field: r.field, wantOn: today, wantStatus: Cancelled})
	}
	runDecide(t, tests)
}

func TestOpenDispute_Decide(t *testing.T) {
	open := history(t, made())
	complain := OpenDispute{Complainant: "楚雄某某硅材料有限公司", Summary: "土地未按期交付"}
	disputes := func(n int) func(*testing.T, *Commitment) {
		return func(t *testing.T, c *Commitment) {
			if len(c.Disputes) != n || !c.Disputed() {
				t.Errorf("%d disputes (disputed %v), want %d open", len(c.Disputes), c.Disputed(), n)
			}
		}
	}
	runDecide(t, []decideCase{
		{name: "on an open commitment", c: open, cmd: complain, wantOn: today, wantStatus: Open, check: disputes(1)},
		{name: "a second one", c: history(t, made(), complaint("d1")), cmd: complain, wantOn: today, wantStatus: Open, check: disputes(2)},
		{name: "on a fulfilled commitment", c: history(t, made(), delivered("f1", "300", "2020-10-01")), cmd: complain, wantOn: today, wantStatus: Fulfilled, check: disputes(1)},
		{name: "on a waived commitment", c: history(t, made(), waiver()), cmd: complain, wantOn: today, wantStatus: Waived, check: disputes(1)},
		{name: "on a cancelled commitment", c: history(t, made(), cancellation()), cmd: complain, wantOn: today, wantStatus: Cancelled, check: disputes(1)},
		{name: "a summary on lines", c: open, cmd: OpenDispute{Complainant: "企业", Summary: "一、未供地\n二、未退税"}, wantOn: today, wantStatus: Open},

		{name: "no complainant", c: open, cmd: OpenDispute{Summary: "未供地"}, wantErr: ErrValidation, field: "complainant"},
		{name: "a complainant too long", c: open, cmd: OpenDispute{Complainant: short, Summary: "未供地"}, wantErr: ErrValidation, field: "complainant"},
		{name: "a complainant on two lines", c: open, cmd: OpenDispute{Complainant: "企\n业", Summary: "未供地"}, wantErr: ErrValidation, field: "complainant"},
		{name: "no summary", c: open, cmd: OpenDispute{Complainant: "企业"}, wantErr: ErrValidation, field: "summary"},
		{name: "a summary too long", c: open, cmd: OpenDispute{Complainant: "企业", Summary: long}, wantErr: ErrValidation, field: "summary"},
		{name: "a summary with an isolate", c: open, cmd: OpenDispute{Complainant: "企业", Summary: "a\u2066b"}, wantErr: ErrValidation, field: "summary"},
	})
}

func TestResolveDispute_Decide(t *testing.T) {
	disputed := history(t, made(), complaint("d1"))
	resolve := func(id, outcome string) ResolveDispute {
		return ResolveDispute{DisputeID: id, Outcome: outcome, Note: "已核实"}
	}
	state := func(want Outcome) func(*testing.T, *Commitment) {
		return func(t *testing.T, c *Commitment) {
			if c.Disputes[0].State != want || c.Disputed() {
				t.Errorf("dispute %s (disputed %v), want %s", c.Disputes[0].State, c.Disputed(), want)
			}
		}
	}
	runDecide(t, []decideCase{
		{name: "upheld", c: disputed, cmd: resolve("d1", "upheld"), wantOn: today, wantStatus: Open, check: state(Upheld)},
		{name: "rejected", c: disputed, cmd: resolve("d1", "rejected"), wantOn: today, wantStatus: Open, check: state(Rejected)},
		{name: "without a note", c: disputed, cmd: ResolveDispute{DisputeID: "d1", Outcome: "upheld"}, wantOn: today, wantStatus: Open, check: state(Upheld)},
		{name: "on a waived commitment", c: history(t, made(), complaint("d1"), waiver()), cmd: resolve("d1", "rejected"), wantOn: today, wantStatus: Waived, check: state(Rejected)},

		{name: "no outcome", c: disputed, cmd: resolve("d1", ""), wantErr: ErrValidation, field: "outcome"},
		{name: "open is no outcome", c: disputed, cmd: resolve("d1", "open"), wantErr: ErrValidation, field: "outcome"},
		{name: "an unknown outcome", c: disputed, cmd: resolve("d1", "maybe"), wantErr: ErrValidation, field: "outcome"},
		{name: "a note too long", c: disputed, cmd: ResolveDispute{DisputeID: "d1", Outcome: "upheld", Note: long}, wantErr: ErrValidation, field: "note"},
		{name: "an unknown dispute", c: disputed, cmd: resolve("d9", "upheld"), wantErr: ErrNotFound, field: "dispute_id"},
		{name: "no dispute id", c: disputed, cmd: resolve("", "upheld"), wantErr: ErrNotFound, field: "dispute_id"},
		{name: "the id of a fulfilment", c: history(t, made(), delivered("f1", "1", "2020-10-01")), cmd: resolve("f1", "upheld"), wantErr: ErrNotFound, field: "dispute_id"},
		{name: "already upheld", c: history(t, made(), complaint("d1"), resolution("d1", Upheld)), cmd: resolve("d1", "rejected"), wantErr: ErrInvalidState, field: "dispute_id"},
		{name: "already rejected", c: history(t, made(), complaint("d1"), resolution("d1", Rejected)), cmd: resolve("d1", "rejected"), wantErr: ErrInvalidState, field: "dispute_id"},
	})
}

func TestOrderSupervision_Decide(t *testing.T) {
	open := history(t, made())
	order := func(deadline string) OrderSupervision {
		return OrderSupervision{Deadline: deadline, Note: "限期兑现"}
	}
	deadline := func(want string) func(*testing.T, *Commitment) {
		return func(t *testing.T, c *Commitment) {
			if n := len(c.SupervisionOrders); n == 0 || c.SupervisionOrders[n-1].Deadline.String() != want || c.SupervisionOrders[n-1].IssuedOn != today {
				t.Errorf("orders %+v, want the last with deadline %s issued %s", c.SupervisionOrders, want, today)
			}
		}
	}
	runDecide(t, []decideCase{
		{name: "a deadline ahead", c: open, cmd: order("2021-03-31"), wantOn: today, wantStatus: Open, check: deadline("2021-03-31")},
		{name: "a deadline today", c: open, cmd: order("2021-01-10"), wantOn: today, wantStatus: Open, check: deadline("2021-01-10")},
		{name: "without a note", c: open, cmd: OrderSupervision{Deadline: "2021-03-31"}, wantOn: today, wantStatus: Open, check: deadline("2021-03-31")},
		{name: "on a partly fulfilled commitment", c: history(t, made(), delivered("f1", "1", "2020-10-01")), cmd: order("2021-03-31"), wantOn: today, wantStatus: PartiallyFulfilled},
		{name: "a second order", c: history(t, made(), fact{SupervisionOrderedType, "o1", MustDate("2021-01-01"), SupervisionOrdered{Deadline: MustDate("2021-01-05")}}), cmd: order("2021-02-28"), wantOn: today, wantStatus: Open, check: deadline("2021-02-28")},

		{name: "no deadline", c: open, cmd: OrderSupervision{Note: "限期兑现"}, wantErr: ErrValidation, field: "deadline"},
		{name: "not a date", c: open, cmd: order("2021-02-29"), wantErr: ErrValidation, field: "deadline"},
		{name: "a deadline yesterday", c: open, cmd: order("2021-01-09"), wantErr: ErrValidation, field: "deadline"},
		{name: "a deadline after 2200", c: open, cmd: order("2201-01-01"), wantErr: ErrValidation, field: "deadline"},
		{name: "a note too long", c: open, cmd: OrderSupervision{Deadline: "2021-03-31", Note: long}, wantErr: ErrValidation, field: "note"},
		{name: "on a fulfilled commitment", c: history(t, made(), delivered("f1", "300", "2020-10-01")), cmd: order("2021-03-31"), wantErr: ErrInvalidState, field: ""},
		{name: "on a waived commitment", c: history(t, made(), waiver()), cmd: order("2021-03-31"), wantErr: ErrInvalidState, field: ""},
		{name: "on a cancelled commitment", c: history(t, made(), cancellation()), cmd: order("2021-03-31"), wantErr: ErrInvalidState, field: ""},
	})
}

// TestDecide_InputBeforeState: a command that breaks a rule of its input
// and a rule of the state is refused for its input, and says which field.
func TestDecide_InputBeforeState(t *testing.T) {
	waived := history(t, made(), waiver())
	for _, tt := range []struct {
		cmd   Command
		field string
	}{
		{RecordFulfillment{Quantity: qty("1", "mu"), FulfilledOn: "2021-01-11", Evidence: "合同"}, "fulfilled_on"},
		{ReverseFulfillment{FulfillmentID: "f1"}, "reason"},
		{Amend{Due: "2021-06-30", Reason: "规划调整"}, "approval"},
		{Waive{Reason: "企业放弃"}, "approval"},
		{Cancel{Approval: "批复"}, "reason"},
		{OrderSupervision{Deadline: "2020-01-01"}, "deadline"},
	} {
		_, _, err := tt.cmd.Decide(waived, today)
		t.Run(string(tt.cmd.Type()), func(t *testing.T) { refused(t, err, ErrValidation, tt.field) })
	}
}
