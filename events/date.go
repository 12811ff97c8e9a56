package events

import (
	"encoding/json"
	"fmt"
	"time"
)

// Date is a calendar date (YYYY-MM-DD) in the jurisdiction's local calendar:
// a due date, a fulfilment date, the date a promise was made. It is not an
// instant; "today" is the clock's instant seen in the jurisdiction's zone.
// The zero Date is "no date".
type Date struct {
	t time.Time // midnight UTC of the date
}

const dateLayout = "2006-01-02"

// ParseDate parses YYYY-MM-DD strictly. 0001-01-01 is refused: it would be
// the zero Date, which means no date.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil || len(s) != len(dateLayout) || t.IsZero() {
		return Date{}, fmt.Errorf("must be a date YYYY-MM-DD")
	}
	return Date{t}, nil
}

// MustDate parses a date; it panics on bad input (constants and tests).
func MustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// DateOf is the calendar date of instant t in zone loc.
func DateOf(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d.t.IsZero() }

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.t.Before(e.t) }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.t.After(e.t) }

// DaysSince is the number of whole days from e to d (negative when d is before e).
func (d Date) DaysSince(e Date) int { return int(d.t.Sub(e.t).Hours() / 24) }

// AddDays returns the date n days later.
func (d Date) AddDays(n int) Date { return Date{d.t.AddDate(0, 0, n)} }

// String writes YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.t.Format(dateLayout)
}

// MarshalJSON writes "YYYY-MM-DD", or null for the zero Date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	p, err := ParseDate(s)
	if err != nil {
		return fmt.Errorf("date %q: %w", s, err)
	}
	*d = p
	return nil
}

// parseDateField validates a date given by a client for the named field.
func parseDateField(field, s string) (Date, error) {
	if s == "" {
		return Date{}, invalid(field, "is required: a date YYYY-MM-DD")
	}
	d, err := ParseDate(s)
	if err != nil {
		return Date{}, invalid(field, "must be a date YYYY-MM-DD")
	}
	if d.t.Year() < 1949 || d.t.Year() > 2200 {
		return Date{}, invalid(field, "must be between 1949 and 2200")
	}
	return d, nil
}

// GobEncode lets a Date travel in a checkpoint (package gob).
func (d Date) GobEncode() ([]byte, error) { return d.t.MarshalBinary() }

// GobDecode reads what GobEncode wrote.
func (d *Date) GobDecode(b []byte) error { return d.t.UnmarshalBinary(b) }
