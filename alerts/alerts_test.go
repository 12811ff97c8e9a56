package alerts

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"promiseledger/events"
)

// step is one event of a commitment's history.
type step struct {
	typ  events.Type
	id   string
	on   string // effective date
	data any
}

// The commitment of every case: 100 mu promised on 2020-06-01, due
// 2021-03-31, id c1.
func made() step {
	return step{events.CommitmentMadeType, "c1", "2020-06-01", events.CommitmentMade{
		Department: "楚雄市自然资源局", Project: "项目", Investor: events.Investor{Name: "公司", CreditCode: "91350100M000100Y43"},
		Kind: events.Land, Description: "用地", Quantity: events.Quantity{Value: events.MustDecimal("100"), Unit: events.Mu},
		MadeOn: events.MustDate("2020-06-01"), Due: events.MustDate("2021-03-31"),
	}}
}

func delivered(mu, on string) step {
	return step{events.FulfillmentRecordedType, "f-" + on, on, events.FulfillmentRecorded{
		Quantity: events.Quantity{Value: events.MustDecimal(mu), Unit: events.Mu}, FulfilledOn: events.MustDate(on), Evidence: "合同"}}
}

func waived() step {
	return step{events.CommitmentWaivedType, "w1", "2021-01-01", events.CommitmentWaived{Reason: "放弃", Approval: "批复"}}
}

func voided() step {
	return step{events.CommitmentVoidedType, "v1", "2021-01-01", events.CommitmentVoided{Reason: "重复录入", Approval: "批复"}}
}

func cancelled() step {
	return step{events.CommitmentCancelledType, "x1", "2021-01-01", events.CommitmentCancelled{Reason: "取消", Approval: "批复"}}
}

func extended(to string) step {
	d := events.MustDate(to)
	return step{events.CommitmentAmendedType, "a1", "2021-01-01", events.CommitmentAmended{Due: &d, Reason: "延期", Approval: "批复"}}
}

// ordered is supervision order o1 with a deadline.
func ordered(deadline string) step {
	return step{events.SupervisionOrderedType, "o1", "2021-01-01", events.SupervisionOrdered{Deadline: events.MustDate(deadline)}}
}

// disputed is dispute d1, opened on 2021-01-01.
func disputed() step {
	return step{events.DisputeOpenedType, "d1", "2021-01-01", events.DisputeOpened{Complainant: events.Complainant{Name: "企业"}, Summary: "未供地"}}
}

func resolved() step {
	return step{events.DisputeResolvedType, "r1", "2021-01-20", events.DisputeResolved{DisputeID: "d1", Outcome: events.Upheld}}
}

func commitment(t *testing.T, steps ...step) *events.Commitment {
	t.Helper()
	evs := make([]events.Event, len(steps))
	for i, s := range steps {
		b, err := json.Marshal(s.data)
		if err != nil {
			t.Fatal(err)
		}
		evs[i] = events.Event{ID: s.id, Type: s.typ, Schema: s.typ.Schema(), CommitmentID: "c1", County: "532301",
			EffectiveOn: events.MustDate(s.on), Sequence: uint64(i + 1), Data: b}
	}
	c, err := events.Fold(evs)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// keys are the keys of the conditions, in the order conditions gives them.
func keys(cs []condition) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.key)
	}
	return out
}

// The keys of commitment c1's alerts.
const (
	dueSoon       = "due_soon-c1-20210331"
	overdue       = "overdue-c1-20210331"
	escalated     = "escalated-c1-due20210331"
	escalatedByO1 = "escalated-c1-ordero1"
	staleD1       = "dispute_stale-c1-d1"
)

// TestConditions is every rule on the days around each of its thresholds,
// with the default thresholds (30 days due soon, escalated after 90 days
// overdue, a dispute stale after 30 days) and with others.
func TestConditions(t *testing.T) {
	custom := Config{DueSoonDays: 7, EscalateDays: 10, DisputeStaleDays: 3}
	tests := []struct {
		name  string
		steps []step
		cfg   Config
		today string
		want  []string // keys, in order
	}{
		// due_soon: due within 30 days (due 2021-03-31).
		{"a year before due", []step{made()}, DefaultConfig, "2020-03-31", nil},
		{"31 days before due", []step{made()}, DefaultConfig, "2021-02-28", nil},
		{"30 days before due", []step{made()}, DefaultConfig, "2021-03-01", []string{dueSoon}},
		{"29 days before due", []step{made()}, DefaultConfig, "2021-03-02", []string{dueSoon}},
		{"the day before due", []step{made()}, DefaultConfig, "2021-03-30", []string{dueSoon}},
		{"due today", []step{made()}, DefaultConfig, "2021-03-31", []string{dueSoon}},
		// overdue: the day after the due date.
		{"a day overdue", []step{made()}, DefaultConfig, "2021-04-01", []string{overdue}},
		// escalated: overdue more than 90 days.
		{"89 days overdue", []step{made()}, DefaultConfig, "2021-06-28", []string{overdue}},
		{"90 days overdue", []step{made()}, DefaultConfig, "2021-06-29", []string{overdue}},
		{"91 days overdue", []step{made()}, DefaultConfig, "2021-06-30", []string{overdue, escalated}},
		{"years overdue", []step{made()}, DefaultConfig, "2025-01-01", []string{overdue, escalated}},

		// Partly fulfilled is still owed.
		{"partly fulfilled, due today", []step{made(), delivered("40", "2021-01-05")}, DefaultConfig, "2021-03-31", []string{dueSoon}},
		{"partly fulfilled, a day overdue", []step{made(), delivered("40", "2021-01-05")}, DefaultConfig, "2021-04-01", []string{overdue}},
		{"partly fulfilled, 91 days overdue", []step{made(), delivered("40", "2021-01-05")}, DefaultConfig, "2021-06-30", []string{overdue, escalated}},
		{"fulfilled then reversed", []step{made(), delivered("100", "2021-01-05"), {events.FulfillmentReversedType, "rv", "2021-01-06", events.FulfillmentReversed{FulfillmentID: "f-2021-01-05", Reason: "错"}}}, DefaultConfig, "2021-04-01", []string{overdue}},

		// Fulfilled, waived or cancelled: nothing, on every threshold day.
		{"fulfilled, due today", []step{made(), delivered("100", "2021-01-05")}, DefaultConfig, "2021-03-31", nil},
		{"fulfilled late, a day overdue", []step{made(), delivered("100", "2021-04-01")}, DefaultConfig, "2021-04-01", nil},
		{"fulfilled, 91 days after due", []step{made(), delivered("100", "2021-01-05")}, DefaultConfig, "2021-06-30", nil},
		{"waived, due today", []step{made(), waived()}, DefaultConfig, "2021-03-31", nil},
		{"waived, 91 days after due", []step{made(), waived()}, DefaultConfig, "2021-06-30", nil},
		{"cancelled, due today", []step{made(), cancelled()}, DefaultConfig, "2021-03-31", nil},
		{"cancelled, 91 days after due", []step{made(), cancelled()}, DefaultConfig, "2021-06-30", nil},

		// An extension moves every threshold, and the keys name the new date.
		{"extended, on the old due date", []step{made(), extended("2021-09-30")}, DefaultConfig, "2021-03-31", nil},
		{"extended, 30 days before the new date", []step{made(), extended("2021-09-30")}, DefaultConfig, "2021-08-31", []string{"due_soon-c1-20210930"}},
		{"extended, a day after the new date", []step{made(), extended("2021-09-30")}, DefaultConfig, "2021-10-01", []string{"overdue-c1-20210930"}},

		// A supervision order escalates the day after its deadline, if still owed.
		{"the day before an order's deadline", []step{made(), ordered("2021-02-15")}, DefaultConfig, "2021-02-14", nil},
		{"on an order's deadline", []step{made(), ordered("2021-02-15")}, DefaultConfig, "2021-02-15", nil},
		{"the day after an order's deadline", []step{made(), ordered("2021-02-15")}, DefaultConfig, "2021-02-16", []string{escalatedByO1}},
		{"an order's deadline passed, due soon", []step{made(), ordered("2021-02-15")}, DefaultConfig, "2021-03-31", []string{dueSoon, escalatedByO1}},
		{"an order's deadline passed, 91 days overdue", []step{made(), ordered("2021-02-15")}, DefaultConfig, "2021-06-30", []string{overdue, escalated, escalatedByO1}},
		{"an order's deadline passed, partly fulfilled", []step{made(), ordered("2021-02-15"), delivered("1", "2021-02-16")}, DefaultConfig, "2021-02-16", []string{escalatedByO1}},
		{"an order's deadline passed, fulfilled", []step{made(), ordered("2021-02-15"), delivered("100", "2021-02-16")}, DefaultConfig, "2021-02-16", nil},
		{"an order's deadline passed, waived", []step{made(), ordered("2021-02-15"), waived()}, DefaultConfig, "2021-02-16", nil},
		{"an order's deadline passed, cancelled", []step{made(), ordered("2021-02-15"), cancelled()}, DefaultConfig, "2021-02-16", nil},

		// dispute_stale: open more than 30 days (opened 2021-01-01).
		{"a dispute open 29 days", []step{made(), disputed()}, DefaultConfig, "2021-01-30", nil},
		{"a dispute open 30 days", []step{made(), disputed()}, DefaultConfig, "2021-01-31", nil},
		{"a dispute open 31 days", []step{made(), disputed()}, DefaultConfig, "2021-02-01", []string{staleD1}},
		{"a resolved dispute, 31 days on", []step{made(), disputed(), resolved()}, DefaultConfig, "2021-02-01", nil},
		{"a dispute of a fulfilled commitment, 31 days on", []step{made(), delivered("100", "2020-12-01"), disputed()}, DefaultConfig, "2021-02-01", []string{staleD1}},
		{"a dispute of a waived commitment, 31 days on", []step{made(), disputed(), waived()}, DefaultConfig, "2021-02-01", []string{staleD1}},
		{"a dispute of a cancelled commitment, 31 days on", []step{made(), disputed(), cancelled()}, DefaultConfig, "2021-02-01", []string{staleD1}},
		{"a stale dispute, 91 days overdue", []step{made(), disputed()}, DefaultConfig, "2021-06-30", []string{overdue, escalated, staleD1}},

		// Other thresholds: 7 days due soon, escalated after 10, stale after 3.
		{"custom: 8 days before due", []step{made()}, custom, "2021-03-23", nil},
		{"custom: 7 days before due", []step{made()}, custom, "2021-03-24", []string{dueSoon}},
		{"custom: 10 days overdue", []step{made()}, custom, "2021-04-10", []string{overdue}},
		{"custom: 11 days overdue", []step{made()}, custom, "2021-04-11", []string{overdue, escalated}},
		{"custom: a dispute open 3 days", []step{made(), disputed()}, custom, "2021-01-04", nil},
		{"custom: a dispute open 4 days", []step{made(), disputed()}, custom, "2021-01-05", []string{staleD1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := commitment(t, tt.steps...)
			// Orders here are never signed for: order_unacknowledged, which
			// TestConditions_OrderUnacknowledged covers, is left aside.
			got := slices.DeleteFunc(conditions(c, events.MustDate(tt.today), tt.cfg), func(x condition) bool { return x.rule == OrderUnacknowledged })
			want := tt.want
			if want == nil {
				want = []string{}
			}
			if !slices.Equal(keys(got), want) {
				t.Fatalf("on %s: %v, want %v", tt.today, keys(got), want)
			}
			for _, cond := range got {
				rule, _, _ := strings.Cut(cond.key, "-")
				if string(cond.rule) != rule {
					t.Errorf("%s: rule %s", cond.key, cond.rule)
				}
				switch {
				case cond.key == escalatedByO1:
					if cond.orderID != "o1" || cond.deadline == nil || cond.deadline.String() != "2021-02-15" || cond.disputeID != "" {
						t.Errorf("%s: order %q deadline %v dispute %q", cond.key, cond.orderID, cond.deadline, cond.disputeID)
					}
				case cond.key == staleD1:
					if cond.disputeID != "d1" || cond.orderID != "" || cond.deadline != nil {
						t.Errorf("%s: dispute %q order %q", cond.key, cond.disputeID, cond.orderID)
					}
				default:
					if cond.orderID != "" || cond.disputeID != "" || cond.deadline != nil {
						t.Errorf("%s: order %q dispute %q deadline %v", cond.key, cond.orderID, cond.disputeID, cond.deadline)
					}
				}
			}
		})
	}
}

// TestConditions_DayByDay walks an unfulfilled promise from 60 days before
// its due date to 120 days after, and checks on which days each rule holds.
func TestConditions_DayByDay(t *testing.T) {
	c := commitment(t, made())
	want := []struct {
		key      string
		from, to string // the first and last day the rule holds ("" : still holds on the last day walked)
	}{
		{dueSoon, "2021-03-01", "2021-03-31"},
		{overdue, "2021-04-01", ""},
		{escalated, "2021-06-30", ""},
	}
	first, last := events.MustDate("2021-01-30"), events.MustDate("2021-07-29")
	for day := first; !day.After(last); day = day.AddDays(1) {
		got := keys(conditions(c, day, DefaultConfig))
		for _, w := range want {
			holds := !day.Before(events.MustDate(w.from)) && (w.to == "" || !day.After(events.MustDate(w.to)))
			if slices.Contains(got, w.key) != holds {
				t.Errorf("%s on %s: holds %v, want %v", w.key, day, !holds, holds)
			}
		}
		if len(got) > 2 {
			t.Errorf("on %s: %v", day, got)
		}
	}
}

// TestReason is why an open alert is resolved.
func TestReason(t *testing.T) {
	due := events.MustDate("2021-03-31")
	tests := []struct {
		name  string
		alert Alert
		steps []step
		want  string
	}{
		{"overdue, then fulfilled", Alert{Rule: Overdue, Due: due}, []step{made(), delivered("100", "2021-04-02")}, "fulfilled"},
		{"overdue, then waived", Alert{Rule: Overdue, Due: due}, []step{made(), waived()}, "waived"},
		{"overdue, then cancelled", Alert{Rule: Overdue, Due: due}, []step{made(), cancelled()}, "cancelled"},
		{"overdue, then extended", Alert{Rule: Overdue, Due: due}, []step{made(), extended("2021-09-30")}, "due date changed to 2021-09-30"},
		{"due soon, then overdue", Alert{Rule: DueSoon, Due: due}, []step{made()}, "now overdue"},
		{"stale dispute, resolved", Alert{Rule: DisputeStale, Due: due, DisputeID: "d1"}, []step{made(), disputed(), resolved()}, "dispute resolved"},
		// dispute_stale holds in every state, so the commitment's state is
		// never why it stops holding.
		{"stale dispute of a fulfilled commitment, resolved", Alert{Rule: DisputeStale, Due: due, DisputeID: "d1"}, []step{made(), delivered("100", "2020-12-01"), disputed(), resolved()}, "dispute resolved"},
		{"stale dispute of a waived commitment, resolved", Alert{Rule: DisputeStale, Due: due, DisputeID: "d1"}, []step{made(), disputed(), waived(), resolved()}, "dispute resolved"},
		{"stale dispute of a cancelled commitment, resolved", Alert{Rule: DisputeStale, Due: due, DisputeID: "d1"}, []step{made(), disputed(), cancelled(), resolved()}, "dispute resolved"},
		{"overdue, then voided", Alert{Rule: Overdue, Due: due}, []step{made(), voided()}, "void: the entry was made in error"},
		{"stale dispute of a voided entry", Alert{Rule: DisputeStale, Due: due, DisputeID: "d1"}, []step{made(), disputed(), voided()}, "void: the entry was made in error"},
		{"escalated by an order, then extended", Alert{Rule: Escalated, Due: due, OrderID: "o1"}, []step{made(), ordered("2021-02-15"), extended("2021-09-30")}, "no longer holds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reason(tt.alert, commitment(t, tt.steps...)); got != tt.want {
				t.Errorf("reason %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRule_Audience states who gets each rule's alerts.
func TestRule_Audience(t *testing.T) {
	tests := []struct {
		rule      Rule
		audience  []string
		forCounty bool
	}{
		{DueSoon, []string{"county"}, true},
		{Overdue, []string{"county", "supervisors"}, true},
		{Escalated, []string{"supervisors"}, false},
		{DisputeStale, []string{"supervisors"}, false},
		{OrderUnacknowledged, []string{"county", "supervisors"}, true},
	}
	if len(tests) != len(Rules) {
		t.Fatalf("Rules is %v: state the audience of every rule here", Rules)
	}
	for i, tt := range tests {
		if Rules[i] != tt.rule {
			t.Errorf("Rules[%d] = %s, want %s", i, Rules[i], tt.rule)
		}
		if got := tt.rule.Audience(); !slices.Equal(got, tt.audience) {
			t.Errorf("%s: audience %v, want %v", tt.rule, got, tt.audience)
		}
		if got := tt.rule.ForCounty(); got != tt.forCounty {
			t.Errorf("%s: for county %v, want %v", tt.rule, got, tt.forCounty)
		}
		if !tt.rule.Valid() {
			t.Errorf("%s is not valid", tt.rule)
		}
	}
	for _, bad := range []Rule{"", "overdue ", "Overdue", "stale"} {
		if bad.Valid() {
			t.Errorf("%q is valid", bad)
		}
	}
	for _, s := range States {
		if !s.Valid() {
			t.Errorf("state %s is not valid", s)
		}
	}
	if State("open").Valid() || State("").Valid() {
		t.Error("open or empty is a state of an alert message")
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		cfg  Config
		want []string // what the error names; nil when valid
	}{
		{DefaultConfig, nil},
		{Config{1, 1, 1, 1}, nil},
		{Config{365, 3650, 3650, 365}, nil},
		{Config{0, 90, 30, 3}, []string{"due-soon days 0"}},
		{Config{366, 90, 30, 3}, []string{"due-soon days 366"}},
		{Config{30, 0, 30, 3}, []string{"escalate days 0"}},
		{Config{30, 3651, 30, 3}, []string{"escalate days 3651"}},
		{Config{30, 90, 0, 3}, []string{"dispute-stale days 0"}},
		{Config{30, 90, 3651, 3}, []string{"dispute-stale days 3651"}},
		{Config{30, 90, 30, 0}, []string{"ack days 0"}},
		{Config{30, 90, 30, 366}, []string{"ack days 366"}},
		{Config{-1, -1, -1, -1}, []string{"due-soon days -1", "escalate days -1", "dispute-stale days -1", "ack days -1"}},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (err == nil) != (tt.want == nil) {
			t.Errorf("%+v: %v", tt.cfg, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %v does not name %q", tt.cfg, err, w)
			}
		}
	}
}

func TestParseWebhook_Rules(t *testing.T) {
	w, err := ParseWebhook("https://hook.example/a?token=x county=532301,532322 rule=overdue,escalated")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(w.Rules, []Rule{Overdue, Escalated}) || !slices.Equal(w.Counties, []string{"532301", "532322"}) {
		t.Errorf("parsed %+v", w)
	}
	_, err = ParseWebhook("https://hook.example/a rule=late")
	if err == nil || !strings.HasSuffix(err.Error(), `rule "late": must be one of due_soon, overdue, escalated, dispute_stale, order_unacknowledged`) {
		t.Errorf("unknown rule: %v", err)
	}
}

// An entry made in error raises nothing, whatever holds of it.
func TestConditions_VoidRaisesNothing(t *testing.T) {
	c := commitment(t, made(), disputed(), ordered("2021-02-15"), voided())
	if got := conditions(c, events.MustDate("2023-01-01"), DefaultConfig); len(got) != 0 {
		t.Fatalf("a void entry raises %v", got)
	}
	if got := conditions(commitment(t, made(), disputed(), ordered("2021-02-15")), events.MustDate("2023-01-01"), DefaultConfig); len(got) == 0 {
		t.Fatal("the same entry, not void, raises nothing: the test proves nothing")
	}
}

// An order not signed for within AckDays of its issue raises
// order_unacknowledged, from the day after; signing for it ends it.
func TestConditions_OrderUnacknowledged(t *testing.T) {
	cfg := DefaultConfig                                   // AckDays 3
	issued := commitment(t, made(), ordered("2021-02-15")) // issued on its effective date, 2021-01-01
	keys := func(c *events.Commitment, today string) []string {
		var out []string
		for _, x := range conditions(c, events.MustDate(today), cfg) {
			if x.rule == OrderUnacknowledged {
				out = append(out, x.key)
			}
		}
		return out
	}
	if got := keys(issued, "2021-01-04"); len(got) != 0 {
		t.Fatalf("on day 3: %v", got)
	}
	if got := keys(issued, "2021-01-05"); len(got) != 1 || got[0] != Key(OrderUnacknowledged, issued.ID, "order"+issued.SupervisionOrders[0].ID) {
		t.Fatalf("on day 4: %v", got)
	}
	signed := commitment(t, made(), ordered("2021-02-15"), step{events.OrderAcknowledgedType, "a1", "2021-01-02", events.OrderSignedFor{OrderStep: events.OrderStep{OrderID: issued.SupervisionOrders[0].ID}}})
	if got := keys(signed, "2021-01-10"); len(got) != 0 {
		t.Fatalf("signed for: %v", got)
	}
}

// A closed order (销号) escalates nothing, whatever its deadline.
func TestConditions_ClosedOrderEscalatesNothing(t *testing.T) {
	o := "o1"
	closed := commitment(t, made(), ordered("2021-02-15"),
		step{events.OrderAcknowledgedType, "a1", "2021-01-02", events.OrderSignedFor{OrderStep: events.OrderStep{OrderID: o}}},
		step{events.OrderClosureRequestedType, "q1", "2021-01-03", events.OrderClosureAsked{OrderStep: events.OrderStep{OrderID: o, Evidence: "凭证"}}},
		step{events.OrderClosedType, "z1", "2021-01-04", events.OrderClosedData{OrderID: o, Outcome: events.OrderClosed}})
	for _, x := range conditions(closed, events.MustDate("2021-02-16"), DefaultConfig) {
		if x.orderID != "" {
			t.Fatalf("a closed order raises %s", x.key)
		}
	}
	if got := conditions(commitment(t, made(), ordered("2021-02-15")), events.MustDate("2021-02-16"), DefaultConfig); len(got) == 0 {
		t.Fatal("an open order past its deadline raises nothing: the test proves nothing")
	}
}
