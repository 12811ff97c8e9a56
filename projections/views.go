package projections

import (
	"math/big"
	"sort"
	"time"

	"promiseledger/events"
)

// CommitmentView is the commitment as the HTTP contract shows it.
type CommitmentView struct {
	ID                string            `json:"id"`
	County            string            `json:"county"`
	CountyName        string            `json:"county_name"`
	Department        string            `json:"department"`
	Project           string            `json:"project"`
	Investor          events.Investor   `json:"investor"`
	Kind              events.Kind       `json:"kind"`
	Description       string            `json:"description"`
	Reference         string            `json:"reference"`
	MadeOn            events.Date       `json:"made_on"`
	Due               events.Date       `json:"due"`
	OriginalDue       events.Date       `json:"original_due"`
	Extensions        []ExtensionView   `json:"extensions"`
	Quantity          events.Quantity   `json:"quantity"`
	Fulfilled         events.Quantity   `json:"fulfilled"`
	Outstanding       events.Quantity   `json:"outstanding"`
	Status            events.Status     `json:"status"`
	Overdue           bool              `json:"overdue"`
	DaysOverdue       int               `json:"days_overdue"`
	Disputed          bool              `json:"disputed"`
	Light             events.Light      `json:"light"`
	Disputes          []DisputeView     `json:"disputes"`
	SupervisionOrders []OrderView       `json:"supervision_orders"`
	ExtensionRequests []RequestView     `json:"extension_requests"`
	Fulfillments      []FulfillmentView `json:"fulfillments"`
	Version           int               `json:"version"`
	RecordedAt        time.Time         `json:"recorded_at"`
	UpdatedAt         time.Time         `json:"updated_at"`
}

// DisputeView is one dispute of a commitment.
type DisputeView struct {
	ID          string `json:"id"`
	Complainant string `json:"complainant"`
	// ComplainantCreditCode is the complaining enterprise's credit code, when the complaint named one.
	ComplainantCreditCode string         `json:"complainant_credit_code,omitempty"`
	Summary               string         `json:"summary"`
	OpenedOn              events.Date    `json:"opened_on"`
	State                 events.Outcome `json:"state"`
	Note                  string         `json:"note,omitempty"`
}

// OrderView is one supervision order (督办) of a commitment.
type OrderView struct {
	ID       string            `json:"id"`
	Deadline events.Date       `json:"deadline"`
	Note     string            `json:"note"`
	IssuedOn events.Date       `json:"issued_on"`
	State    events.OrderState `json:"state"`
	Trail    []OrderStepView   `json:"trail"`
}

// OrderStepView is one step of an order's loop: signed for, reported on,
// closure asked, closed or sent back.
type OrderStepView struct {
	Type       events.Type `json:"type"`
	On         events.Date `json:"on"`
	RecordedAt time.Time   `json:"recorded_at"`
	Actor      string      `json:"actor"`
	Note       string      `json:"note,omitempty"`
	Evidence   string      `json:"evidence,omitempty"`
}

// RequestView is a county's request for a later due date.
type RequestView struct {
	ID          string              `json:"id"`
	Due         events.Date         `json:"due"`
	Reason      string              `json:"reason"`
	RequestedOn events.Date         `json:"requested_on"`
	State       events.RequestState `json:"state"`
	DecidedOn   *events.Date        `json:"decided_on,omitempty"`
	Approval    string              `json:"approval,omitempty"`
}

// ExtensionView is one change of the due date, and how late the promise
// was when it was made.
type ExtensionView struct {
	From        events.Date `json:"from"`
	To          events.Date `json:"to"`
	EffectiveOn events.Date `json:"effective_on"`
	RecordedAt  time.Time   `json:"recorded_at"`
	DaysOverdue int         `json:"days_overdue"`
}

// FulfillmentView is one recorded fulfilment; its id is what a reversal names.
type FulfillmentView struct {
	ID          string          `json:"id"`
	Quantity    events.Quantity `json:"quantity"`
	FulfilledOn events.Date     `json:"fulfilled_on"`
	Evidence    string          `json:"evidence"`
	Reversed    bool            `json:"reversed"`
}

// ViewOf renders a commitment as the contract shows it on date today.
func ViewOf(c *events.Commitment, j *events.Jurisdiction, today events.Date) CommitmentView {
	county, _ := j.County(c.County)
	days := c.DaysOverdue(today)
	v := CommitmentView{
		ID: c.ID, County: c.County, CountyName: county.Name, Department: c.Department,
		Project: c.Project, Investor: c.Investor, Kind: c.Kind, Description: c.Description,
		Reference: c.Reference, MadeOn: c.MadeOn, Due: c.Due, OriginalDue: c.OriginalDue, Quantity: c.Quantity,
		Extensions:  make([]ExtensionView, 0, len(c.Extensions)),
		Fulfilled:   events.Quantity{Value: c.Fulfilled, Unit: c.Quantity.Unit},
		Outstanding: c.Outstanding(), Status: c.Status(),
		Overdue: days > 0, DaysOverdue: days, Disputed: c.Disputed(), Light: c.Light(today, j.DueSoonDays, j.AckDays),
		ExtensionRequests: make([]RequestView, 0, len(c.ExtensionRequests)),
		Disputes:          make([]DisputeView, 0, len(c.Disputes)),
		SupervisionOrders: make([]OrderView, 0, len(c.SupervisionOrders)),
		Fulfillments:      make([]FulfillmentView, 0, len(c.Fulfillments)),
		Version:           c.Version, RecordedAt: c.RecordedAt, UpdatedAt: c.UpdatedAt,
	}
	for _, x := range c.Extensions {
		v.Extensions = append(v.Extensions, ExtensionView{From: x.From, To: x.To, EffectiveOn: x.EffectiveOn, RecordedAt: x.RecordedAt, DaysOverdue: x.DaysOverdue})
	}
	for _, d := range c.Disputes {
		v.Disputes = append(v.Disputes, DisputeView{ID: d.ID, Complainant: d.Complainant, ComplainantCreditCode: d.CreditCode, Summary: d.Summary, OpenedOn: d.OpenedOn, State: d.State, Note: d.Note})
	}
	for _, o := range c.SupervisionOrders {
		ov := OrderView{ID: o.ID, Deadline: o.Deadline, Note: o.Note, IssuedOn: o.IssuedOn, State: o.State, Trail: make([]OrderStepView, 0, len(o.Trail))}
		for _, st := range o.Trail {
			ov.Trail = append(ov.Trail, OrderStepView{Type: st.Type, On: st.On, RecordedAt: st.RecordedAt, Actor: st.Actor, Note: st.Note, Evidence: st.Evidence})
		}
		v.SupervisionOrders = append(v.SupervisionOrders, ov)
	}
	for _, r := range c.ExtensionRequests {
		rv := RequestView{ID: r.ID, Due: r.Due, Reason: r.Reason, RequestedOn: r.RequestedOn, State: r.State, Approval: r.Approval}
		if !r.DecidedOn.IsZero() {
			d := r.DecidedOn
			rv.DecidedOn = &d
		}
		v.ExtensionRequests = append(v.ExtensionRequests, rv)
	}
	for _, f := range c.Fulfillments {
		v.Fulfillments = append(v.Fulfillments, FulfillmentView{ID: f.ID, Quantity: events.Quantity{Value: f.Quantity, Unit: c.Quantity.Unit}, FulfilledOn: f.FulfilledOn, Evidence: f.Evidence, Reversed: f.Reversed})
	}
	return v
}

// CountySummary is one county in the supervision view.
type CountySummary struct {
	Code string `json:"code"`
	Name string `json:"name"`
	Tally
}

// CountyDetail is one county with its breakdowns.
type CountyDetail struct {
	CountySummary
	ByKind       []KindTally       `json:"by_kind"`
	ByDepartment []DepartmentTally `json:"by_department"`
	Aging        []AgingBucket     `json:"aging"`
}

// KindTally is the tally of one kind of promise.
type KindTally struct {
	Kind events.Kind `json:"kind"`
	Tally
}

// DepartmentTally is the tally of one responsible department.
type DepartmentTally struct {
	Department string `json:"department"`
	Tally
}

// Tally is the supervision arithmetic of a set of commitments.
type Tally struct {
	Commitments        int               `json:"commitments"`
	Open               int               `json:"open"` // open and partially fulfilled
	Fulfilled          int               `json:"fulfilled"`
	Waived             int               `json:"waived"`
	Cancelled          int               `json:"cancelled"`
	Void               int               `json:"void"` // entries made in error: in no other count, sum or rate
	Red                int               `json:"red"`  // traffic lights: see events.Commitment.Light
	Yellow             int               `json:"yellow"`
	Green              int               `json:"green"`
	Overdue            int               `json:"overdue"`
	Disputed           int               `json:"disputed"`
	Outstanding        []events.Quantity `json:"outstanding"`
	OverdueOutstanding []events.Quantity `json:"overdue_outstanding"`
	KeptOnTimeRate     *string           `json:"kept_on_time_rate"`
	// ExtendedAfterOverdue counts the promises whose due date was moved while
	// they were already late; KeptOnOriginalDueRate (按原承诺期限兑现率) is
	// the kept-on-time rate against the due dates first promised.
	ExtendedAfterOverdue  int     `json:"extended_after_overdue"`
	KeptOnOriginalDueRate *string `json:"kept_on_original_due_rate"`
}

// tallier accumulates a Tally.
type tallier struct {
	Tally
	j                               *events.Jurisdiction // its supervision thresholds judge the lights
	outstanding, overdueOutstanding map[events.Unit]events.Decimal
	due, kept                       int64
	originallyDue, keptOriginal     int64
}

func newTallier(j *events.Jurisdiction) *tallier {
	return &tallier{j: j, outstanding: map[events.Unit]events.Decimal{}, overdueOutstanding: map[events.Unit]events.Decimal{}}
}

func (t *tallier) add(c *events.Commitment, today events.Date) { t.apply(c, today, 1) }

// apply adds the commitment to the tally (sign 1) or takes it out (-1), as
// it stands, judged on today.
func (t *tallier) apply(c *events.Commitment, today events.Date, sign int) {
	sum := func(m map[events.Unit]events.Decimal, q events.Quantity) {
		if sign > 0 {
			m[q.Unit] = m[q.Unit].Add(q.Value)
		} else {
			m[q.Unit] = m[q.Unit].Sub(q.Value)
		}
	}
	if c.Status() == events.Void {
		t.Void += sign
		return
	}
	t.Commitments += sign
	switch c.Light(today, t.j.DueSoonDays, t.j.AckDays) {
	case events.Red:
		t.Red += sign
	case events.Yellow:
		t.Yellow += sign
	case events.Green:
		t.Green += sign
	}
	switch s := c.Status(); s {
	case events.Open, events.PartiallyFulfilled:
		t.Open += sign
	case events.Fulfilled:
		t.Fulfilled += sign
	case events.Waived:
		t.Waived += sign
	case events.Cancelled:
		t.Cancelled += sign
	}
	if c.Disputed() {
		t.Disputed += sign
	}
	out := c.Outstanding()
	if out.Value.Sign() > 0 {
		sum(t.outstanding, out)
	}
	if c.DaysOverdue(today) > 0 {
		t.Overdue += sign
		sum(t.overdueOutstanding, out)
	}
	if today.After(c.Due) && !c.Status().Terminal() {
		t.due += int64(sign)
		if c.KeptOnTime() {
			t.kept += int64(sign)
		}
	}
	if today.After(c.OriginalDue) && !c.Status().Terminal() {
		t.originallyDue += int64(sign)
		if c.KeptOnOriginalDue() {
			t.keptOriginal += int64(sign)
		}
	}
	if c.ExtendedAfterOverdue() {
		t.ExtendedAfterOverdue += sign
	}
}

// merge adds another tally of the same day to t.
func (t *tallier) merge(o *tallier) {
	a, b := &t.Tally, o.Tally
	a.Commitments += b.Commitments
	a.Open += b.Open
	a.Fulfilled += b.Fulfilled
	a.Waived += b.Waived
	a.Cancelled += b.Cancelled
	a.Void += b.Void
	a.Red += b.Red
	a.Yellow += b.Yellow
	a.Green += b.Green
	a.Overdue += b.Overdue
	a.Disputed += b.Disputed
	a.ExtendedAfterOverdue += b.ExtendedAfterOverdue
	for u, v := range o.outstanding {
		t.outstanding[u] = t.outstanding[u].Add(v)
	}
	for u, v := range o.overdueOutstanding {
		t.overdueOutstanding[u] = t.overdueOutstanding[u].Add(v)
	}
	t.due += o.due
	t.kept += o.kept
	t.originallyDue += o.originallyDue
	t.keptOriginal += o.keptOriginal
}

func (t *tallier) result() Tally {
	s := t.Tally
	s.Outstanding, s.OverdueOutstanding = perUnit(t.outstanding), perUnit(t.overdueOutstanding)
	if t.due > 0 {
		r := big.NewRat(t.kept, t.due).FloatString(4)
		s.KeptOnTimeRate = &r
	}
	if t.originallyDue > 0 {
		r := big.NewRat(t.keptOriginal, t.originallyDue).FloatString(4)
		s.KeptOnOriginalDueRate = &r
	}
	return s
}

// perUnit lists the non-zero amounts in the order of events.Units.
func perUnit(m map[events.Unit]events.Decimal) []events.Quantity {
	out := []events.Quantity{}
	for _, u := range events.Units {
		if v, ok := m[u]; ok && v.Sign() > 0 {
			out = append(out, events.Quantity{Value: v, Unit: u})
		}
	}
	return out
}

// Counties summarises every county of the jurisdiction, in code order, with
// overdue judged on today. It costs the number of counties: the tallies are
// kept as events apply (see tallies).
func (p *Projection) Counties(j *events.Jurisdiction, today events.Date) []CountySummary {
	out := make([]CountySummary, 0, len(j.Counties))
	p.tallied(j, today, func(of func(code string) *countyTallies) {
		for _, c := range j.Counties {
			t := newTallier(j)
			if ct := of(c.Code); ct != nil {
				t = ct.all
			}
			out = append(out, CountySummary{Code: c.Code, Name: c.Name, Tally: t.result()})
		}
	})
	return out
}

// Total is the tally of every commitment of the jurisdiction's counties:
// the prefecture's line under the county table.
func (p *Projection) Total(j *events.Jurisdiction, today events.Date) Tally {
	t := newTallier(j)
	p.tallied(j, today, func(of func(code string) *countyTallies) {
		for _, c := range j.Counties {
			if ct := of(c.Code); ct != nil {
				t.merge(ct.all)
			}
		}
	})
	return t.result()
}

// tallies are the county tallies of one day — each county's figures, by
// kind, by department, and its aging — kept as events apply: a fold takes
// the commitment out of its county's tallies as it was and puts it back as
// it is. They are made afresh (one pass over every commitment) when a later
// day is asked for, or other thresholds; an earlier day is tallied afresh
// without keeping it.
type tallies struct {
	day      events.Date
	dueSoon  int
	ack      int
	byCounty map[string]*countyTallies
	j        *events.Jurisdiction
}

// countyTallies are one county's kept figures.
type countyTallies struct {
	all   *tallier
	kinds map[events.Kind]*tallier
	depts map[string]*tallier
	aging *ager
}

// tallied calls fn with each county's tallies on today, under the
// projection's read lock (nil for a county without commitments).
func (p *Projection) tallied(j *events.Jurisdiction, today events.Date, fn func(of func(code string) *countyTallies)) {
	of := func(ts *tallies) func(string) *countyTallies {
		return func(code string) *countyTallies { return ts.byCounty[code] }
	}
	p.mu.RLock()
	if ts := p.tallies; ts != nil && ts.day == today && ts.dueSoon == j.DueSoonDays && ts.ack == j.AckDays {
		defer p.mu.RUnlock()
		fn(of(ts))
		return
	}
	p.mu.RUnlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	ts := p.tallies
	if ts == nil || ts.day != today || ts.dueSoon != j.DueSoonDays || ts.ack != j.AckDays {
		ts = &tallies{day: today, dueSoon: j.DueSoonDays, ack: j.AckDays, byCounty: map[string]*countyTallies{}, j: j}
		for _, id := range p.ids {
			ts.add(p.commitments[id], 1)
		}
		if p.tallies == nil || !today.Before(p.tallies.day) {
			p.tallies = ts
		}
	}
	fn(of(ts))
}

// add puts a commitment into (sign 1) or takes it out of (-1) its county's
// tallies.
func (ts *tallies) add(c *events.Commitment, sign int) {
	ct, ok := ts.byCounty[c.County]
	if !ok {
		ct = &countyTallies{all: newTallier(ts.j), kinds: map[events.Kind]*tallier{}, depts: map[string]*tallier{}, aging: newAger()}
		ts.byCounty[c.County] = ct
	}
	ct.all.apply(c, ts.day, sign)
	ct.aging.apply(c, ts.day, sign)
	if ct.kinds[c.Kind] == nil {
		ct.kinds[c.Kind] = newTallier(ts.j)
	}
	ct.kinds[c.Kind].apply(c, ts.day, sign)
	if ct.depts[c.Department] == nil {
		ct.depts[c.Department] = newTallier(ts.j)
	}
	ct.depts[c.Department].apply(c, ts.day, sign)
}

// empty reports whether a tally counts nothing: a department whose
// promises all passed to another.
func (t *tallier) empty() bool { return t.Commitments == 0 && t.Void == 0 }

// County summarises one county with breakdowns by kind (in the order of
// events.Kinds) and by department (in name order).
func (p *Projection) County(j *events.Jurisdiction, county events.County, today events.Date) CountyDetail {
	d := CountyDetail{ByKind: []KindTally{}, ByDepartment: []DepartmentTally{}}
	p.tallied(j, today, func(of func(code string) *countyTallies) {
		ct := of(county.Code)
		if ct == nil {
			d.CountySummary = CountySummary{Code: county.Code, Name: county.Name, Tally: newTallier(j).result()}
			d.Aging = newAger().result()
			return
		}
		d.CountySummary = CountySummary{Code: county.Code, Name: county.Name, Tally: ct.all.result()}
		d.Aging = ct.aging.result()
		for _, k := range events.Kinds {
			if t, ok := ct.kinds[k]; ok && !t.empty() {
				d.ByKind = append(d.ByKind, KindTally{Kind: k, Tally: t.result()})
			}
		}
		names := make([]string, 0, len(ct.depts))
		for n, t := range ct.depts {
			if !t.empty() {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			d.ByDepartment = append(d.ByDepartment, DepartmentTally{Department: n, Tally: ct.depts[n].result()})
		}
	})
	return d
}

// OverdueCounty is one county's part of the overdue bulletin (通报).
type OverdueCounty struct {
	Code        string            `json:"code"`
	Name        string            `json:"name"`
	Commitments []CommitmentView  `json:"commitments"` // most days overdue first
	Outstanding []events.Quantity `json:"outstanding"`
}

// Overdue lists, per county in code order, the overdue commitments on today,
// the longest overdue first.
func (p *Projection) Overdue(j *events.Jurisdiction, today events.Date) []OverdueCounty {
	by := map[string][]*events.Commitment{}
	p.Each(func(c *events.Commitment) {
		if c.DaysOverdue(today) > 0 {
			by[c.County] = append(by[c.County], c)
		}
	})
	out := make([]OverdueCounty, 0, len(j.Counties))
	for _, county := range j.Counties {
		cs := by[county.Code]
		sort.SliceStable(cs, func(a, b int) bool { return cs[a].DaysOverdue(today) > cs[b].DaysOverdue(today) })
		oc := OverdueCounty{Code: county.Code, Name: county.Name, Commitments: make([]CommitmentView, 0, len(cs))}
		owed := map[events.Unit]events.Decimal{}
		for _, c := range cs {
			oc.Commitments = append(oc.Commitments, ViewOf(c, j, today))
			o := c.Outstanding()
			owed[o.Unit] = owed[o.Unit].Add(o.Value)
		}
		oc.Outstanding = perUnit(owed)
		out = append(out, oc)
	}
	return out
}
