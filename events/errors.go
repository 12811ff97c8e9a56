package events

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the domain returns matches one of these with
// [errors.Is]; the HTTP layer maps them to status codes and error codes.
var (
	ErrValidation           = errors.New("validation failed")
	ErrNotFound             = errors.New("not found")
	ErrExceedsOutstanding   = errors.New("exceeds outstanding")
	ErrInvalidState         = errors.New("invalid state")
	ErrConflict             = errors.New("concurrent append conflict")
	ErrIdempotencyKeyReused = errors.New("idempotency key reused with a different request")
	ErrVersionMismatch      = errors.New("version mismatch")
	ErrNotReady             = errors.New("not ready")
	// ErrDamaged: what the ledger stores is not what it wrote — a message
	// missing from a stream that denies deletes, one it cannot decode, a
	// broken hash chain, a seal that does not match its events. The ledger
	// then refuses to serve rather than answer from damaged data.
	ErrDamaged = errors.New("ledger data damaged")
)

// DamageError says where the stored data is damaged and how, in words an
// operator can act on. It matches ErrDamaged.
type DamageError struct {
	Stream   string // the stream, e.g. LEDGER or ALERTS; empty when not one stream's
	Sequence uint64 // the stream sequence at fault; 0 when not one message
	Problem  string // what is wrong
}

func (e *DamageError) Error() string {
	where := "ledger data"
	switch {
	case e.Stream != "" && e.Sequence > 0:
		where = fmt.Sprintf("stream %s at sequence %d", e.Stream, e.Sequence)
	case e.Stream != "":
		where = "stream " + e.Stream
	case e.Sequence > 0:
		where = fmt.Sprintf("ledger data at sequence %d", e.Sequence)
	}
	return "damaged " + where + ": " + e.Problem
}

// Is makes a DamageError match ErrDamaged.
func (e *DamageError) Is(target error) bool { return target == ErrDamaged }

// FieldError is a rejected input: which field, and which rule it broke.
// It matches ErrValidation unless Kind says otherwise (for example a
// fulfilment that exceeds what is outstanding matches ErrExceedsOutstanding).
type FieldError struct {
	Field string // JSON path of the field at fault, e.g. "quantity.value"; empty when no single field is
	Rule  string // the rule, in words, e.g. "must be a date YYYY-MM-DD"
	Kind  error  // the sentinel; ErrValidation when nil
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Rule
	}
	return e.Field + ": " + e.Rule
}

// Unwrap returns the sentinel this error matches.
func (e *FieldError) Unwrap() error {
	if e.Kind == nil {
		return ErrValidation
	}
	return e.Kind
}

func invalid(field, rule string, args ...any) error {
	return &FieldError{Field: field, Rule: fmt.Sprintf(rule, args...)}
}

func ruleError(kind error, field, rule string, args ...any) error {
	return &FieldError{Field: field, Rule: fmt.Sprintf(rule, args...), Kind: kind}
}

// ConflictError reports that a subject (a commitment's, an alert's, the
// seals') moved on between reading it and appending to it: another writer
// appended first.
type ConflictError struct {
	Subject  string // where the append was refused, e.g. ledger.532301.<commitment-id>
	Expected uint64 // the last stream sequence the writer had seen there
	Err      error  // the store's own error
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("append to %s: expected last sequence %d: %v", e.Subject, e.Expected, e.Err)
}

// Is makes a ConflictError match ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Unwrap returns the store's error.
func (e *ConflictError) Unwrap() error { return e.Err }
