package events

import (
	"fmt"
	"slices"
	"time"
)

// Kind is what was promised.
type Kind string

// The kinds of the contract.
const (
	Land           Kind = "land"
	Tax            Kind = "tax"
	Subsidy        Kind = "subsidy"
	Fee            Kind = "fee"
	Infrastructure Kind = "infrastructure"
	Financing      Kind = "financing"
	Other          Kind = "other"
)

// Kinds lists the valid kinds in a stable order.
var Kinds = []Kind{Land, Tax, Subsidy, Fee, Infrastructure, Financing, Other}

// Valid reports whether k is one of [Kinds].
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// Status is where a commitment stands.
type Status string

// The statuses. Waived, cancelled and void are terminal: after them only
// disputes, their resolutions and corrections may be recorded. Void is an
// entry made in error: it leaves every count, sum and rate.
const (
	Open               Status = "open"
	PartiallyFulfilled Status = "partially_fulfilled"
	Fulfilled          Status = "fulfilled"
	Waived             Status = "waived"
	Cancelled          Status = "cancelled"
	Void               Status = "void"
)

// Statuses lists the valid statuses in a stable order.
var Statuses = []Status{Open, PartiallyFulfilled, Fulfilled, Waived, Cancelled, Void}

// Valid reports whether s is one of [Statuses].
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Terminal reports whether nothing but disputes may follow.
func (s Status) Terminal() bool { return s == Waived || s == Cancelled || s == Void }

// Fulfillment is one recorded delivery. Its ID is the event's id.
type Fulfillment struct {
	ID          string
	Quantity    Decimal
	FulfilledOn Date
	Evidence    string
	Reversed    bool
}

// Dispute is an enterprise complaint. Its ID is the event's id.
type Dispute struct {
	ID          string
	Complainant string
	CreditCode  string // the complainant's, when the complaint named one
	Summary     string
	OpenedOn    Date
	State       Outcome
	Note        string
}

// SupervisionOrder is a 督办 order. Its ID is the event's id.
type SupervisionOrder struct {
	ID       string
	Deadline Date
	Note     string
	IssuedOn Date
	State    OrderState
	Trail    []OrderTrail // every step after it was issued, oldest first
}

// Extension is an approved change of the due date, remembered so that a
// promise extended after it was late still shows how late it was.
type Extension struct {
	From        Date      // the due date before
	To          Date      // the due date after
	EffectiveOn Date      // when it was decided (the event's effective date)
	RecordedAt  time.Time // when the ledger learned it
	DaysOverdue int       // how many days overdue the promise was then (0: not late)
}

// Commitment is one promise folded from its events: the state on which every
// rule is decided. Build it only with [Commitment.Apply].
type Commitment struct {
	ID     string
	County string
	CommitmentMade

	OriginalDue       Date        // the due date as first promised
	Extensions        []Extension // every change of the due date, oldest first
	Fulfilled         Decimal
	Terminal          Status // Waived, Cancelled or Void once terminal, else ""
	Fulfillments      []Fulfillment
	Disputes          []Dispute
	SupervisionOrders []SupervisionOrder
	ExtensionRequests []ExtensionRequest

	Cited  []string // the digests of every file its events cite, in the order first cited
	Actors []string // who recorded its events (token names), in the order they first did
	Types  []Type   // the types of its events, in the order they first came

	Version    int       // number of events applied
	LastSeq    uint64    // stream sequence of the last event applied
	LastHash   string    // hash of the last event applied: the next event's prev_hash
	RecordedAt time.Time // when the commitment was first recorded
	UpdatedAt  time.Time // when its last event was recorded
}

// Status derives the status from the state.
func (c *Commitment) Status() Status {
	switch {
	case c.Terminal != "":
		return c.Terminal
	case c.Fulfilled.Cmp(c.Quantity.Value) >= 0:
		return Fulfilled
	case c.Fulfilled.Sign() > 0:
		return PartiallyFulfilled
	}
	return Open
}

// Outstanding is what is still owed: zero once fulfilled, waived or cancelled.
func (c *Commitment) Outstanding() Quantity {
	if c.Terminal != "" {
		return Quantity{Unit: c.Quantity.Unit}
	}
	return Quantity{Value: c.Quantity.Value.Sub(c.Fulfilled), Unit: c.Quantity.Unit}
}

// DaysOverdue is how many whole days past due the commitment is on today:
// 0 when it is not due yet, or fulfilled, waived or cancelled.
func (c *Commitment) DaysOverdue(today Date) int {
	switch c.Status() {
	case Open, PartiallyFulfilled:
		if today.After(c.Due) {
			return today.DaysSince(c.Due)
		}
	}
	return 0
}

// KeptOnTime reports whether the commitment was fully fulfilled with every
// counted (not reversed) fulfilment dated on or before its due date.
func (c *Commitment) KeptOnTime() bool { return c.keptBy(c.Due) }

// KeptOnOriginalDue reports whether the commitment was fully fulfilled with
// every counted fulfilment dated on or before the due date first promised:
// an extension does not make a late promise kept.
func (c *Commitment) KeptOnOriginalDue() bool { return c.keptBy(c.OriginalDue) }

// keptBy reports whether every counted fulfilment of a fulfilled
// commitment is dated on or before due.
func (c *Commitment) keptBy(due Date) bool {
	if c.Status() != Fulfilled {
		return false
	}
	for _, f := range c.Fulfillments {
		if !f.Reversed && f.FulfilledOn.After(due) {
			return false
		}
	}
	return true
}

// extend moves the due date to to, as event e decided, remembering the
// extension and how late the promise was then.
func (c *Commitment) extend(to Date, e Event) {
	c.Extensions = append(c.Extensions, Extension{From: c.Due, To: to, EffectiveOn: e.EffectiveOn, RecordedAt: e.RecordedAt, DaysOverdue: c.DaysOverdue(e.EffectiveOn)})
	c.Due = to
}

// ExtendedAfterOverdue reports whether the due date was ever moved while the
// promise was already late.
func (c *Commitment) ExtendedAfterOverdue() bool {
	for _, x := range c.Extensions {
		if x.DaysOverdue > 0 {
			return true
		}
	}
	return false
}

// errUnknown is an event that names what its commitment does not hold.
func errUnknown(what, id string) error { return fmt.Errorf("names unknown %s %s", what, id) }

// Light is the supervision traffic light on today: red when overdue, or an
// open order is past its deadline; yellow when due within dueSoonDays, a
// dispute is open, an order is not signed for within ackDays of its issue,
// or an extension request awaits a decision; green otherwise; "none" for an
// entry made in error.
func (c *Commitment) Light(today Date, dueSoonDays, ackDays int) Light {
	st := c.Status()
	if st == Void {
		return LightNone
	}
	open := st == Open || st == PartiallyFulfilled
	if c.DaysOverdue(today) > 0 {
		return Red
	}
	for _, o := range c.SupervisionOrders {
		if open && o.State.Open() && today.After(o.Deadline) {
			return Red
		}
	}
	if open && c.Due.DaysSince(today) <= dueSoonDays {
		return Yellow
	}
	if c.Disputed() || c.pendingRequest() {
		return Yellow
	}
	for _, o := range c.SupervisionOrders {
		if open && o.State == OrderIssued && today.DaysSince(o.IssuedOn) > ackDays {
			return Yellow
		}
	}
	return Green
}

// Light is a supervision traffic light.
type Light string

// The lights.
const (
	Red       Light = "red"
	Yellow    Light = "yellow"
	Green     Light = "green"
	LightNone Light = "none"
)

// Lights lists the lights in a stable order.
var Lights = []Light{Red, Yellow, Green, LightNone}

// Disputed reports whether any dispute is open.
func (c *Commitment) Disputed() bool {
	for _, d := range c.Disputes {
		if d.State == DisputeOpen {
			return true
		}
	}
	return false
}

// Clone returns a copy that shares nothing mutable with c.
func (c *Commitment) Clone() *Commitment {
	d := *c
	d.Fulfillments = slices.Clone(c.Fulfillments)
	d.Disputes = slices.Clone(c.Disputes)
	d.SupervisionOrders = slices.Clone(c.SupervisionOrders)
	for i := range d.SupervisionOrders {
		d.SupervisionOrders[i].Trail = slices.Clone(d.SupervisionOrders[i].Trail)
	}
	d.ExtensionRequests = slices.Clone(c.ExtensionRequests)
	d.Extensions = slices.Clone(c.Extensions)
	d.Actors = slices.Clone(c.Actors)
	d.Cited = slices.Clone(c.Cited)
	d.Types = slices.Clone(c.Types)
	return &d
}

// Links checks that an event names the commitment's last event as its
// predecessor (prev_hash): a history folded whole is a hash chain.
func (c *Commitment) Links(e Event) error {
	if e.PrevHash != c.LastHash {
		return fmt.Errorf("event %s: prev_hash %q does not link to the hash %q of the commitment's last event: the hash chain is broken", e.ID, e.PrevHash, c.LastHash)
	}
	return nil
}

// Apply folds one event into the commitment. The zero Commitment accepts only
// commitment.made. Events are applied as stored: the rules were checked when
// the event was decided, so Apply only refuses what cannot be folded at all.
func (c *Commitment) Apply(e Event) error {
	data, err := e.Decode()
	if err != nil {
		return err
	}
	if c.Version == 0 {
		made, ok := data.(*CommitmentMade)
		if !ok {
			return fmt.Errorf("event %s: %s before commitment.made", e.ID, e.Type)
		}
		c.ID, c.County, c.CommitmentMade, c.RecordedAt = e.CommitmentID, e.County, *made, e.RecordedAt
		c.OriginalDue = made.Due
	} else {
		if e.CommitmentID != c.ID {
			return fmt.Errorf("event %s: belongs to commitment %s, not %s", e.ID, e.CommitmentID, c.ID)
		}
		switch d := data.(type) {
		case *CommitmentMade:
			return fmt.Errorf("event %s: commitment %s made twice", e.ID, c.ID)
		case *FulfillmentRecorded:
			c.Fulfillments = append(c.Fulfillments, Fulfillment{ID: e.ID, Quantity: d.Quantity.Value, FulfilledOn: d.FulfilledOn, Evidence: d.Evidence})
			c.Fulfilled = c.Fulfilled.Add(d.Quantity.Value)
		case *FulfillmentReversed:
			i := c.fulfillment(d.FulfillmentID)
			if i < 0 || c.Fulfillments[i].Reversed {
				return fmt.Errorf("event %s: reverses unknown or reversed fulfilment %s", e.ID, d.FulfillmentID)
			}
			c.Fulfillments[i].Reversed = true
			c.Fulfilled = c.Fulfilled.Sub(c.Fulfillments[i].Quantity)
		case *CommitmentAmended:
			if d.Due != nil && *d.Due != c.Due {
				c.extend(*d.Due, e)
			}
			if d.Quantity != nil {
				c.Quantity = *d.Quantity
			}
		case *CommitmentWaived:
			c.Terminal = Waived
		case *CommitmentCancelled:
			c.Terminal = Cancelled
		case *CommitmentVoided:
			c.Terminal = Void
		case *CommitmentHandedOver:
			c.Department = d.Department
		case *CommitmentCorrected:
			for _, ch := range d.Changes {
				if err := c.correct(ch); err != nil {
					return fmt.Errorf("event %s: %w", e.ID, err)
				}
			}
		case *DisputeOpened:
			c.Disputes = append(c.Disputes, Dispute{ID: e.ID, Complainant: d.Complainant.Name, CreditCode: d.Complainant.CreditCode, Summary: d.Summary, OpenedOn: e.EffectiveOn, State: DisputeOpen})
		case *DisputeResolved:
			i := c.dispute(d.DisputeID)
			if i < 0 {
				return fmt.Errorf("event %s: resolves unknown dispute %s", e.ID, d.DisputeID)
			}
			c.Disputes[i].State, c.Disputes[i].Note = d.Outcome, d.Note
		case *SupervisionOrdered:
			c.SupervisionOrders = append(c.SupervisionOrders, SupervisionOrder{ID: e.ID, Deadline: d.Deadline, Note: d.Note, IssuedOn: e.EffectiveOn, State: OrderIssued})
		default:
			if _, err := c.applyLoop(e, d); err != nil {
				return fmt.Errorf("event %s: %w", e.ID, err)
			}
		}
	}
	for _, a := range citedBy(data) {
		if !slices.Contains(c.Cited, a) {
			c.Cited = append(c.Cited, a)
		}
	}
	if !slices.Contains(c.Actors, e.Actor.Name) {
		c.Actors = append(c.Actors, e.Actor.Name)
	}
	if !slices.Contains(c.Types, e.Type) {
		c.Types = append(c.Types, e.Type)
	}
	c.Version++
	c.LastSeq = e.Sequence
	c.LastHash = e.Hash
	c.UpdatedAt = e.RecordedAt
	return nil
}

// Correctable lists the fields a correction may change, by JSON path.
var Correctable = []string{"project", "department", "investor.name", "investor.credit_code", "description", "reference"}

// field returns a pointer to the correctable field at path.
func (c *Commitment) field(path string) *string {
	switch path {
	case "project":
		return &c.Project
	case "department":
		return &c.Department
	case "investor.name":
		return &c.Investor.Name
	case "investor.credit_code":
		return &c.Investor.CreditCode
	case "description":
		return &c.Description
	case "reference":
		return &c.Reference
	}
	return nil
}

func (c *Commitment) correct(ch FieldChange) error {
	f := c.field(ch.Field)
	if f == nil {
		return fmt.Errorf("field %q cannot be corrected", ch.Field)
	}
	*f = ch.New
	if ch.Field == "investor.credit_code" && ch.New != "" {
		c.Investor.Registered = nil // it has a credit code now: registered
	}
	return nil
}

func (c *Commitment) fulfillment(id string) int {
	return slices.IndexFunc(c.Fulfillments, func(f Fulfillment) bool { return f.ID == id })
}

func (c *Commitment) dispute(id string) int {
	return slices.IndexFunc(c.Disputes, func(d Dispute) bool { return d.ID == id })
}

// Fold builds a commitment from its events, oldest first.
func Fold(evs []Event) (*Commitment, error) {
	c := &Commitment{}
	for _, e := range evs {
		if err := c.Apply(e); err != nil {
			return nil, err
		}
	}
	if c.Version == 0 {
		return nil, ErrNotFound
	}
	return c, nil
}

// citedBy lists the files an event's data cites.
func citedBy(data any) []string {
	switch d := data.(type) {
	case *FulfillmentRecorded:
		return d.Attachments
	case *OrderProgressed:
		return d.Attachments
	case *OrderClosureAsked:
		return d.Attachments
	}
	return nil
}
