package events

import "strings"

// Correct puts right how a promise was written down: POST …/corrections.
// Only the fields given change; each must differ from what is recorded.
// Allowed in every state, void included: a record stays readable.
type Correct struct {
	Fields struct {
		Project    *string `json:"project"`
		Department *string `json:"department"`
		Investor   *struct {
			Name       *string `json:"name"`
			CreditCode *string `json:"credit_code"`
		} `json:"investor"`
		Description *string `json:"description"`
		Reference   *string `json:"reference"`
	} `json:"fields"`
	Reason string `json:"reason"`
}

func (Correct) Type() Type { return CommitmentCorrectedType }

// Decide checks each new value as a new commitment's would be checked.
func (x Correct) Decide(c *Commitment, today Date) (any, Date, error) {
	var out CommitmentCorrected
	f := x.Fields
	var name, code *string
	if f.Investor != nil {
		name, code = f.Investor.Name, f.Investor.CreditCode
	}
	for _, p := range []struct {
		path     string
		value    *string
		kind     TextKind
		required bool
		max      int
	}{
		{"project", f.Project, NameOrCode, true, maxShortText},
		{"department", f.Department, NameOrCode, true, maxShortText},
		{"investor.name", name, NameOrCode, true, maxShortText},
		{"investor.credit_code", code, NameOrCode, true, maxShortText},
		{"description", f.Description, FreeText, true, maxLongText},
		{"reference", f.Reference, NameOrCode, false, maxShortText},
	} {
		if p.value == nil {
			continue
		}
		field := "fields." + p.path
		v, err := text(field, *p.value, p.kind, p.required, p.max)
		if err != nil {
			return nil, Date{}, err
		}
		if p.path == "investor.credit_code" {
			v = strings.ToUpper(v)
			if err := ValidateCreditCode(v); err != nil {
				if fe, ok := err.(*FieldError); ok {
					fe.Field = field
				}
				return nil, Date{}, err
			}
		}
		old := *c.field(p.path)
		if v == old {
			return nil, Date{}, invalid(field, "is already %q: nothing to correct", old)
		}
		out.Changes = append(out.Changes, FieldChange{Field: p.path, Old: old, New: v})
	}
	if len(out.Changes) == 0 {
		return nil, Date{}, invalid("fields", "must name at least one of %s", strings.Join(Correctable, ", "))
	}
	var err error
	if out.Reason, err = text("reason", x.Reason, FreeText, true, maxLongText); err != nil {
		return nil, Date{}, err
	}
	return &out, today, nil
}

// HandOver passes a promise to the department that succeeds the one that
// answered for it (机构改革): POST …/handover. A promise outlives the
// office that made it.
type HandOver struct {
	Department string `json:"department"`
	Reason     string `json:"reason"`
	Approval   string `json:"approval"`
}

func (HandOver) Type() Type { return CommitmentHandedOverType }

// Decide needs a new department, a reason and an approval; a void entry
// is not handed over.
func (h HandOver) Decide(c *Commitment, today Date) (any, Date, error) {
	var out CommitmentHandedOver
	var err error
	if out.Department, err = text("department", h.Department, NameOrCode, true, maxShortText); err != nil {
		return nil, Date{}, err
	}
	if out.Department == c.Department {
		return nil, Date{}, invalid("department", "is already the department that answers for it")
	}
	if out.Reason, err = text("reason", h.Reason, FreeText, true, maxLongText); err != nil {
		return nil, Date{}, err
	}
	if out.Approval, err = text("approval", h.Approval, NameOrCode, true, maxShortText); err != nil {
		return nil, Date{}, err
	}
	if c.Status() == Void {
		return nil, Date{}, ruleError(ErrInvalidState, "", "commitment is void: an entry made in error is not handed over")
	}
	out.PreviousDepartment = c.Department
	return &out, today, nil
}

// VoidEntry marks an entry made in error as void: POST …/voiding. Unlike a
// cancellation it says nothing of the investor: no such promise was made.
type VoidEntry struct {
	Reason   string `json:"reason"`
	Approval string `json:"approval"`
}

func (VoidEntry) Type() Type { return CommitmentVoidedType }

// Decide needs a reason and an approval; a void entry is not voided again.
func (v VoidEntry) Decide(c *Commitment, today Date) (any, Date, error) {
	var out CommitmentVoided
	var err error
	if out.Reason, err = text("reason", v.Reason, FreeText, true, maxLongText); err != nil {
		return nil, Date{}, err
	}
	if out.Approval, err = text("approval", v.Approval, NameOrCode, true, maxShortText); err != nil {
		return nil, Date{}, err
	}
	if c.Status() == Void {
		return nil, Date{}, ruleError(ErrInvalidState, "", "commitment is already void")
	}
	return &out, today, nil
}
