package projections

import (
	"time"

	"promiseledger/events"
)

// MonthTally is one county's month against the last, by the dates of the
// facts: promises that became overdue (the day after their due date fell in
// the month, and they were not kept by it), and fulfilments recorded.
type MonthTally struct {
	Code, Name                   string
	BecameThis, BecameLast       int
	FulfilledThis, FulfilledLast int
}

// OpenOrder is a supervision order not yet closed.
type OpenOrder struct {
	County, Project, Department string // County is the county's name
	State                       events.OrderState
	Deadline, IssuedOn          events.Date
}

// Months counts, per county of the jurisdiction, this month (up to today)
// against the last; this and last name the months (2026-11).
func (p *Projection) Months(j *events.Jurisdiction, today events.Date) (this, last string, counties []MonthTally) {
	thisStart := events.MustDate(today.String()[:8] + "01")
	month := func(delta int) events.Date {
		t, _ := time.Parse(time.DateOnly, thisStart.String())
		return events.DateOf(t.AddDate(0, delta, 0), time.UTC)
	}
	lastStart, nextStart := month(-1), month(1)
	in := func(x, from, to events.Date) bool { return !x.Before(from) && x.Before(to) }
	by := map[string]*MonthTally{}
	for _, c := range j.Counties {
		by[c.Code] = &MonthTally{Code: c.Code, Name: c.Name}
	}
	p.Each(func(c *events.Commitment) {
		mo, ok := by[c.County]
		if !ok || c.Status() == events.Void {
			return
		}
		if !c.KeptOnTime() && !c.Status().Terminal() {
			after := c.Due.AddDays(1)
			if in(after, thisStart, nextStart) && !after.After(today) {
				mo.BecameThis++
			}
			if in(after, lastStart, thisStart) {
				mo.BecameLast++
			}
		}
		for _, f := range c.Fulfillments {
			if f.Reversed {
				continue
			}
			if in(f.FulfilledOn, thisStart, nextStart) && !f.FulfilledOn.After(today) {
				mo.FulfilledThis++
			}
			if in(f.FulfilledOn, lastStart, thisStart) {
				mo.FulfilledLast++
			}
		}
	})
	for _, c := range j.Counties {
		counties = append(counties, *by[c.Code])
	}
	return thisStart.String()[:7], lastStart.String()[:7], counties
}

// OpenOrders lists the supervision orders not yet closed, of the
// jurisdiction's counties, in the order their commitments were made.
func (p *Projection) OpenOrders(j *events.Jurisdiction) []OpenOrder {
	var out []OpenOrder
	p.Each(func(c *events.Commitment) {
		county, ok := j.County(c.County)
		if !ok || c.Status() == events.Void {
			return
		}
		for _, o := range c.SupervisionOrders {
			if o.State != events.OrderClosed {
				out = append(out, OpenOrder{County: county.Name, Project: c.Project, Department: c.Department, State: o.State, Deadline: o.Deadline, IssuedOn: o.IssuedOn})
			}
		}
	})
	return out
}
