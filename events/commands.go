package events

import (
	"strings"
	"unicode/utf8"
)

// A Command is a request to append one event to an existing commitment. Its
// fields are what the client sent; Decide checks them against the rules and
// the commitment's current state and returns the event's data and effective
// date, or an error matching one of the sentinels. A command is decided again
// from fresh state whenever its append meets a concurrent writer.
type Command interface {
	Type() Type
	Decide(c *Commitment, today Date) (data any, effectiveOn Date, err error)
}

// Limits on free text, in characters.
const (
	maxShortText = 200
	maxLongText  = 2000
)

// text validates a text field: see [CheckText]; at most max characters,
// and present when required.
func text(field, s string, kind TextKind, required bool, max int) (string, error) {
	if err := CheckText(field, s, kind); err != nil {
		return "", err
	}
	if strings.TrimSpace(s) == "" {
		if required {
			return "", invalid(field, "is required")
		}
		return "", nil
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", invalid(field, "must be at most %d characters, got %d", max, n)
	}
	return s, nil
}

// notTerminal refuses anything but disputes after a waiver or cancellation.
func notTerminal(c *Commitment) error {
	if s := c.Status(); s.Terminal() {
		return ruleError(ErrInvalidState, "", "commitment is %s: only disputes and corrections may be recorded", s)
	}
	return nil
}

// InvestorInput is the investor as a client sent it.
type InvestorInput struct {
	Name       string `json:"name"`
	CreditCode string `json:"credit_code"`
	Registered *bool  `json:"registered"` // false: not registered yet, no credit code
}

// MakeCommitment records a new promise: POST /api/v1/commitments.
type MakeCommitment struct {
	County      string         `json:"county"`
	Department  string         `json:"department"`
	Project     string         `json:"project"`
	Investor    InvestorInput  `json:"investor"`
	Kind        string         `json:"kind"`
	Description string         `json:"description"`
	Quantity    *QuantityInput `json:"quantity"`
	MadeOn      string         `json:"made_on"`
	Due         string         `json:"due"`
	Reference   string         `json:"reference"`
}

// Decide validates the promise; the first error found is returned.
func (m MakeCommitment) Decide(j *Jurisdiction, today Date) (CommitmentMade, error) {
	var out CommitmentMade
	if m.County == "" {
		return out, invalid("county", "is required: a county code of the jurisdiction")
	}
	if _, ok := j.County(m.County); !ok {
		return out, invalid("county", "%q is not a county of the jurisdiction (GET /api/v1/counties lists them)", m.County)
	}
	var err error
	if out.Department, err = text("department", m.Department, NameOrCode, true, maxShortText); err != nil {
		return out, err
	}
	if out.Project, err = text("project", m.Project, NameOrCode, true, maxShortText); err != nil {
		return out, err
	}
	if out.Investor.Name, err = text("investor.name", m.Investor.Name, NameOrCode, true, maxShortText); err != nil {
		return out, err
	}
	out.Investor.CreditCode = strings.ToUpper(m.Investor.CreditCode)
	if r := m.Investor.Registered; r != nil && !*r {
		if out.Investor.CreditCode != "" {
			return out, invalid("investor.credit_code", "must be empty when investor.registered is false (an enterprise not registered yet has none)")
		}
		unregistered := false
		out.Investor.Registered = &unregistered
	} else if err := ValidateCreditCode(out.Investor.CreditCode); err != nil {
		return out, err
	}
	out.Kind = Kind(m.Kind)
	if !out.Kind.Valid() {
		return out, invalid("kind", "must be %s", OneOf(Kinds))
	}
	if out.Description, err = text("description", m.Description, FreeText, true, maxLongText); err != nil {
		return out, err
	}
	if out.Quantity, err = m.Quantity.parse("quantity", ""); err != nil {
		return out, err
	}
	if out.MadeOn, err = parseDateField("made_on", m.MadeOn); err != nil {
		return out, err
	}
	if out.MadeOn.After(today) {
		return out, invalid("made_on", "must not be after today (%s)", today)
	}
	if out.Due, err = parseDateField("due", m.Due); err != nil {
		return out, err
	}
	if out.Due.Before(out.MadeOn) {
		return out, invalid("due", "must not be before made_on (%s)", out.MadeOn)
	}
	if out.Reference, err = text("reference", m.Reference, NameOrCode, false, maxShortText); err != nil {
		return out, err
	}
	return out, nil
}

// RecordFulfillment records a delivery: POST …/fulfillments.
type RecordFulfillment struct {
	Quantity    *QuantityInput `json:"quantity"`
	FulfilledOn string         `json:"fulfilled_on"`
	Evidence    string         `json:"evidence"`
	Attachments []string       `json:"attachments"` // digests of uploaded files
}

// Cites lists the files the command cites.
func (r RecordFulfillment) Cites() []string { return r.Attachments }

func (RecordFulfillment) Type() Type { return FulfillmentRecordedType }

// Decide refuses a fulfilment beyond what is outstanding, dated before the
// promise or after today, or on a waived or cancelled commitment.
func (r RecordFulfillment) Decide(c *Commitment, today Date) (any, Date, error) {
	var out FulfillmentRecorded
	var err error
	if out.Quantity, err = r.Quantity.parse("quantity", c.Quantity.Unit); err != nil {
		return nil, Date{}, err
	}
	if out.FulfilledOn, err = parseDateField("fulfilled_on", r.FulfilledOn); err != nil {
		return nil, Date{}, err
	}
	if out.FulfilledOn.Before(c.MadeOn) {
		return nil, Date{}, invalid("fulfilled_on", "must not be before made_on (%s)", c.MadeOn)
	}
	if out.FulfilledOn.After(today) {
		return nil, Date{}, invalid("fulfilled_on", "must not be after today (%s)", today)
	}
	if out.Attachments, err = checkAttachments(r.Attachments); err != nil {
		return nil, Date{}, err
	}
	if out.Evidence, err = text("evidence", r.Evidence, FreeText, true, maxLongText); err != nil {
		return nil, Date{}, err
	}
	if err := notTerminal(c); err != nil {
		return nil, Date{}, err
	}
	if o := c.Outstanding(); out.Quantity.Value.Cmp(o.Value) > 0 {
		return nil, Date{}, ruleError(ErrExceedsOutstanding, "quantity.value", "%s %s exceeds the %s %s outstanding", out.Quantity, out.Quantity.Unit, o, o.Unit)
	}
	return &out, out.FulfilledOn, nil
}

// ReverseFulfillment undoes a fulfilment recorded by mistake: POST …/reversals.
type ReverseFulfillment struct {
	FulfillmentID string `json:"fulfillment_id"`
	Reason        string `json:"reason"`
}

func (ReverseFulfillment) Type() Type { return FulfillmentReversedType }

// Decide accepts only an existing fulfilment of this commitment not yet reversed.
func (r ReverseFulfillment) Decide(c *Commitment, today Date) (any, Date, error) {
	if r.FulfillmentID == "" {
		return nil, Date{}, invalid("fulfillment_id", "is required: the id of a fulfillment.recorded event")
	}
	reason, err := text("reason", r.Reason, FreeText, true, maxLongText)
	if err != nil {
		return nil, Date{}, err
	}
	if err := notTerminal(c); err != nil {
		return nil, Date{}, err
	}
	i := c.fulfillment(r.FulfillmentID)
	if i < 0 {
		return nil, Date{}, ruleError(ErrNotFound, "fulfillment_id", "no fulfilment %q on this commitment", r.FulfillmentID)
	}
	if c.Fulfillments[i].Reversed {
		return nil, Date{}, ruleError(ErrInvalidState, "fulfillment_id", "fulfilment %s is already reversed", r.FulfillmentID)
	}
	return &FulfillmentReversed{FulfillmentID: r.FulfillmentID, Reason: reason}, today, nil
}

// Amend changes the due date and/or the quantity: POST …/amendments.
type Amend struct {
	Due      string         `json:"due"`
	Quantity *QuantityInput `json:"quantity"`
	Reason   string         `json:"reason"`
	Approval string         `json:"approval"`
}

func (Amend) Type() Type { return CommitmentAmendedType }

// Decide needs at least one change, a due date not before the promise, and a
// quantity not below what was fulfilled.
func (a Amend) Decide(c *Commitment, today Date) (any, Date, error) {
	if a.Due == "" && a.Quantity == nil {
		return nil, Date{}, invalid("", "at least one of due, quantity is required")
	}
	var out CommitmentAmended
	var err error
	if a.Due != "" {
		due, err := parseDateField("due", a.Due)
		if err != nil {
			return nil, Date{}, err
		}
		if due.Before(c.MadeOn) {
			return nil, Date{}, invalid("due", "must not be before made_on (%s)", c.MadeOn)
		}
		if due == c.Due {
			return nil, Date{}, invalid("due", "is already %s", c.Due)
		}
		prev := c.Due
		out.Due, out.PreviousDue = &due, &prev
	}
	if a.Quantity != nil {
		q, err := a.Quantity.parse("quantity", c.Quantity.Unit)
		if err != nil {
			return nil, Date{}, err
		}
		if q.Value.Cmp(c.Quantity.Value) == 0 {
			return nil, Date{}, invalid("quantity.value", "is already %s", c.Quantity)
		}
		prev := c.Quantity
		out.Quantity, out.PreviousQuantity = &q, &prev
	}
	if out.Reason, err = text("reason", a.Reason, FreeText, true, maxLongText); err != nil {
		return nil, Date{}, err
	}
	if out.Approval, err = text("approval", a.Approval, NameOrCode, true, maxShortText); err != nil {
		return nil, Date{}, err
	}
	if err := notTerminal(c); err != nil {
		return nil, Date{}, err
	}
	if out.Quantity != nil && out.Quantity.Value.Cmp(c.Fulfilled) < 0 {
		f := Quantity{Value: c.Fulfilled, Unit: c.Quantity.Unit}
		return nil, Date{}, ruleError(ErrInvalidState, "quantity.value", "must not be below the %s %s already fulfilled", f, f.Unit)
	}
	return &out, today, nil
}

// Waive releases the commitment by agreement: POST …/waiver.
type Waive struct {
	Reason   string `json:"reason"`
	Approval string `json:"approval"`
}

func (Waive) Type() Type { return CommitmentWaivedType }

// Decide accepts a waiver of a commitment that still has something outstanding.
func (w Waive) Decide(c *Commitment, today Date) (any, Date, error) {
	reason, approval, err := release(c, w.Reason, w.Approval, "waive")
	if err != nil {
		return nil, Date{}, err
	}
	return &CommitmentWaived{Reason: reason, Approval: approval}, today, nil
}

// Cancel cancels the commitment: POST …/cancellation.
type Cancel struct {
	Reason   string `json:"reason"`
	Approval string `json:"approval"`
}

func (Cancel) Type() Type { return CommitmentCancelledType }

// Decide accepts a cancellation of a commitment that still has something outstanding.
func (x Cancel) Decide(c *Commitment, today Date) (any, Date, error) {
	reason, approval, err := release(c, x.Reason, x.Approval, "cancel")
	if err != nil {
		return nil, Date{}, err
	}
	return &CommitmentCancelled{Reason: reason, Approval: approval}, today, nil
}

// release checks the shared rules of waivers and cancellations.
func release(c *Commitment, reason, approval, verb string) (string, string, error) {
	reason, err := text("reason", reason, FreeText, true, maxLongText)
	if err != nil {
		return "", "", err
	}
	if approval, err = text("approval", approval, NameOrCode, true, maxShortText); err != nil {
		return "", "", err
	}
	if err := notTerminal(c); err != nil {
		return "", "", err
	}
	if c.Status() == Fulfilled {
		return "", "", ruleError(ErrInvalidState, "", "commitment is fulfilled: nothing is left to %s", verb)
	}
	return reason, approval, nil
}

// OpenDispute records an enterprise complaint: POST …/disputes. Allowed in every state.
type OpenDispute struct {
	Complainant string `json:"complainant"`
	// ComplainantCreditCode is the complaining enterprise's credit code, when known.
	ComplainantCreditCode string `json:"complainant_credit_code"`
	Summary               string `json:"summary"`
}

func (OpenDispute) Type() Type { return DisputeOpenedType }

// Decide needs a complainant and a summary; a credit code, when given, is valid.
func (o OpenDispute) Decide(c *Commitment, today Date) (any, Date, error) {
	var out DisputeOpened
	var err error
	if out.Complainant.Name, err = text("complainant", o.Complainant, NameOrCode, true, maxShortText); err != nil {
		return nil, Date{}, err
	}
	if o.ComplainantCreditCode != "" {
		out.Complainant.CreditCode = strings.ToUpper(o.ComplainantCreditCode)
		if err := validateCreditCode("complainant_credit_code", out.Complainant.CreditCode); err != nil {
			return nil, Date{}, err
		}
	}
	if out.Summary, err = text("summary", o.Summary, FreeText, true, maxLongText); err != nil {
		return nil, Date{}, err
	}
	return &out, today, nil
}

// ResolveDispute decides an open dispute: POST …/disputes/{dispute_id}/resolution.
// DisputeID comes from the path. Allowed in every state.
type ResolveDispute struct {
	DisputeID string `json:"-"`
	Outcome   string `json:"outcome"`
	Note      string `json:"note"`
}

func (ResolveDispute) Type() Type { return DisputeResolvedType }

// Decide accepts upheld or rejected for an open dispute of this commitment.
func (r ResolveDispute) Decide(c *Commitment, today Date) (any, Date, error) {
	out := DisputeResolved{DisputeID: r.DisputeID, Outcome: Outcome(r.Outcome)}
	if !out.Outcome.Resolves() {
		return nil, Date{}, invalid("outcome", "must be %s", OneOf(Resolutions))
	}
	var err error
	if out.Note, err = text("note", r.Note, FreeText, false, maxLongText); err != nil {
		return nil, Date{}, err
	}
	i := c.dispute(r.DisputeID)
	if i < 0 {
		return nil, Date{}, ruleError(ErrNotFound, "dispute_id", "no dispute %q on this commitment", r.DisputeID)
	}
	if st := c.Disputes[i].State; st != DisputeOpen {
		return nil, Date{}, ruleError(ErrInvalidState, "dispute_id", "dispute is already resolved: %s", st)
	}
	return &out, today, nil
}

// OrderSupervision issues a 督办 order: POST …/supervision-orders.
type OrderSupervision struct {
	Deadline string `json:"deadline"`
	Note     string `json:"note"`
}

func (OrderSupervision) Type() Type { return SupervisionOrderedType }

// Decide needs a deadline not in the past on a commitment still owed.
func (o OrderSupervision) Decide(c *Commitment, today Date) (any, Date, error) {
	var out SupervisionOrdered
	var err error
	if out.Deadline, err = parseDateField("deadline", o.Deadline); err != nil {
		return nil, Date{}, err
	}
	if out.Deadline.Before(today) {
		return nil, Date{}, invalid("deadline", "must not be before today (%s)", today)
	}
	if out.Note, err = text("note", o.Note, FreeText, false, maxLongText); err != nil {
		return nil, Date{}, err
	}
	if err := notTerminal(c); err != nil {
		return nil, Date{}, err
	}
	if c.Status() == Fulfilled {
		return nil, Date{}, ruleError(ErrInvalidState, "", "commitment is fulfilled: there is nothing to supervise")
	}
	return &out, today, nil
}
