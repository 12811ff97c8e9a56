package projections

import (
	"slices"
	"sort"
	"strings"

	"promiseledger/events"
)

// InvestorSummary is every promise to one investor (by credit code), across
// counties: one enterprise the counties owe, seen whole.
type InvestorSummary struct {
	CreditCode string   `json:"credit_code"`
	Names      []string `json:"names"`    // as recorded, in the order first seen (a correction may have changed one)
	Counties   []string `json:"counties"` // codes, in order
	Tally
}

// InvestorDetail is one investor's summary and each of its promises.
type InvestorDetail struct {
	InvestorSummary
	Commitments []CommitmentView `json:"commitments"`
}

// ProjectSummary is every promise made for one project (by name).
type ProjectSummary struct {
	Project  string   `json:"project"`
	Counties []string `json:"counties"`
	Tally
}

// group gathers, under the read lock, the commitments that match q by a key.
func (p *Projection) group(q Query, key func(*events.Commitment) string) (keys []string, byKey map[string][]*events.Commitment) {
	byKey = map[string][]*events.Commitment{}
	if q.Nothing {
		return nil, byKey
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, id := range p.ids {
		c := p.commitments[id]
		if !q.matches(c) || (c.Status() == events.Void && q.Status != events.Void) {
			continue // an entry made in error names no investor or project, unless asked for
		}
		k := key(c)
		if byKey[k] == nil {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], c)
	}
	sort.Strings(keys)
	return keys, byKey
}

// summarise tallies a group and lists its counties (and its names).
func summarise(cs []*events.Commitment, today events.Date, j *events.Jurisdiction) (Tally, []string, []string) {
	t := newTallier(j)
	var counties, names []string
	for _, c := range cs {
		t.add(c, today)
		if !slices.Contains(counties, c.County) {
			counties = append(counties, c.County)
		}
		if !slices.Contains(names, c.Investor.Name) {
			names = append(names, c.Investor.Name)
		}
	}
	sort.Strings(counties)
	return t.result(), counties, names
}

// Investors lists the investors of the commitments matching q (its Words
// search the name and credit code too), by credit code.
func (p *Projection) Investors(q Query, j *events.Jurisdiction) []InvestorSummary {
	words := q.Words
	q.Words = nil
	keys, byKey := p.group(q, investorKey)
	out := []InvestorSummary{}
	for _, k := range keys {
		cs := byKey[k]
		code := cs[0].Investor.CreditCode
		tally, counties, names := summarise(cs, q.Today, j)
		if !allWords(words, code+"\n"+strings.Join(names, "\n")) {
			continue
		}
		out = append(out, InvestorSummary{CreditCode: code, Names: names, Counties: counties, Tally: tally})
	}
	return out
}

// investorKey groups by credit code, and an enterprise not registered yet
// (no credit code) by its name.
func investorKey(c *events.Commitment) string {
	if c.Investor.CreditCode == "" {
		return "\x00" + c.Investor.Name
	}
	return c.Investor.CreditCode
}

// Investor is one investor's promises among those matching q; false when
// there are none.
func (p *Projection) Investor(code string, q Query, j *events.Jurisdiction) (InvestorDetail, bool) {
	q.CreditCode = code
	_, byKey := p.group(q, func(c *events.Commitment) string { return c.Investor.CreditCode })
	cs := byKey[code]
	if len(cs) == 0 {
		return InvestorDetail{}, false
	}
	tally, counties, names := summarise(cs, q.Today, j)
	d := InvestorDetail{InvestorSummary: InvestorSummary{CreditCode: code, Names: names, Counties: counties, Tally: tally}, Commitments: make([]CommitmentView, 0, len(cs))}
	for _, c := range cs {
		d.Commitments = append(d.Commitments, ViewOf(c, j, q.Today))
	}
	return d, true
}

// Projects lists the projects of the commitments matching q (its Words
// search the project's name), by name.
func (p *Projection) Projects(q Query, j *events.Jurisdiction) []ProjectSummary {
	words := q.Words
	q.Words = nil
	keys, byKey := p.group(q, func(c *events.Commitment) string { return c.Project })
	out := []ProjectSummary{}
	for _, k := range keys {
		if !allWords(words, k) {
			continue
		}
		tally, counties, _ := summarise(byKey[k], q.Today, j)
		out = append(out, ProjectSummary{Project: k, Counties: counties, Tally: tally})
	}
	return out
}

// allWords reports whether every word appears in text, in any case.
func allWords(words []string, text string) bool {
	text = strings.ToLower(text)
	for _, w := range words {
		if !strings.Contains(text, strings.ToLower(w)) {
			return false
		}
	}
	return true
}

// Citing returns the commitments whose events cite the file with the
// digest.
func (p *Projection) Citing(digest string) []*events.Commitment {
	var out []*events.Commitment
	p.Each(func(c *events.Commitment) {
		if slices.Contains(c.Cited, digest) {
			out = append(out, c)
		}
	})
	return out
}
