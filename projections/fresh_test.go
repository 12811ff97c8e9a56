package projections

import (
	"sort"

	"promiseledger/events"
)

// CountyFresh is a county's detail counted afresh over every commitment,
// as the views did before they were kept: the reference the kept tallies
// are tested against.
func CountyFresh(p *Projection, j *events.Jurisdiction, county events.County, today events.Date) CountyDetail {
	all, kinds, depts, aging := newTallier(j), map[events.Kind]*tallier{}, map[string]*tallier{}, newAger()
	p.Each(func(c *events.Commitment) {
		if c.County != county.Code {
			return
		}
		all.add(c, today)
		aging.add(c, today)
		if kinds[c.Kind] == nil {
			kinds[c.Kind] = newTallier(j)
		}
		kinds[c.Kind].add(c, today)
		if depts[c.Department] == nil {
			depts[c.Department] = newTallier(j)
		}
		depts[c.Department].add(c, today)
	})
	d := CountyDetail{CountySummary: CountySummary{Code: county.Code, Name: county.Name, Tally: all.result()},
		ByKind: []KindTally{}, ByDepartment: []DepartmentTally{}, Aging: aging.result()}
	for _, k := range events.Kinds {
		if t, ok := kinds[k]; ok {
			d.ByKind = append(d.ByKind, KindTally{Kind: k, Tally: t.result()})
		}
	}
	names := make([]string, 0, len(depts))
	for n := range depts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		d.ByDepartment = append(d.ByDepartment, DepartmentTally{Department: n, Tally: depts[n].result()})
	}
	return d
}
