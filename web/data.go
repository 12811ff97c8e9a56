package web

import (
	"html/template"

	"promiseledger/alerts"
	"promiseledger/imports"
	"promiseledger/projections"
)

// SignIn is the sign-in and password pages' data.
type SignIn struct{ Name, Error, Back string }

// Dashboard is the prefecture's page.
type Dashboard struct {
	AsOf, On     string // as the form shows them
	Counties     []projections.CountySummary
	Total        projections.Tally
	OverdueChart template.HTML
	AgingChart   template.HTML
}

// Choice is one option of a select.
type Choice struct {
	Value, Label string
	Selected     bool
}

// Column is a sortable column of the county list.
type Column struct {
	Label, URL string
	Sorted     string // "asc", "desc" or ""
	Num        bool
}

// CountyPage is one county's list.
type CountyPage struct {
	Code, Name                       string
	Counties                         []Choice // to switch county (supervisors)
	Kinds, Statuses, Lights          []Choice
	Department, Q                    string
	Overdue                          bool
	Columns                          []Column
	Items                            []projections.CommitmentView
	Page                             int
	PrevURL, NextURL                 string
	ExportURL, ExportCSVURL          string
	MayImport                        bool
	Import                           *imports.Report
	ImportSummary, ImportError       string
	Detail                           projections.CountyDetail
	OutstandingWan, OutstandingOther string
}

// Field is one input of an action's form.
type Field struct {
	Name, Label, Type string // Type: text, date, number, textarea, select
	Options           []Choice
	Value             string
	Error             string // the API's error for this field
	Required          bool
}

// Form is one action on a commitment.
type Form struct {
	Action    string // the API's route after /commitments/{id}/, e.g. fulfillments
	Label     string
	Fields    []Field
	Key       string // the idempotency key of this rendering
	Error     string // the API's error not tied to a field
	Open      bool   // shown open: it has an error
	Multipart bool   // it sends a file
}

// EventRow is one event of the timeline.
type EventRow struct {
	ID, Type, EffectiveOn, RecordedAt, Office, Person, Role string
	Summary, Evidence, Hash                                 string
	Files                                                   []string
}

// OrderRow is one supervision order with the forms of its next steps.
type OrderRow struct {
	projections.OrderView
	Forms []Form
}

// RequestRow is one extension request with the forms of its decision.
type RequestRow struct {
	projections.RequestView
	Forms []Form
}

// DisputeRow is one complaint with the form of its resolution.
type DisputeRow struct {
	projections.DisputeView
	Forms []Form
}

// CommitmentPage is one commitment.
type CommitmentPage struct {
	C        projections.CommitmentView
	Events   []EventRow
	Forms    []Form
	Orders   []OrderRow
	Requests []RequestRow
	Disputes []DisputeRow
}

// AlertsPage is the open alerts.
type AlertsPage struct {
	Alerts   []alerts.Alert
	Rules    []Choice
	Counties []Choice
	Rule     string
	Stream   string
	Words    template.JS // the rule words, as JSON for the script
}

// AuditPage is the auditor's page.
type AuditPage struct {
	Ran      bool
	OK       bool
	Events   int
	Seals    int
	Problems []string
	ProofID  string
	Proof    string // the proof as JSON, pretty
	ProofErr string
}

// Ranked is one county in a ranking of the bulletin.
type Ranked struct {
	Rank        int
	Code, Name  string
	Figure      string
	Commitments int
}

// Bulletin is the printable notice.
type Bulletin struct {
	Date, ThisMonth, LastMonth string
	ByOverdue, ByKept          []Ranked
	Months                     []projections.MonthTally
	Orders                     []projections.OpenOrder
	Overdue                    []projections.OverdueCounty
	TotalOverdue, TotalWan     string
	XLSX                       string
}

// UsersPage is the admin's page of accounts.
type UsersPage struct {
	Users    []UserRow
	Counties []Choice
	Roles    []Choice
	Error    string
	Form     map[string]string
}

// UserRow is one account.
type UserRow struct {
	Name, Office, Role, County, Created string
	Active                              bool
}
