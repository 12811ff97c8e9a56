// Package alerts raises supervision alerts on commitments that are due soon,
// overdue, overdue long enough to escalate, or disputed too long, and
// resolves them when they stop being true. Each alert has an id derived
// from what it is about (rule, commitment, and the due date, order or
// dispute), and its raise and resolution are appended to their own stream
// with optimistic concurrency on the alert's subject, so a restart, a second
// instance or a re-evaluation never raises the same alert twice.
//
// The package knows nothing of NATS or HTTP: it reads commitments through
// an interface, appends through [Store], and signs webhook bodies.
package alerts

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"promiseledger/events"
)

// Rule names what an alert is about.
type Rule string

// The rules.
const (
	DueSoon      Rule = "due_soon"      // due within N days, not fulfilled
	Overdue      Rule = "overdue"       // due date passed, not fulfilled, waived or cancelled
	Escalated    Rule = "escalated"     // overdue more than M days, or a supervision order's deadline passed
	DisputeStale Rule = "dispute_stale" // a dispute open more than K days
	// OrderUnacknowledged: a supervision order not signed for (签收) within
	// A days of its issue.
	OrderUnacknowledged Rule = "order_unacknowledged"
)

// Rules lists the rules in a stable order.
var Rules = []Rule{DueSoon, Overdue, Escalated, DisputeStale, OrderUnacknowledged}

// Valid reports whether r is one of [Rules].
func (r Rule) Valid() bool { return slices.Contains(Rules, r) }

// Audiences: who an alert goes to.
const (
	ToCounty      = "county"
	ToSupervisors = "supervisors"
)

// Audiences lists the audiences in a stable order.
var Audiences = []string{ToCounty, ToSupervisors}

// Audience is who the rule's alerts go to.
func (r Rule) Audience() []string {
	switch r {
	case DueSoon:
		return []string{ToCounty}
	case Overdue, OrderUnacknowledged:
		return []string{ToCounty, ToSupervisors}
	}
	return []string{ToSupervisors}
}

// ForCounty reports whether a county office receives the rule's alerts:
// whether its [Rule.Audience] names the county.
func (r Rule) ForCounty() bool { return slices.Contains(r.Audience(), ToCounty) }

// Config holds the thresholds, in days.
type Config struct {
	DueSoonDays      int // due_soon when due within this many days (default 30)
	EscalateDays     int // escalated when overdue more than this many days (default 90)
	DisputeStaleDays int // dispute_stale when open more than this many days (default 30)
	AckDays          int // order_unacknowledged when an order is not signed for within this many days (default 3)
}

// DefaultConfig is the thresholds of the seed's practice.
var DefaultConfig = Config{DueSoonDays: 30, EscalateDays: 90, DisputeStaleDays: 30, AckDays: 3}

// Validate checks the thresholds.
func (c Config) Validate() error {
	var errs []error
	if c.DueSoonDays < 1 || c.DueSoonDays > 365 {
		errs = append(errs, fmt.Errorf("due-soon days %d: must be 1 to 365", c.DueSoonDays))
	}
	if c.EscalateDays < 1 || c.EscalateDays > 3650 {
		errs = append(errs, fmt.Errorf("escalate days %d: must be 1 to 3650", c.EscalateDays))
	}
	if c.DisputeStaleDays < 1 || c.DisputeStaleDays > 3650 {
		errs = append(errs, fmt.Errorf("dispute-stale days %d: must be 1 to 3650", c.DisputeStaleDays))
	}
	if c.AckDays < 1 || c.AckDays > 365 {
		errs = append(errs, fmt.Errorf("ack days %d: must be 1 to 365", c.AckDays))
	}
	return errors.Join(errs...)
}

// State is whether an alert message raises or resolves.
type State string

// The states.
const (
	Raised   State = "raised"
	Resolved State = "resolved"
)

// States lists the states in a stable order.
var States = []State{Raised, Resolved}

// Valid reports whether s is one of [States].
func (s State) Valid() bool { return slices.Contains(States, s) }

// Alert is one message of the alerts stream: an alert raised, or resolved.
// Receivers de-duplicate by ID and State.
type Alert struct {
	ID           string          `json:"id"`         // Key, or Key-r<n> when raised for the n-th time
	Key          string          `json:"key"`        // what it is about: rule, commitment, and the date, order or dispute
	Generation   int             `json:"generation"` // 1 for the first raise of the key, 2 when it becomes true again, …
	State        State           `json:"state"`
	Rule         Rule            `json:"rule"`
	Audience     []string        `json:"audience"`
	CommitmentID string          `json:"commitment_id"`
	County       string          `json:"county"`
	CountyName   string          `json:"county_name"`
	Department   string          `json:"department"`
	Project      string          `json:"project"`
	Investor     events.Investor `json:"investor"`
	Kind         events.Kind     `json:"kind"`
	Due          events.Date     `json:"due"`
	Deadline     *events.Date    `json:"deadline,omitempty"`   // of the supervision order, for escalated by order
	OrderID      string          `json:"order_id,omitempty"`   // the supervision order
	DisputeID    string          `json:"dispute_id,omitempty"` // for dispute_stale
	DaysOverdue  int             `json:"days_overdue"`
	Outstanding  events.Quantity `json:"outstanding"`
	On           events.Date     `json:"on"`               // the calendar date it was judged on
	At           time.Time       `json:"at"`               // when it was recorded
	Reason       string          `json:"reason,omitempty"` // why it was resolved
	Sequence     uint64          `json:"sequence,omitempty"`
}

// condition is an alert whose rule holds for a commitment on a date.
type condition struct {
	key       string
	rule      Rule
	deadline  *events.Date
	orderID   string
	disputeID string
}

// Key names what an alert is about: rule, commitment and the date or record
// it is about. It is a valid subject token, and the id of its first raise.
func Key(rule Rule, commitmentID, about string) string {
	return string(rule) + "-" + commitmentID + "-" + strings.NewReplacer(".", "", "*", "", ">", "").Replace(about)
}

func dateKey(d events.Date) string { return strings.ReplaceAll(d.String(), "-", "") }

// conditions are the alerts that hold for a commitment on today.
func conditions(c *events.Commitment, today events.Date, cfg Config) []condition {
	var out []condition
	st := c.Status()
	if st == events.Void {
		return nil // an entry made in error: nothing to supervise
	}
	open := st == events.Open || st == events.PartiallyFulfilled
	if open {
		switch days := c.DaysOverdue(today); {
		case days == 0 && c.Due.DaysSince(today) <= cfg.DueSoonDays:
			out = append(out, condition{key: Key(DueSoon, c.ID, dateKey(c.Due)), rule: DueSoon})
		case days > 0:
			out = append(out, condition{key: Key(Overdue, c.ID, dateKey(c.Due)), rule: Overdue})
			if days > cfg.EscalateDays {
				out = append(out, condition{key: Key(Escalated, c.ID, "due"+dateKey(c.Due)), rule: Escalated})
			}
		}
		for _, o := range c.SupervisionOrders {
			if o.State == events.OrderIssued && today.DaysSince(o.IssuedOn) > cfg.AckDays {
				out = append(out, condition{key: Key(OrderUnacknowledged, c.ID, "order"+o.ID), rule: OrderUnacknowledged, orderID: o.ID})
			}
			if o.State.Open() && today.After(o.Deadline) {
				d := o.Deadline
				out = append(out, condition{key: Key(Escalated, c.ID, "order"+o.ID), rule: Escalated, deadline: &d, orderID: o.ID})
			}
		}
	}
	for _, d := range c.Disputes {
		if d.State == events.DisputeOpen && today.DaysSince(d.OpenedOn) > cfg.DisputeStaleDays {
			out = append(out, condition{key: Key(DisputeStale, c.ID, d.ID), rule: DisputeStale, disputeID: d.ID})
		}
	}
	return out
}

// idFor is the id of the n-th raise of a key.
func idFor(key string, generation int) string {
	if generation <= 1 {
		return key
	}
	return fmt.Sprintf("%s-r%d", key, generation)
}

// reason says why an alert no longer holds. A dispute_stale alert holds
// whatever the commitment's state, so only its dispute can end it.
func reason(a Alert, c *events.Commitment) string {
	switch st := c.Status(); {
	case st == events.Void:
		return "void: the entry was made in error"
	case a.Rule == DisputeStale:
		return "dispute resolved"
	case a.Rule == OrderUnacknowledged:
		return "order signed for"
	case a.OrderID != "" && c.Status() != events.Void:
		for _, o := range c.SupervisionOrders {
			if o.ID == a.OrderID && !o.State.Open() {
				return "order closed"
			}
		}
	case st == events.Fulfilled:
		return "fulfilled"
	case st == events.Waived, st == events.Cancelled:
		return string(st)
	case c.Due != a.Due && a.DisputeID == "" && a.OrderID == "":
		return "due date changed to " + c.Due.String()
	case a.Rule == DueSoon:
		return "now overdue"
	}
	return "no longer holds"
}
