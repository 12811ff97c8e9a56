package projections

import "promiseledger/events"

// agingBuckets are the age classes of overdue commitments, by whole days
// past due. A commitment is overdue from its first day past due, so the
// first class holds days 1 to 30.
var agingBuckets = []struct {
	label    string
	min, max int // max 0: no upper bound
}{
	{"0-30", 1, 30}, {"31-90", 31, 90}, {"91-180", 91, 180}, {"181-365", 181, 365}, {"over-365", 366, 0},
}

// AgingBucket is one age class of overdue commitments.
type AgingBucket struct {
	Bucket      string            `json:"bucket"`
	MinDays     int               `json:"min_days"`
	MaxDays     *int              `json:"max_days"` // null for the last, open-ended class
	Commitments int               `json:"commitments"`
	Outstanding []events.Quantity `json:"outstanding"`
}

// CountyAging is one county's aging.
type CountyAging struct {
	Code    string        `json:"code"`
	Name    string        `json:"name"`
	Buckets []AgingBucket `json:"buckets"`
}

// Aging is the aging of overdue commitments, in total and per county.
type Aging struct {
	Total    []AgingBucket `json:"total"`
	Counties []CountyAging `json:"counties"`
}

// ager accumulates the aging of a set of commitments.
type ager struct {
	counts []int
	owed   []map[events.Unit]events.Decimal
}

func newAger() *ager {
	a := &ager{counts: make([]int, len(agingBuckets)), owed: make([]map[events.Unit]events.Decimal, len(agingBuckets))}
	for i := range a.owed {
		a.owed[i] = map[events.Unit]events.Decimal{}
	}
	return a
}

func (a *ager) add(c *events.Commitment, today events.Date) { a.apply(c, today, 1) }

// apply adds an overdue commitment to its age class (sign 1), or takes it
// out (-1).
func (a *ager) apply(c *events.Commitment, today events.Date, sign int) {
	days := c.DaysOverdue(today)
	if days == 0 {
		return
	}
	for i, b := range agingBuckets {
		if days >= b.min && (b.max == 0 || days <= b.max) {
			a.counts[i] += sign
			out := c.Outstanding()
			if sign > 0 {
				a.owed[i][out.Unit] = a.owed[i][out.Unit].Add(out.Value)
			} else {
				a.owed[i][out.Unit] = a.owed[i][out.Unit].Sub(out.Value)
			}
			return
		}
	}
}

// merge adds another aging of the same day to a.
func (a *ager) merge(o *ager) {
	for i := range a.counts {
		a.counts[i] += o.counts[i]
		for u, v := range o.owed[i] {
			a.owed[i][u] = a.owed[i][u].Add(v)
		}
	}
}

func (a *ager) result() []AgingBucket {
	out := make([]AgingBucket, len(agingBuckets))
	for i, b := range agingBuckets {
		out[i] = AgingBucket{Bucket: b.label, MinDays: b.min, Commitments: a.counts[i], Outstanding: perUnit(a.owed[i])}
		if b.max > 0 {
			max := b.max
			out[i].MaxDays = &max
		}
	}
	return out
}

// Aging classes every overdue commitment by days past due on today.
func (p *Projection) Aging(j *events.Jurisdiction, today events.Date) Aging {
	total := newAger()
	out := Aging{Counties: make([]CountyAging, 0, len(j.Counties))}
	p.tallied(j, today, func(of func(code string) *countyTallies) {
		for _, c := range j.Counties {
			a := newAger()
			if ct := of(c.Code); ct != nil {
				a = ct.aging
			}
			total.merge(a)
			out.Counties = append(out.Counties, CountyAging{Code: c.Code, Name: c.Name, Buckets: a.result()})
		}
	})
	out.Total = total.result()
	return out
}
