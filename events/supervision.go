package events

import (
	"slices"
	"time"
)

// The supervision loop (督办) and extension requests: an order is issued
// (supervision.ordered), signed for by the county (签收), reported on
// (进展反馈), asked to be closed (申请销号), and closed or sent back by the
// supervisor (销号/退回); a county asks for a later due date, and the
// supervisor approves or rejects it.

// OrderState is where a supervision order stands.
type OrderState string

// The order states, in the order of the loop.
const (
	OrderIssued           OrderState = "issued"
	OrderAcknowledged     OrderState = "acknowledged"
	OrderClosureRequested OrderState = "closure_requested"
	OrderClosed           OrderState = "closed"
	OrderReturned         OrderState = "returned"
)

// OrderStates lists the order states in a stable order.
var OrderStates = []OrderState{OrderIssued, OrderAcknowledged, OrderClosureRequested, OrderClosed, OrderReturned}

// OrderOutcomes are what a supervisor may decide of a closure request.
var OrderOutcomes = []OrderState{OrderClosed, OrderReturned}

// Open reports whether the order still asks something of the county.
func (s OrderState) Open() bool { return s != OrderClosed }

// RequestState is where an extension request stands.
type RequestState string

// The request states; approved and rejected are the outcomes.
const (
	RequestPending  RequestState = "pending"
	RequestApproved RequestState = "approved"
	RequestRejected RequestState = "rejected"
)

// RequestStates lists the request states in a stable order.
var RequestStates = []RequestState{RequestPending, RequestApproved, RequestRejected}

// RequestOutcomes are what a supervisor may decide of a request.
var RequestOutcomes = []RequestState{RequestApproved, RequestRejected}

// The data of the loop's events.
type (
	// OrderStep is what a county's step on an order says.
	OrderStep struct {
		OrderID     string   `json:"order_id"`
		Note        string   `json:"note,omitempty"`
		Evidence    string   `json:"evidence,omitempty"`
		Attachments []string `json:"attachments,omitempty"`
	}

	// OrderSignedFor: the county signed for the order (签收).
	OrderSignedFor struct{ OrderStep }
	// OrderProgressed: the county reported on the order (进展反馈).
	OrderProgressed struct{ OrderStep }
	// OrderClosureAsked: the county asked for the order to be closed (申请销号).
	OrderClosureAsked struct{ OrderStep }

	// OrderClosed: the supervisor closed the order (销号) or sent it back
	// (退回).
	OrderClosedData struct {
		OrderID string     `json:"order_id"`
		Outcome OrderState `json:"outcome"`
		Note    string     `json:"note,omitempty"`
	}

	// ExtensionRequested: a county asks for a later due date. The
	// request's id is the event's id.
	ExtensionRequested struct {
		Due    Date   `json:"due"`
		Reason string `json:"reason"`
	}

	// ExtensionDecided: the supervisor approved (the due date moves) or
	// rejected a request.
	ExtensionDecided struct {
		RequestID   string       `json:"request_id"`
		Outcome     RequestState `json:"outcome"`
		Approval    string       `json:"approval"`
		PreviousDue *Date        `json:"previous_due,omitempty"` // approved: the due date before
	}
)

// OrderTrail is one step of an order's history.
type OrderTrail struct {
	Type       Type
	On         Date
	RecordedAt time.Time
	Actor      string
	Note       string
	Evidence   string
}

// ExtensionRequest is a county's request for a later due date. Its ID is
// the event's id.
type ExtensionRequest struct {
	ID          string
	Due         Date
	Reason      string
	RequestedOn Date
	State       RequestState
	DecidedOn   Date
	Approval    string
}

func (c *Commitment) order(id string) int {
	return slices.IndexFunc(c.SupervisionOrders, func(o SupervisionOrder) bool { return o.ID == id })
}

func (c *Commitment) request(id string) int {
	return slices.IndexFunc(c.ExtensionRequests, func(r ExtensionRequest) bool { return r.ID == id })
}

// pendingRequest reports whether an extension request awaits a decision.
func (c *Commitment) pendingRequest() bool {
	return slices.ContainsFunc(c.ExtensionRequests, func(r ExtensionRequest) bool { return r.State == RequestPending })
}

// orderStep checks the shared rules of a county's step on an order: it
// exists, and is in one of the states the step may follow.
func orderStep(c *Commitment, id string, from ...OrderState) error {
	i := c.order(id)
	if i < 0 {
		return ruleError(ErrNotFound, "order_id", "no supervision order %q on this commitment", id)
	}
	if st := c.SupervisionOrders[i].State; !slices.Contains(from, st) {
		return ruleError(ErrInvalidState, "", "the order is %s: this step follows %s", st, OneOf(from))
	}
	return nil
}

// AcknowledgeOrder: the county signs for an order (签收): POST
// …/supervision-orders/{order}/acknowledgement.
type AcknowledgeOrder struct {
	OrderID string `json:"-"`
	Note    string `json:"note"`
}

func (AcknowledgeOrder) Type() Type { return OrderAcknowledgedType }

// Decide: the order is issued and not yet signed for.
func (a AcknowledgeOrder) Decide(c *Commitment, today Date) (any, Date, error) {
	note, err := text("note", a.Note, FreeText, false, maxLongText)
	if err != nil {
		return nil, Date{}, err
	}
	if err := orderStep(c, a.OrderID, OrderIssued); err != nil {
		return nil, Date{}, err
	}
	return &OrderSignedFor{OrderStep{OrderID: a.OrderID, Note: note}}, today, nil
}

// ReportProgress: the county reports on an order (进展反馈): POST
// …/supervision-orders/{order}/progress.
type ReportProgress struct {
	OrderID     string   `json:"-"`
	Note        string   `json:"note"`
	Evidence    string   `json:"evidence"`
	Attachments []string `json:"attachments"`
}

// Cites lists the files the command cites.
func (p ReportProgress) Cites() []string { return p.Attachments }

func (ReportProgress) Type() Type { return OrderProgressType }

// Decide: a note is required; the order is signed for (or was sent back).
func (p ReportProgress) Decide(c *Commitment, today Date) (any, Date, error) {
	out, err := reportStep(c, p.OrderID, p.Note, p.Evidence, p.Attachments, true)
	if err != nil {
		return nil, Date{}, err
	}
	return &OrderProgressed{out}, today, nil
}

// reportStep checks a county's report on an order signed for (or sent
// back): progress needs a note, a closure request evidence.
func reportStep(c *Commitment, orderID, note, evidence string, attachments []string, progress bool) (OrderStep, error) {
	out := OrderStep{OrderID: orderID}
	var err error
	if out.Note, err = text("note", note, FreeText, progress, maxLongText); err != nil {
		return out, err
	}
	if out.Evidence, err = text("evidence", evidence, FreeText, !progress, maxLongText); err != nil {
		return out, err
	}
	if out.Attachments, err = checkAttachments(attachments); err != nil {
		return out, err
	}
	return out, orderStep(c, orderID, OrderAcknowledged, OrderReturned)
}

// RequestClosure: the county asks for an order to be closed (申请销号):
// POST …/supervision-orders/{order}/closure-request.
type RequestClosure struct {
	OrderID     string   `json:"-"`
	Note        string   `json:"note"`
	Evidence    string   `json:"evidence"`
	Attachments []string `json:"attachments"`
}

// Cites lists the files the command cites.
func (x RequestClosure) Cites() []string { return x.Attachments }

func (RequestClosure) Type() Type { return OrderClosureRequestedType }

// Decide: evidence is required; the order is signed for (or was sent back).
func (x RequestClosure) Decide(c *Commitment, today Date) (any, Date, error) {
	out, err := reportStep(c, x.OrderID, x.Note, x.Evidence, x.Attachments, false)
	if err != nil {
		return nil, Date{}, err
	}
	return &OrderClosureAsked{out}, today, nil
}

// CloseOrder: the supervisor closes an order (销号) or sends it back
// (退回): POST …/supervision-orders/{order}/closure.
type CloseOrder struct {
	OrderID string `json:"-"`
	Outcome string `json:"outcome"`
	Note    string `json:"note"`
}

func (CloseOrder) Type() Type { return OrderClosedType }

// Decide: the county asked for closure.
func (x CloseOrder) Decide(c *Commitment, today Date) (any, Date, error) {
	out := OrderClosedData{OrderID: x.OrderID, Outcome: OrderState(x.Outcome)}
	if !slices.Contains(OrderOutcomes, out.Outcome) {
		return nil, Date{}, invalid("outcome", "must be %s", OneOf(OrderOutcomes))
	}
	var err error
	if out.Note, err = text("note", x.Note, FreeText, out.Outcome == OrderReturned, maxLongText); err != nil {
		return nil, Date{}, err
	}
	if err := orderStep(c, x.OrderID, OrderClosureRequested); err != nil {
		return nil, Date{}, err
	}
	return &out, today, nil
}

// RequestExtension: a county asks for a later due date: POST
// …/extension-requests.
type RequestExtension struct {
	Due    string `json:"due"`
	Reason string `json:"reason"`
}

func (RequestExtension) Type() Type { return ExtensionRequestedType }

// Decide: a later due date and a reason; one request at a time; not on a
// fulfilled or released commitment.
func (x RequestExtension) Decide(c *Commitment, today Date) (any, Date, error) {
	var out ExtensionRequested
	var err error
	if out.Due, err = parseDateField("due", x.Due); err != nil {
		return nil, Date{}, err
	}
	if !out.Due.After(c.Due) {
		return nil, Date{}, invalid("due", "must be after the due date in force (%s)", c.Due)
	}
	if out.Reason, err = text("reason", x.Reason, FreeText, true, maxLongText); err != nil {
		return nil, Date{}, err
	}
	if err := notTerminal(c); err != nil {
		return nil, Date{}, err
	}
	if c.Status() == Fulfilled {
		return nil, Date{}, ruleError(ErrInvalidState, "", "commitment is fulfilled: nothing is left to extend")
	}
	if c.pendingRequest() {
		return nil, Date{}, ruleError(ErrInvalidState, "", "an extension request is already pending: it must be decided first")
	}
	return &out, today, nil
}

// DecideExtension: the supervisor approves or rejects a request: POST
// …/extension-requests/{request}/decision. Approval moves the due date.
type DecideExtension struct {
	RequestID string `json:"-"`
	Outcome   string `json:"outcome"`
	Approval  string `json:"approval"`
}

func (DecideExtension) Type() Type { return ExtensionDecidedType }

// Decide: the request is pending.
func (x DecideExtension) Decide(c *Commitment, today Date) (any, Date, error) {
	out := ExtensionDecided{RequestID: x.RequestID, Outcome: RequestState(x.Outcome)}
	if !slices.Contains(RequestOutcomes, out.Outcome) {
		return nil, Date{}, invalid("outcome", "must be %s", OneOf(RequestOutcomes))
	}
	var err error
	if out.Approval, err = text("approval", x.Approval, NameOrCode, true, maxShortText); err != nil {
		return nil, Date{}, err
	}
	i := c.request(x.RequestID)
	if i < 0 {
		return nil, Date{}, ruleError(ErrNotFound, "request_id", "no extension request %q on this commitment", x.RequestID)
	}
	if st := c.ExtensionRequests[i].State; st != RequestPending {
		return nil, Date{}, ruleError(ErrInvalidState, "", "the request is already %s", st)
	}
	if out.Outcome == RequestApproved {
		if err := notTerminal(c); err != nil {
			return nil, Date{}, err
		}
		if c.Status() == Fulfilled {
			return nil, Date{}, ruleError(ErrInvalidState, "", "commitment is fulfilled: nothing is left to extend")
		}
		if asked := c.ExtensionRequests[i].Due; !asked.After(c.Due) {
			return nil, Date{}, ruleError(ErrInvalidState, "outcome", "the due date in force (%s) is already at or after the one asked (%s): reject the request", c.Due, asked)
		}
		prev := c.Due
		out.PreviousDue = &prev
	}
	return &out, today, nil
}

// applyLoop folds the loop's events; false when e is not one of them.
func (c *Commitment) applyLoop(e Event, data any) (bool, error) {
	var step *OrderStep
	switch d := data.(type) {
	case *OrderSignedFor:
		step = &d.OrderStep
	case *OrderProgressed:
		step = &d.OrderStep
	case *OrderClosureAsked:
		step = &d.OrderStep
	}
	switch d := data.(type) {
	case *OrderSignedFor, *OrderProgressed, *OrderClosureAsked:
		i := c.order(step.OrderID)
		if i < 0 {
			return true, errUnknown("order", step.OrderID)
		}
		o := &c.SupervisionOrders[i]
		switch e.Type {
		case OrderAcknowledgedType:
			o.State = OrderAcknowledged
		case OrderClosureRequestedType:
			o.State = OrderClosureRequested
		}
		o.Trail = append(o.Trail, OrderTrail{Type: e.Type, On: e.EffectiveOn, RecordedAt: e.RecordedAt, Actor: e.Actor.Name, Note: step.Note, Evidence: step.Evidence})
	case *OrderClosedData:
		i := c.order(d.OrderID)
		if i < 0 {
			return true, errUnknown("order", d.OrderID)
		}
		o := &c.SupervisionOrders[i]
		o.State = d.Outcome
		o.Trail = append(o.Trail, OrderTrail{Type: e.Type, On: e.EffectiveOn, RecordedAt: e.RecordedAt, Actor: e.Actor.Name, Note: d.Note})
	case *ExtensionRequested:
		c.ExtensionRequests = append(c.ExtensionRequests, ExtensionRequest{ID: e.ID, Due: d.Due, Reason: d.Reason, RequestedOn: e.EffectiveOn, State: RequestPending})
	case *ExtensionDecided:
		i := c.request(d.RequestID)
		if i < 0 {
			return true, errUnknown("extension request", d.RequestID)
		}
		r := &c.ExtensionRequests[i]
		r.State, r.DecidedOn, r.Approval = d.Outcome, e.EffectiveOn, d.Approval
		if d.Outcome == RequestApproved && r.Due != c.Due {
			c.extend(r.Due, e)
		}
	default:
		return false, nil
	}
	return true, nil
}
