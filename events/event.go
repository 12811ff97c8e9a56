package events

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Type names an event. Types are part of the stored format: never rename one.
type Type string

// The event catalog (docs/events.md describes each).
const (
	CommitmentMadeType        Type = "commitment.made"
	FulfillmentRecordedType   Type = "fulfillment.recorded"
	FulfillmentReversedType   Type = "fulfillment.reversed"
	CommitmentAmendedType     Type = "commitment.amended"
	CommitmentWaivedType      Type = "commitment.waived"
	CommitmentCancelledType   Type = "commitment.cancelled"
	DisputeOpenedType         Type = "dispute.opened"
	DisputeResolvedType       Type = "dispute.resolved"
	SupervisionOrderedType    Type = "supervision.ordered"
	CommitmentCorrectedType   Type = "commitment.corrected"
	CommitmentHandedOverType  Type = "commitment.handed_over"
	CommitmentVoidedType      Type = "commitment.voided"
	OrderAcknowledgedType     Type = "order.acknowledged"
	OrderProgressType         Type = "order.progress"
	OrderClosureRequestedType Type = "order.closure_requested"
	OrderClosedType           Type = "order.closed"
	ExtensionRequestedType    Type = "extension.requested"
	ExtensionDecidedType      Type = "extension.decided"
)

// Types lists the event types in the catalog's order.
var Types = []Type{
	CommitmentMadeType, FulfillmentRecordedType, FulfillmentReversedType,
	CommitmentAmendedType, CommitmentWaivedType, CommitmentCancelledType,
	DisputeOpenedType, DisputeResolvedType, SupervisionOrderedType,
	CommitmentCorrectedType, CommitmentHandedOverType, CommitmentVoidedType,
	OrderAcknowledgedType, OrderProgressType, OrderClosureRequestedType, OrderClosedType,
	ExtensionRequestedType, ExtensionDecidedType,
}

// Valid reports whether t is one of [Types].
func (t Type) Valid() bool { return slices.Contains(Types, t) }

// Actor is who recorded an event.
type Actor struct {
	Name   string `json:"name"`             // the office, or the program, whose token or account it was
	Role   string `json:"role"`             // its role
	Person string `json:"person,omitempty"` // the person signed in to the web pages, if any
}

// Anonymous is the actor of every request until access control names one.
var Anonymous = Actor{Name: "anonymous", Role: "anonymous"}

// IdempotencyScope is what an idempotency key means: the key as sent by one
// principal. Another office's key is never taken for a retry of ours; the
// receipts of the views and the store's de-duplication both use this.
func IdempotencyScope(actor, key string) string { return actor + "\x00" + key }

// Event is one immutable fact in the ledger: the envelope and its data.
//
// An event has two times. EffectiveOn is when the fact happened in the world
// (the date a promise was made, the date land was delivered), a calendar date
// given by the client for made and fulfilment events, and the recording date
// for the others. RecordedAt is when the ledger learned of it: the server's
// clock at append. "What is true" is judged on effective dates; "what did the
// ledger show on day X" on RecordedAt.
type Event struct {
	ID             string          `json:"id"` // UUID v7
	Type           Type            `json:"type"`
	Schema         int             `json:"schema"`
	CommitmentID   string          `json:"commitment_id"`
	County         string          `json:"county"`
	EffectiveOn    Date            `json:"effective_on"`
	RecordedAt     time.Time       `json:"recorded_at"`
	Actor          Actor           `json:"actor"`
	IdempotencyKey string          `json:"idempotency_key,omitempty"`
	RequestDigest  string          `json:"request_digest,omitempty"` // SHA-256 of the request that made it, for idempotent retries
	Sequence       uint64          `json:"sequence,omitempty"`       // stream sequence; set when read, never stored
	Data           json.RawMessage `json:"data"`
	// PrevHash is the Hash of the commitment's previous event ("" for the
	// first); Hash is the SHA-256 of this event's canonical form (see
	// package audit and docs/audit.md). Together they chain each
	// commitment's history, so that no event can be altered, removed or
	// slipped in without it showing.
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash,omitempty"`
}

// The data of each event type.
type (
	// Investor is the enterprise a promise was made to.
	Investor struct {
		Name       string `json:"name"`
		CreditCode string `json:"credit_code"`
		// Registered is false for an enterprise not registered yet (no
		// credit code: it gets one later by a correction); absent otherwise.
		Registered *bool `json:"registered,omitempty"`
	}

	// CommitmentMade: a county promised an incentive to an investor.
	CommitmentMade struct {
		Department  string   `json:"department"`
		Project     string   `json:"project"`
		Investor    Investor `json:"investor"`
		Kind        Kind     `json:"kind"`
		Description string   `json:"description"`
		Quantity    Quantity `json:"quantity"`
		MadeOn      Date     `json:"made_on"`
		Due         Date     `json:"due"`
		Reference   string   `json:"reference,omitempty"`
	}

	// FulfillmentRecorded: part or all of the promise was delivered.
	FulfillmentRecorded struct {
		Quantity    Quantity `json:"quantity"`
		FulfilledOn Date     `json:"fulfilled_on"`
		Evidence    string   `json:"evidence,omitempty"`
		Attachments []string `json:"attachments,omitempty"` // digests of the files that prove it
	}

	// FulfillmentReversed: a fulfilment was recorded by mistake and no longer counts.
	FulfillmentReversed struct {
		FulfillmentID string `json:"fulfillment_id"`
		Reason        string `json:"reason"`
	}

	// CommitmentAmended: an approved change of due date and/or quantity.
	// The previous values are kept so the history reads on its own.
	CommitmentAmended struct {
		Due              *Date     `json:"due,omitempty"`
		PreviousDue      *Date     `json:"previous_due,omitempty"`
		Quantity         *Quantity `json:"quantity,omitempty"`
		PreviousQuantity *Quantity `json:"previous_quantity,omitempty"`
		Reason           string    `json:"reason"`
		Approval         string    `json:"approval,omitempty"`
	}

	// CommitmentWaived: released by agreement; terminal.
	CommitmentWaived struct {
		Reason   string `json:"reason"`
		Approval string `json:"approval,omitempty"`
	}

	// CommitmentCancelled: the investor did not meet its conditions; terminal.
	CommitmentCancelled struct {
		Reason   string `json:"reason"`
		Approval string `json:"approval,omitempty"`
	}

	// DisputeOpened: an enterprise complained. The dispute's id is the event's id.
	// Schema 2 (schema 1 held the complainant's name as a string).
	DisputeOpened struct {
		Complainant Complainant `json:"complainant"`
		Summary     string      `json:"summary"`
	}

	// Complainant is who complained: a name, and the enterprise's credit
	// code when the complaint names one.
	Complainant struct {
		Name       string `json:"name"`
		CreditCode string `json:"credit_code,omitempty"`
	}

	// DisputeResolved: a supervisor decided a dispute.
	DisputeResolved struct {
		DisputeID string  `json:"dispute_id"`
		Outcome   Outcome `json:"outcome"`
		Note      string  `json:"note,omitempty"`
	}

	// SupervisionOrdered: a 督办 order to fulfil by a deadline. Its id is the event's id.
	SupervisionOrdered struct {
		Deadline Date   `json:"deadline"`
		Note     string `json:"note,omitempty"`
	}

	// CommitmentCorrected: a mistake in how the promise was written down
	// (a typo in a name, a wrong reference) is put right. Each change keeps
	// the old value beside the new, so the history reads on its own.
	CommitmentCorrected struct {
		Changes []FieldChange `json:"changes"`
		Reason  string        `json:"reason"`
	}

	// CommitmentHandedOver: after a reorganisation (机构改革) the
	// successor department answers for the promise from now on.
	CommitmentHandedOver struct {
		Department         string `json:"department"`
		PreviousDepartment string `json:"previous_department"`
		Reason             string `json:"reason"`
		Approval           string `json:"approval"`
	}

	// CommitmentVoided: the entry was made in error (no such promise was
	// made); terminal. It leaves every count, sum and rate, and stays in
	// history.
	CommitmentVoided struct {
		Reason   string `json:"reason"`
		Approval string `json:"approval"`
	}
)

// FieldChange is one corrected field: its JSON path, the value before and
// the value after.
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// Outcome is how a dispute was resolved.
type Outcome string

// Dispute states: open until resolved as upheld or rejected.
const (
	DisputeOpen Outcome = "open"
	Upheld      Outcome = "upheld"
	Rejected    Outcome = "rejected"
)

// DisputeStates lists the states of a dispute in a stable order.
var DisputeStates = []Outcome{DisputeOpen, Upheld, Rejected}

// Resolutions lists the outcomes a resolution may give: every dispute
// state but open.
var Resolutions = []Outcome{Upheld, Rejected}

// Resolves reports whether o is one of [Resolutions].
func (o Outcome) Resolves() bool { return slices.Contains(Resolutions, o) }

// Decode returns the event's data as its typed value (a pointer to one of the
// data structs above).
func (e Event) Decode() (any, error) {
	if !e.Type.Valid() {
		return nil, fmt.Errorf("event %s: unknown type %q", e.ID, e.Type)
	}
	if len(e.Data) == 0 || string(e.Data) == "null" {
		// Absent and null alike: null would decode as data with every field empty.
		return nil, fmt.Errorf("event %s (%s): no data", e.ID, e.Type)
	}
	data, err := upcast(e.Type, e.Schema, e.Data)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", e.ID, err)
	}
	var v any
	switch e.Type {
	case CommitmentMadeType:
		v = &CommitmentMade{}
	case FulfillmentRecordedType:
		v = &FulfillmentRecorded{}
	case FulfillmentReversedType:
		v = &FulfillmentReversed{}
	case CommitmentAmendedType:
		v = &CommitmentAmended{}
	case CommitmentWaivedType:
		v = &CommitmentWaived{}
	case CommitmentCancelledType:
		v = &CommitmentCancelled{}
	case DisputeOpenedType:
		v = &DisputeOpened{}
	case DisputeResolvedType:
		v = &DisputeResolved{}
	case SupervisionOrderedType:
		v = &SupervisionOrdered{}
	case CommitmentCorrectedType:
		v = &CommitmentCorrected{}
	case CommitmentHandedOverType:
		v = &CommitmentHandedOver{}
	case CommitmentVoidedType:
		v = &CommitmentVoided{}
	case OrderAcknowledgedType:
		v = &OrderSignedFor{}
	case OrderProgressType:
		v = &OrderProgressed{}
	case OrderClosureRequestedType:
		v = &OrderClosureAsked{}
	case OrderClosedType:
		v = &OrderClosedData{}
	case ExtensionRequestedType:
		v = &ExtensionRequested{}
	case ExtensionDecidedType:
		v = &ExtensionDecided{}
	default:
		return nil, fmt.Errorf("event %s: type %q has no data type in Decode", e.ID, e.Type)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("event %s (%s): %w", e.ID, e.Type, err)
	}
	return v, nil
}
