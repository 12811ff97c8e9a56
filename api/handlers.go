package api

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"promiseledger/docs"
	"promiseledger/events"
	"promiseledger/ledger"
	"promiseledger/projections"
)

const (
	defaultLimit = 50
	maxLimit     = 500
	maxKeyLength = 255
)

func (s *Server) handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// readyzAnswer is the answer of /readyz, to anyone: no counts.
type readyzAnswer struct {
	Ready   bool   `json:"ready"`
	Problem string `json:"problem,omitempty"` // why not, when not
}

func (s *Server) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, problem := s.readiness(r)
		status := http.StatusOK
		if !ok {
			status = http.StatusServiceUnavailable
		}
		encode(w, status, readyzAnswer{Ready: ok, Problem: problem})
	})
}

func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(docs.OpenAPI)
	})
}

func (s *Server) handleNotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{status: http.StatusNotFound, Code: "not_found", Message: "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
}

// meta reads the headers every write shares: Idempotency-Key and If-Match.
// The digest identifies the request: its route, path values and decoded body.
func meta(r *http.Request, route string, cmd any) (ledger.Meta, error) {
	m := ledger.Meta{Actor: principal(r).Actor(), IdempotencyKey: r.Header.Get("Idempotency-Key")}
	if k := m.IdempotencyKey; k != "" {
		if len(k) > maxKeyLength || strings.IndexFunc(k, func(c rune) bool { return c < 0x20 || c > 0x7e }) >= 0 {
			return m, badRequest("validation_failed", "Idempotency-Key", "Idempotency-Key: must be 1 to %d printable ASCII characters", maxKeyLength)
		}
	}
	var err error
	if m.IfMatch, err = ifMatch(r.Header); err != nil {
		return m, err
	}
	body, err := json.Marshal(cmd)
	if err != nil {
		return m, err
	}
	h := sha256.New()
	// The principal is part of the request: another office's key is not a retry of ours.
	h.Write([]byte(m.Actor.Name + "\n" + route + "\n" + r.PathValue("id") + "\n" + r.PathValue("dispute_id") + "\n"))
	h.Write(body)
	m.Digest = hex.EncodeToString(h.Sum(nil))
	return m, nil
}

// ifMatch reads If-Match (RFC 9110, section 13.1.1): "*" or a list of
// entity tags. It returns the versions the client accepts, none for no
// header or "*" (the commitment exists: that is checked before), else one
// per tag: the version that a strong tag names as the ledger writes its ETag
// ("3"), or 0, which no version is, for a tag that cannot match — a weak tag
// (W/"3": never a match in If-Match) or one the ledger never gave ("03",
// "+3"). A value that is not "*" or a list of entity tags is 400.
func ifMatch(h http.Header) ([]int, error) {
	v := strings.Trim(strings.Join(h.Values("If-Match"), ","), " \t")
	if v == "*" {
		return nil, nil
	}
	malformed := badRequest("validation_failed", "If-Match", `If-Match: must be * or entity tags in quotes, as ETag gives them, e.g. "3"`)
	var versions []int
	for v != "" {
		v = strings.TrimLeft(v, " \t")
		if rest, ok := strings.CutPrefix(v, ","); ok { // an empty element of the list
			v = rest
			continue
		}
		weak := strings.HasPrefix(v, "W/")
		if weak {
			v = v[2:]
		}
		if !strings.HasPrefix(v, `"`) {
			return nil, malformed
		}
		end := strings.IndexByte(v[1:], '"') + 1
		if end == 0 {
			return nil, malformed
		}
		opaque := v[1:end]
		for i := 0; i < len(opaque); i++ {
			if c := opaque[i]; c < 0x21 || c == 0x7f { // etagc: %x21 / %x23-7E / obs-text
				return nil, malformed
			}
		}
		version := 0
		if n, err := strconv.Atoi(opaque); err == nil && n > 0 && strconv.Itoa(n) == opaque && !weak {
			version = n
		}
		versions = append(versions, version)
		v = strings.TrimLeft(v[end+1:], " \t")
		if v != "" && v[0] != ',' {
			return nil, malformed
		}
	}
	if len(h.Values("If-Match")) > 0 && len(versions) == 0 {
		return nil, malformed // present but empty ("", ","): a condition that names nothing is no condition
	}
	return versions, nil
}

// writeCommitment answers with a commitment, its version as ETag.
func (s *Server) writeCommitment(w http.ResponseWriter, status int, c *events.Commitment, today events.Date) {
	w.Header().Set("ETag", strconv.Quote(strconv.Itoa(c.Version)))
	encode(w, status, projections.ViewOf(c, s.reads.Jurisdiction(), today))
}

func (s *Server) handleMake() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var cmd events.MakeCommitment
		if err := decode(w, r, &cmd); err != nil {
			writeError(w, err)
			return
		}
		// Another county's commitment is refused; a missing or unknown
		// county is left to validation, which names the field.
		if _, known := s.reads.Jurisdiction().County(cmd.County); known && !principal(r).SeesCounty(cmd.County) {
			p := principal(r)
			s.forbidden(w, r, "county", "county: a county office records only its own county's commitments ("+p.County+")")
			return
		}
		m, err := meta(r, "make", cmd)
		if err != nil {
			writeError(w, err)
			return
		}
		c, err := s.ledger.Make(r.Context(), cmd, m)
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("Location", "/api/v1/commitments/"+c.ID)
		s.writeCommitment(w, http.StatusCreated, c, s.reads.Today())
	})
}

// handleCommand serves a POST that appends one event to a commitment. path,
// when not nil, copies path values into the command.
func handleCommand[C events.Command](s *Server, route string, path func(*http.Request, *C)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !s.visible(r, id) {
			writeError(w, notFound(id))
			return
		}
		var cmd C
		if err := decode(w, r, &cmd); err != nil {
			writeError(w, err)
			return
		}
		if path != nil {
			path(r, &cmd)
		}
		if err := s.checkCited(r, any(cmd)); err != nil {
			writeError(w, err)
			return
		}
		m, err := meta(r, route, cmd)
		if err != nil {
			writeError(w, err)
			return
		}
		c, err := s.ledger.Execute(r.Context(), id, cmd, m)
		if err != nil {
			writeError(w, err)
			return
		}
		s.writeCommitment(w, http.StatusCreated, c, s.reads.Today())
	})
}

// visible reports whether the commitment exists and the principal may see
// it: another county's commitment is, to a county office, not there at all.
func (s *Server) visible(r *http.Request, id string) bool {
	if !validID(id) {
		return false
	}
	c, ok := s.reads.Live().Commitment(id)
	return ok && principal(r).SeesCounty(c.County)
}

func validID(id string) bool {
	_, err := uuid.Parse(id)
	return err == nil && len(id) == 36
}

func notFound(id string) error {
	return &apiError{status: http.StatusNotFound, Code: "not_found", Message: "no commitment " + strconv.Quote(id)}
}

// moment is what a read answers for: the live view, or the view as of a
// past instant.
type moment struct {
	at   time.Time   // the instant answered: now, for the live view
	past bool        // at is before now: answer with what was recorded by then
	on   events.Date // ?on=: the facts as they stood on that date (zero: none)
}

// today is the date on which overdue is judged: on, or the date of at.
func (m moment) today(j *events.Jurisdiction) events.Date {
	if !m.on.IsZero() {
		return m.on
	}
	return j.Today(m.at)
}

// live reports whether the live view answers m.
func (m moment) live() bool { return !m.past && m.on.IsZero() }

// onParam is what a view answers about ?on=, when it was given.
func (m moment) onParam() *events.Date {
	if m.on.IsZero() {
		return nil
	}
	return &m.on
}

// earliestAsOf is the earliest instant a view may be asked for. The ledger
// recorded nothing before it, and what comes before it is mostly a client's
// unset time (0001-01-01T00:00:00Z), for which an empty ledger, with nothing
// overdue, would be a misleading answer; and dates around the year 1 or
// before it cannot be written as the ledger's dates are.
var earliestAsOf = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// momentOf is the moment of instant t: the past, or, at or after now, the
// live view, answered as of now, the latest instant the ledger can show
// (and the only one its dates can be judged on: today, not a day to come).
// An instant before earliestAsOf is 400.
func (s *Server) momentOf(t time.Time) (moment, error) {
	if t.Before(earliestAsOf) {
		return moment{}, badRequest("validation_failed", "as_of", "as_of: must not be before %s: the ledger recorded nothing earlier", earliestAsOf.Format(time.RFC3339))
	}
	now := s.reads.Now()
	if t.Before(now) {
		return moment{at: t.UTC(), past: true}, nil
	}
	return moment{at: now}, nil
}

// asOf reads ?as_of=: an RFC 3339 instant, or a date YYYY-MM-DD, which
// means the end of that day in the jurisdiction's calendar (what the ledger
// knew when the day was over); absent, it is now. Every view that takes
// as_of reads it here.
func (s *Server) asOf(r *http.Request) (moment, error) {
	m, err := s.recordedBy(r)
	if err != nil {
		return m, err
	}
	m.on, err = s.factsOn(r)
	return m, err
}

// recordedBy reads ?as_of= (see asOf).
func (s *Server) recordedBy(r *http.Request) (moment, error) {
	v := r.URL.Query().Get("as_of")
	if v == "" {
		return moment{at: s.reads.Now()}, nil
	}
	if _, err := events.ParseDate(v); err == nil {
		start, _ := time.ParseInLocation("2006-01-02", v, s.reads.Jurisdiction().Location)
		return s.momentOf(start.AddDate(0, 0, 1).Add(-time.Nanosecond))
	}
	t, err := parseInstant("as_of", v)
	if err != nil {
		return moment{}, err
	}
	return s.momentOf(t)
}

// factsOn reads ?on=YYYY-MM-DD: the facts as they stood on that date, by
// their own dates. A date to come is refused: its facts are not known.
func (s *Server) factsOn(r *http.Request) (events.Date, error) {
	v := r.URL.Query().Get("on")
	if v == "" {
		return events.Date{}, nil
	}
	d, err := events.ParseDate(v)
	if err != nil {
		return d, badRequest("validation_failed", "on", "on: must be a date YYYY-MM-DD")
	}
	if today := s.reads.Today(); d.After(today) {
		return d, badRequest("validation_failed", "on", "on: must not be after today (%s): the facts of a day to come are not known", today)
	}
	if d.Before(events.DateOf(earliestAsOf, time.UTC)) {
		return d, badRequest("validation_failed", "on", "on: must not be before %s", events.DateOf(earliestAsOf, time.UTC))
	}
	return d, nil
}

// parseInstant reads an instant in RFC 3339.
func parseInstant(field, v string) (time.Time, error) {
	if err := checkOffset(field, v); err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, badRequest("validation_failed", field, "%s: must be an instant in RFC 3339, e.g. 2021-06-30T16:00:00Z", field)
	}
	return t, nil
}

// checkOffset refuses an instant whose offset from UTC (its last six
// characters, ±hh:mm) has hours beyond 23 or minutes beyond 59, which RFC 3339
// does not allow and time.Parse takes (+24:00). Anything else is left to the
// parser.
func checkOffset(field, v string) error {
	if len(v) < 6 {
		return nil
	}
	off := v[len(v)-6:]
	if (off[0] != '+' && off[0] != '-') || off[3] != ':' {
		return nil
	}
	hh, herr := strconv.Atoi(off[1:3])
	mm, merr := strconv.Atoi(off[4:6])
	if herr == nil && merr == nil && (hh > 23 || mm > 59) {
		return badRequest("validation_failed", field, "%s: the offset %s is out of range: hours 00 to 23, minutes 00 to 59 (RFC 3339)", field, off)
	}
	return nil
}

func (s *Server) handleGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		m, err := s.asOf(r)
		if err != nil {
			writeError(w, err)
			return
		}
		if !s.visible(r, id) {
			writeError(w, notFound(id))
			return
		}
		today := m.today(s.reads.Jurisdiction())
		if m.live() {
			c, _ := s.reads.Live().Commitment(id)
			s.writeCommitment(w, http.StatusOK, c, today)
			return
		}
		c, err := s.reads.AsOf(r.Context(), id, m.at, m.on)
		if err != nil {
			writeError(w, err)
			return
		}
		s.writeCommitment(w, http.StatusOK, c, today)
	})
}

func (s *Server) handleHistory() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		m, err := s.asOf(r)
		if err != nil {
			writeError(w, err)
			return
		}
		if !s.visible(r, id) {
			writeError(w, notFound(id))
			return
		}
		evs, err := s.reads.History(r.Context(), id)
		if err != nil {
			writeError(w, err)
			return
		}
		known := make([]events.Event, 0, len(evs))
		for _, e := range evs {
			if !m.past || !e.RecordedAt.After(m.at) {
				known = append(known, e)
			}
		}
		if len(known) == 0 {
			writeError(w, notFound(id))
			return
		}
		encode(w, http.StatusOK, map[string]any{"events": known})
	})
}

// listQuery reads the filters of GET /api/v1/commitments.
func (s *Server) listQuery(r *http.Request) (projections.Query, error) {
	v := r.URL.Query()
	q := projections.Query{
		County: v.Get("county"), Kind: events.Kind(v.Get("kind")), Status: events.Status(v.Get("status")),
		Department: v.Get("department"), Limit: defaultLimit, Today: s.reads.Today(),
	}
	if q.County != "" {
		if _, ok := s.reads.Jurisdiction().County(q.County); !ok {
			return q, badRequest("validation_failed", "county", "county: %q is not a county of the jurisdiction", q.County)
		}
	}
	// A county office's list is its own county's, whatever it asks for.
	q.County, q.Nothing = principal(r).Scope(q.County)
	if q.Kind != "" && !q.Kind.Valid() {
		return q, badRequest("validation_failed", "kind", "kind: must be %s", events.OneOf(events.Kinds))
	}
	if q.Status != "" && !validStatus(q.Status) {
		return q, badRequest("validation_failed", "status", "status: must be %s", events.OneOf(events.Statuses))
	}
	if o := v.Get("overdue"); o != "" {
		b, err := strconv.ParseBool(o)
		if err != nil {
			return q, badRequest("validation_failed", "overdue", "overdue: must be true or false")
		}
		q.Overdue = &b
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxLimit {
			return q, badRequest("validation_failed", "limit", "limit: must be a whole number from 1 to %d", maxLimit)
		}
		q.Limit = n
	}
	if err := s.searchQuery(v, &q); err != nil {
		return q, err
	}
	if c := v.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || !validID(string(b)) {
			return q, badRequest("validation_failed", "cursor", "cursor: must be a next_cursor returned by this endpoint")
		}
		q.After = string(b)
	}
	return q, nil
}

func validStatus(st events.Status) bool {
	for _, s := range events.Statuses {
		if s == st {
			return true
		}
	}
	return false
}

func (s *Server) handleList() http.Handler {
	type page struct {
		Items      []projections.CommitmentView `json:"items"`
		NextCursor string                       `json:"next_cursor,omitempty"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		items, more, q, err := s.listed(r, false)
		if err != nil {
			writeError(w, err)
			return
		}
		p := page{Items: make([]projections.CommitmentView, 0, len(items))}
		for _, c := range items {
			p.Items = append(p.Items, projections.ViewOf(c, s.reads.Jurisdiction(), q.Today))
		}
		if more {
			p.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(items[len(items)-1].ID))
		}
		encode(w, http.StatusOK, p)
	})
}

// listed is the commitments the list's filters select, in the view and on
// the date asked for (q.Today): a page of them, or with all every one.
func (s *Server) listed(r *http.Request, all bool) (items []*events.Commitment, more bool, q projections.Query, err error) {
	if q, err = s.listQuery(r); err != nil {
		return nil, false, q, err
	}
	view, m, err := s.viewAt(r)
	if err != nil {
		return nil, false, q, err
	}
	q.Today = m.today(s.reads.Jurisdiction())
	if all {
		q.Limit = math.MaxInt
	}
	items, more = view.List(q)
	return items, more, q, nil
}

// viewAt returns the projection as of ?as_of= and the instant it answers
// for, on whose date overdue is judged.
func (s *Server) viewAt(r *http.Request) (*projections.Projection, moment, error) {
	m, err := s.asOf(r)
	if err != nil {
		return nil, m, err
	}
	p, err := s.view(r, m)
	return p, m, err
}

// view is the projection as of m: the live one, or a past one folded for
// the principal.
func (s *Server) view(r *http.Request, m moment) (*projections.Projection, error) {
	if m.live() {
		return s.reads.Live(), nil
	}
	at := m.at
	if !m.past {
		// The facts of a date, as recorded by now: "now" to the second, so
		// that the views a page asks for at once share one fold.
		at = at.Truncate(time.Second)
	}
	p, err := s.reads.Past().ViewOn(r.Context(), principal(r).Name, at, m.on)
	var pending *projections.PendingError
	if errors.As(err, &pending) {
		s.refused(r, principal(r), http.StatusTooManyRequests, err.Error())
	}
	return p, err
}

func (s *Server) handleCounties() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, m, err := s.viewAt(r)
		if err != nil {
			writeError(w, err)
			return
		}
		j := s.jurisdiction(r)
		answer := map[string]any{"as_of": m.at.Format(time.RFC3339), "counties": p.Counties(j, m.today(j))}
		if on := m.onParam(); on != nil {
			answer["on"] = on
		}
		encode(w, http.StatusOK, answer)
	})
}

func (s *Server) handleCounty() http.Handler {
	type detail struct {
		AsOf string       `json:"as_of"`
		On   *events.Date `json:"on,omitempty"`
		projections.CountyDetail
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j := s.jurisdiction(r)
		county, ok := j.County(r.PathValue("code"))
		if !ok {
			writeError(w, &apiError{status: http.StatusNotFound, Code: "not_found", Message: "no county " + strconv.Quote(r.PathValue("code")) + " in the jurisdiction"})
			return
		}
		p, m, err := s.viewAt(r)
		if err != nil {
			writeError(w, err)
			return
		}
		encode(w, http.StatusOK, detail{AsOf: m.at.Format(time.RFC3339), On: m.onParam(), CountyDetail: p.County(j, county, m.today(j))})
	})
}

func (s *Server) handleAging() http.Handler {
	type aging struct {
		AsOf string       `json:"as_of"`
		On   *events.Date `json:"on,omitempty"`
		projections.Aging
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, m, err := s.viewAt(r)
		if err != nil {
			writeError(w, err)
			return
		}
		j := s.jurisdiction(r)
		encode(w, http.StatusOK, aging{AsOf: m.at.Format(time.RFC3339), On: m.onParam(), Aging: p.Aging(j, m.today(j))})
	})
}

// jurisdiction is the part of the jurisdiction the principal sees: a county
// office sees its own county only.
func (s *Server) jurisdiction(r *http.Request) *events.Jurisdiction {
	j := s.reads.Jurisdiction()
	if county, _ := principal(r).Scope(""); county != "" {
		return j.Only(county)
	}
	return j
}

// searchParams are the search filters the list, the investors and the
// projects take.
var searchParams = []string{"q", "credit_code", "investor", "project", "actor", "event_type", "light", "due_from", "due_to", "recorded_from", "recorded_to"}

// searchQuery reads the search filters into q: q= words (each must appear),
// exact credit_code, actor and event_type, parts of investor and project
// names, and dates YYYY-MM-DD bounding the due date and the first
// recording (recorded_*: days in the jurisdiction's calendar, inclusive).
func (s *Server) searchQuery(v url.Values, q *projections.Query) error {
	q.Words = strings.Fields(v.Get("q"))
	q.CreditCode = strings.ToUpper(v.Get("credit_code"))
	q.Investor, q.Project, q.Actor = v.Get("investor"), v.Get("project"), v.Get("actor")
	if l := v.Get("light"); l != "" {
		q.Light = events.Light(l)
		if !slices.Contains(events.Lights, q.Light) {
			return badRequest("validation_failed", "light", "light: must be %s", events.OneOf(events.Lights))
		}
	}
	q.DueSoonDays, q.AckDays = s.reads.Jurisdiction().DueSoonDays, s.reads.Jurisdiction().AckDays
	if t := v.Get("event_type"); t != "" {
		q.EventType = events.Type(t)
		if !q.EventType.Valid() {
			return badRequest("validation_failed", "event_type", "event_type: must be %s", events.OneOf(events.Types))
		}
	}
	date := func(name string) (events.Date, error) {
		d := v.Get(name)
		if d == "" {
			return events.Date{}, nil
		}
		parsed, err := events.ParseDate(d)
		if err != nil {
			return events.Date{}, badRequest("validation_failed", name, "%s: must be a date YYYY-MM-DD", name)
		}
		return parsed, nil
	}
	var err error
	if q.DueFrom, err = date("due_from"); err != nil {
		return err
	}
	if q.DueTo, err = date("due_to"); err != nil {
		return err
	}
	loc := s.reads.Jurisdiction().Location
	from, err := date("recorded_from")
	if err != nil {
		return err
	}
	if !from.IsZero() {
		q.RecordedFrom, _ = time.ParseInLocation("2006-01-02", from.String(), loc)
	}
	to, err := date("recorded_to")
	if err != nil {
		return err
	}
	if !to.IsZero() {
		start, _ := time.ParseInLocation("2006-01-02", to.String(), loc)
		q.RecordedTo = start.AddDate(0, 0, 1).Add(-time.Nanosecond)
	}
	return nil
}

// groupQuery is the query of the investors and projects views: the search
// filters and the principal's county scope, judged on today (or ?as_of=).
func (s *Server) groupQuery(r *http.Request) (projections.Query, error) {
	q := projections.Query{Today: s.reads.Today()}
	q.County, q.Nothing = principal(r).Scope("")
	return q, s.searchQuery(r.URL.Query(), &q)
}

func (s *Server) handleInvestors() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := s.groupQuery(r)
		if err != nil {
			writeError(w, err)
			return
		}
		encode(w, http.StatusOK, map[string]any{"investors": s.reads.Live().Investors(q, s.reads.Jurisdiction())})
	})
}

func (s *Server) handleInvestor() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := s.groupQuery(r)
		if err != nil {
			writeError(w, err)
			return
		}
		code := strings.ToUpper(r.PathValue("credit_code"))
		d, ok := s.reads.Live().Investor(code, q, s.reads.Jurisdiction())
		if !ok {
			writeError(w, &apiError{status: http.StatusNotFound, Code: "not_found", Message: "no promise to an investor with credit code " + strconv.Quote(code)})
			return
		}
		encode(w, http.StatusOK, d)
	})
}

func (s *Server) handleProjects() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := s.groupQuery(r)
		if err != nil {
			writeError(w, err)
			return
		}
		encode(w, http.StatusOK, map[string]any{"projects": s.reads.Live().Projects(q, s.reads.Jurisdiction())})
	})
}
