package api

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"promiseledger/access"
	"promiseledger/alerts"
	"promiseledger/events"
	"promiseledger/imports"
	"promiseledger/internal/sheet"
	"promiseledger/projections"
	"promiseledger/web"
)

// pageSize is the number of commitments on a page of a county's list.
const pageSize = 50

// asPrincipal puts the visitor's principal where the API's read helpers
// look for it.
func asPrincipal(r *http.Request) *http.Request {
	return r.WithContext(contextWithPrincipal(r.Context(), visitorOf(r).p))
}

// pageError shows an API error as a page.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	ae := apiErrorOf(w, err)
	s.renderStatus(w, r, ae.status, "error", strconv.Itoa(ae.status), ae.Message)
}

// pageView is the view a page asks for (as_of, on), the visitor's
// jurisdiction and the date judged on; false when an error page was sent.
func (s *Server) pageView(w http.ResponseWriter, r *http.Request) (*projections.Projection, *events.Jurisdiction, events.Date, bool) {
	m, err := s.asOf(r)
	if err != nil {
		s.pageError(w, r, err)
		return nil, nil, events.Date{}, false
	}
	view, err := s.view(r, m)
	if err != nil {
		s.pageError(w, r, err)
		return nil, nil, events.Date{}, false
	}
	j := s.jurisdiction(r)
	return view, j, m.today(j), true
}

// handleDashboard is the prefecture's page: every county the visitor may
// see, with totals, lights and two charts, as of the dates asked for.
func (s *Server) handleDashboard() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = asPrincipal(r)
		t := web.Words(lang(r))
		view, j, today, ok := s.pageView(w, r)
		if !ok {
			return
		}
		d := web.Dashboard{AsOf: r.URL.Query().Get("as_of"), On: r.URL.Query().Get("on"), Counties: view.Counties(j, today), Total: view.Total(j, today)}
		var overdue []web.Bar
		for _, c := range d.Counties {
			overdue = append(overdue, web.Bar{Label: c.Name, Value: float64(c.Overdue), Text: strconv.Itoa(c.Overdue)})
		}
		d.OverdueChart = web.Bars(t["chart.overdue"], overdue)
		var aging []web.Bar
		for _, b := range view.Aging(j, today).Total {
			label := b.Bucket
			if w, ok := t["aging."+b.Bucket]; ok {
				label = w
			}
			aging = append(aging, web.Bar{Label: label, Value: float64(b.Commitments), Text: strconv.Itoa(b.Commitments)})
		}
		d.AgingChart = web.Bars(t["chart.aging"], aging)
		s.render(w, r, "dashboard", t["nav.dashboard"], d)
	})
}

// handleCountiesPage sends a visitor to a county's page: their own, or the one
// chosen.
func (s *Server) handleCountiesPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := r.URL.Query().Get("code")
		if own := visitorOf(r).p.County; own != "" {
			code = own
		}
		if _, ok := s.reads.Jurisdiction().County(code); !ok {
			code = s.reads.Jurisdiction().Counties[0].Code
		}
		http.Redirect(w, r, "/counties/"+code, http.StatusSeeOther)
	})
}

// sortKeys are the county list's sortable columns: the query's name, the
// label's word, and how two commitments compare.
var sortKeys = []struct {
	key, label string
	num        bool
	less       func(a, b projections.CommitmentView) int
}{
	{"project", "project", false, func(a, b projections.CommitmentView) int { return strings.Compare(a.Project, b.Project) }},
	{"kind", "kind", false, func(a, b projections.CommitmentView) int { return strings.Compare(string(a.Kind), string(b.Kind)) }},
	{"department", "department", false, func(a, b projections.CommitmentView) int { return strings.Compare(a.Department, b.Department) }},
	{"investor", "investor", false, func(a, b projections.CommitmentView) int { return strings.Compare(a.Investor.Name, b.Investor.Name) }},
	{"quantity", "quantity", true, func(a, b projections.CommitmentView) int { return byUnit(a.Quantity, b.Quantity) }},
	{"outstanding", "outstanding", true, func(a, b projections.CommitmentView) int { return byUnit(a.Outstanding, b.Outstanding) }},
	{"due", "due", false, func(a, b projections.CommitmentView) int { return strings.Compare(a.Due.String(), b.Due.String()) }},
	{"days_overdue", "days_overdue", true, func(a, b projections.CommitmentView) int { return a.DaysOverdue - b.DaysOverdue }},
	{"status", "status", false, func(a, b projections.CommitmentView) int { return strings.Compare(string(a.Status), string(b.Status)) }},
}

// byUnit orders quantities by unit, then value: 元 are not compared with 亩.
func byUnit(a, b events.Quantity) int {
	if c := strings.Compare(string(a.Unit), string(b.Unit)); c != 0 {
		return c
	}
	return a.Value.Cmp(b.Value)
}

// handleCountyPage is one county's page: its figures, its commitments filtered,
// sorted and paged, the export and the import.
func (s *Server) handleCountyPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.countyPage(w, r, nil, "")
	})
}

func (s *Server) countyPage(w http.ResponseWriter, r *http.Request, report *imports.Report, importErr string) {
	r = asPrincipal(r)
	t := web.Words(lang(r))
	v := visitorOf(r)
	j := s.reads.Jurisdiction()
	county, ok := j.County(r.PathValue("code"))
	if !ok || !v.p.SeesCounty(county.Code) {
		s.renderStatus(w, r, http.StatusNotFound, "error", "404", t["notfound"])
		return
	}
	qv := r.URL.Query()
	// The list's own filters, as the API reads them, for this county.
	lq := url.Values{"county": {county.Code}}
	for _, k := range []string{"kind", "status", "department", "light", "q"} {
		if x := qv.Get(k); x != "" {
			lq.Set(k, x)
		}
	}
	if qv.Get("overdue") == "true" {
		lq.Set("overdue", "true")
	}
	lr := r.Clone(r.Context())
	lr.URL = &url.URL{Path: r.URL.Path, RawQuery: lq.Encode()}
	items, _, q, err := s.listed(lr, true)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	views := make([]projections.CommitmentView, 0, len(items))
	for _, c := range items {
		views = append(views, projections.ViewOf(c, j, q.Today))
	}
	sortBy, desc := qv.Get("sort"), qv.Get("dir") == "desc"
	for _, k := range sortKeys {
		if k.key == sortBy {
			sort.SliceStable(views, func(a, b int) bool {
				if desc {
					return k.less(views[b], views[a]) < 0
				}
				return k.less(views[a], views[b]) < 0
			})
		}
	}
	page, _ := strconv.Atoi(qv.Get("page"))
	page = min(max(page, 1), len(views)/pageSize+1)
	from := min((page-1)*pageSize, len(views))
	to := min(from+pageSize, len(views))
	link := func(change map[string]string) string {
		u := url.Values{}
		for k, x := range lq {
			if k != "county" {
				u[k] = x
			}
		}
		if sortBy != "" {
			u.Set("sort", sortBy)
			if desc {
				u.Set("dir", "desc")
			}
		}
		for k, x := range change {
			if x == "" {
				u.Del(k)
			} else {
				u.Set(k, x)
			}
		}
		return "/counties/" + county.Code + "?" + u.Encode()
	}
	d := web.CountyPage{Code: county.Code, Name: county.Name, Department: qv.Get("department"), Q: qv.Get("q"), Overdue: qv.Get("overdue") == "true",
		Items: views[from:to], Page: page, Detail: s.reads.Live().County(j, county, q.Today), MayImport: v.p.May(access.Record),
		Import: report, ImportError: importErr}
	if report != nil {
		d.ImportSummary, _, _ = strings.Cut(report.Text(lang(r)), "\n")
	}
	if from > 0 {
		d.PrevURL = link(map[string]string{"page": strconv.Itoa(page - 1)})
	}
	if to < len(views) {
		d.NextURL = link(map[string]string{"page": strconv.Itoa(page + 1)})
	}
	exp := url.Values{"county": {county.Code}, "lang": {lang(r)}}
	for k, x := range lq {
		exp[k] = x
	}
	d.ExportURL = "/export?" + exp.Encode()
	exp.Set("format", "csv")
	d.ExportCSVURL = "/export?" + exp.Encode()
	for _, k := range sortKeys {
		c := web.Column{Label: t[k.label], Num: k.num, URL: link(map[string]string{"sort": k.key, "dir": "", "page": ""})}
		if k.key == sortBy {
			c.Sorted = "asc"
			if desc {
				c.Sorted = "desc"
			} else {
				c.URL = link(map[string]string{"sort": k.key, "dir": "desc", "page": ""})
			}
		}
		d.Columns = append(d.Columns, c)
	}
	for _, k := range events.Kinds {
		d.Kinds = append(d.Kinds, web.Choice{Value: string(k), Label: t["kind."+string(k)], Selected: qv.Get("kind") == string(k)})
	}
	for _, st := range events.Statuses {
		d.Statuses = append(d.Statuses, web.Choice{Value: string(st), Label: t["status."+string(st)], Selected: qv.Get("status") == string(st)})
	}
	for _, l := range events.Lights {
		d.Lights = append(d.Lights, web.Choice{Value: string(l), Label: t["light."+string(l)], Selected: qv.Get("light") == string(l)})
	}
	if v.p.County == "" {
		for _, c := range j.Counties {
			d.Counties = append(d.Counties, web.Choice{Value: c.Code, Label: c.Name, Selected: c.Code == county.Code})
		}
	}
	status := http.StatusOK
	if importErr != "" || (report != nil && report.Rejected > 0 && report.Imported+report.Already == 0 && !report.DryRun) {
		status = http.StatusBadRequest
	}
	s.renderStatus(w, r, status, "county", county.Name, d)
}

// handleCountyImport takes a workbook from the county page's form and shows
// the import's report on the page.
func (s *Server) handleCountyImport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := web.Words(lang(r))
		code := r.PathValue("code")
		if !visitorOf(r).p.SeesCounty(code) {
			s.renderStatus(w, r, http.StatusNotFound, "error", "404", t["notfound"])
			return
		}
		file, head, err := r.FormFile("file")
		if err != nil {
			s.countyPage(w, r, nil, t["import.file"]+": "+err.Error())
			return
		}
		defer file.Close()
		var body bytes.Buffer
		mw := newMultipart(&body)
		if err := mw.file("file", head.Filename, file); err != nil {
			s.countyPage(w, r, nil, err.Error())
			return
		}
		mw.close()
		q := url.Values{"county": {code}, "lang": {lang(r)}}
		for _, k := range []string{"dry_run", "skip_invalid"} {
			if r.PostFormValue(k) == "true" {
				q.Set(k, "true")
			}
		}
		rec := s.ask(r, http.MethodPost, "/api/v1/imports?"+q.Encode(), &body, http.Header{"Content-Type": {mw.contentType()}})
		var rep imports.Report
		if err := json.Unmarshal(rec.body.Bytes(), &rep); err != nil || rep.Problems == nil {
			s.countyPage(w, r, nil, apiMessage(rec))
			return
		}
		s.countyPage(w, r, &rep, "")
	})
}

// apiMessage is the message of an API error answer.
func apiMessage(rec *recorded) string {
	var e struct{ Error apiError }
	if json.Unmarshal(rec.body.Bytes(), &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	return http.StatusText(rec.status)
}

// handlePassThrough answers with what the API answers for target (with the
// request's query), as the signed-in person: downloads and the alert stream.
func (s *Server) handlePassThrough(target string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := target
		for _, name := range []string{"sha256"} {
			path = strings.ReplaceAll(path, "{"+name+"}", url.PathEscape(r.PathValue(name)))
		}
		if r.URL.RawQuery != "" {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			path += sep + r.URL.RawQuery
		}
		s.dispatch(w, r, http.MethodGet, path, nil, nil)
	})
}

// commands are the routes a page's form may post to, after
// /commitments/{id}/: the API's command routes.
var commands = regexp.MustCompile(`^(fulfillments|reversals|disputes|amendments|waiver|cancellation|corrections|handover|voiding|extension-requests|supervision-orders)(/[0-9a-f-]{36}/(acknowledgement|progress|closure-request|closure|resolution|decision))?$`)

// handleCommitmentPage is one commitment: its fields, its timeline, and a
// form for each action the visitor may take.
func (s *Server) handleCommitmentPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.commitmentPage(w, r, "", nil, nil)
	})
}

// handleCommitmentAction posts a page's form to the API as the signed-in
// person: on success back to the page, else the page again with the API's
// error beside the field at fault.
func (s *Server) handleCommitmentAction() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, action := r.PathValue("id"), r.PathValue("action")
		if !commands.MatchString(action) {
			s.renderStatus(w, r, http.StatusNotFound, "error", "404", web.Words(lang(r))["notfound"])
			return
		}
		// An evidence file goes to the API's attachments first; the form
		// then cites it.
		if file, head, err := r.FormFile("file"); err == nil {
			defer file.Close()
			var up bytes.Buffer
			mw := newMultipart(&up)
			if err := mw.file("file", head.Filename, file); err != nil {
				s.pageError(w, r, err)
				return
			}
			mw.close()
			rec := s.ask(r, http.MethodPost, "/api/v1/attachments", &up, http.Header{"Content-Type": {mw.contentType()}})
			var att struct {
				SHA256 string `json:"sha256"`
			}
			if rec.status != http.StatusCreated || json.Unmarshal(rec.body.Bytes(), &att) != nil {
				s.commitmentPage(w, r, action, &apiError{status: rec.status, Field: "file", Message: apiMessage(rec)}, r.PostForm)
				return
			}
			r.PostForm.Set("attachments", att.SHA256)
		}
		body, err := formJSON(r.PostForm, s.unitOf(id))
		if err != nil {
			s.commitmentPage(w, r, action, &apiError{status: http.StatusBadRequest, Message: err.Error()}, r.PostForm)
			return
		}
		h := http.Header{"Content-Type": {"application/json"}}
		if key := r.PostFormValue("idempotency_key"); key != "" {
			h.Set("Idempotency-Key", key)
		}
		rec := s.ask(r, http.MethodPost, "/api/v1/commitments/"+url.PathEscape(id)+"/"+action, bytes.NewReader(body), h)
		if rec.status == http.StatusCreated {
			http.Redirect(w, r, "/commitments/"+url.PathEscape(id)+"?done="+url.QueryEscape(action), http.StatusSeeOther)
			return
		}
		var e struct{ Error apiError }
		_ = json.Unmarshal(rec.body.Bytes(), &e)
		e.Error.status = rec.status
		s.commitmentPage(w, r, action, &e.Error, r.PostForm)
	})
}

// unitOf is the unit of a commitment's quantity, which a form's amount is in.
func (s *Server) unitOf(id string) string {
	if c, ok := s.reads.Live().Commitment(id); ok {
		return string(c.Quantity.Unit)
	}
	return ""
}

// formJSON turns a form into the API's JSON body: a field named a.b is
// member b of object a; empty fields are left out; an amount is in the
// commitment's unit; attachments are a list.
func formJSON(form url.Values, unit string) ([]byte, error) {
	body := map[string]any{}
	for name, vals := range form {
		if name == "csrf" || name == "idempotency_key" || len(vals) == 0 || strings.TrimSpace(vals[0]) == "" {
			continue
		}
		val := strings.TrimSpace(vals[0])
		parts := strings.Split(name, ".")
		m := body
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		last := parts[len(parts)-1]
		if last == "attachments" {
			m[last] = strings.Fields(val)
			continue
		}
		m[last] = val
	}
	if q, ok := body["quantity"].(map[string]any); ok && q["unit"] == nil {
		q["unit"] = unit
	}
	return json.Marshal(body)
}

func (s *Server) commitmentPage(w http.ResponseWriter, r *http.Request, failed string, apiErr *apiError, values url.Values) {
	r = asPrincipal(r)
	t := web.Words(lang(r))
	v := visitorOf(r)
	id := r.PathValue("id")
	c, ok := s.reads.Live().Commitment(id)
	if !validID(id) || !ok || !v.p.SeesCounty(c.County) {
		s.renderStatus(w, r, http.StatusNotFound, "error", "404", t["notfound"])
		return
	}
	j := s.reads.Jurisdiction()
	view := projections.ViewOf(c, j, s.reads.Today())
	evs, err := s.reads.History(r.Context(), id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	d := web.CommitmentPage{C: view}
	for _, e := range evs {
		d.Events = append(d.Events, eventRow(e))
	}
	key, _ := randomToken()
	mk := func(action, label string, fields []web.Field) web.Form {
		f := web.Form{Action: action, Label: label, Fields: fields, Key: key}
		if action == failed && apiErr != nil {
			f.Open = true
			if lang(r) == "zh" {
				rule := strings.TrimPrefix(apiErr.Message, apiErr.Field+": ")
				if zh, ok := imports.Chinese(rule); ok {
					apiErr.Message = zh
				}
			}
			matched := false
			for i := range f.Fields {
				f.Fields[i].Value = values.Get(f.Fields[i].Name)
				if apiErr.Field != "" && (apiErr.Field == f.Fields[i].Name || strings.HasPrefix(apiErr.Field, f.Fields[i].Name+".")) {
					f.Fields[i].Error, matched = apiErr.Message, true
				}
			}
			if !matched {
				f.Error = t["error"] + apiErr.Message
			}
			f.Key = values.Get("idempotency_key")
		}
		return f
	}
	field := func(name, label, typ string) web.Field { return web.Field{Name: name, Label: t[label], Type: typ} }
	terminal := view.Status.Terminal()
	if v.p.May(access.Record) && !terminal {
		if view.Status != events.Fulfilled {
			f := mk("fulfillments", t["act.fulfillments"], []web.Field{
				field("quantity.value", "fulfilled", "number"), field("fulfilled_on", "fulfilled_on", "date"),
				field("evidence", "evidence", "textarea"), field("file", "files", "file")})
			f.Multipart = true
			d.Forms = append(d.Forms, f)
			d.Forms = append(d.Forms, mk("extension-requests", t["act.extension-requests"], []web.Field{field("due", "due", "date"), field("reason", "reason", "textarea")}))
		}
		var kept []web.Choice
		for _, f := range view.Fulfillments {
			if !f.Reversed {
				kept = append(kept, web.Choice{Value: f.ID, Label: f.FulfilledOn.String() + " " + web.Amount(t, f.Quantity)})
			}
		}
		if len(kept) > 0 {
			d.Forms = append(d.Forms, mk("reversals", t["act.reversals"], []web.Field{{Name: "fulfillment_id", Label: t["act.reversals.which"], Type: "select", Options: kept},
				field("reason", "reason", "textarea")}))
		}
		d.Forms = append(d.Forms, mk("disputes", t["act.disputes"], []web.Field{field("complainant", "complainant", "text"), field("complainant_credit_code", "complainant_credit_code", "text"), field("summary", "summary", "textarea")}))
		var corr []web.Field
		for _, name := range events.Correctable {
			corr = append(corr, web.Field{Name: "fields." + name, Label: t["correct."+name], Type: "text"})
		}
		d.Forms = append(d.Forms, mk("corrections", t["act.corrections"], append(corr, field("reason", "reason", "textarea"))))
	}
	if v.p.May(access.Approve) && !terminal {
		approval := func(extra ...web.Field) []web.Field {
			return append(extra, field("reason", "reason", "textarea"), field("approval", "approval", "text"))
		}
		d.Forms = append(d.Forms,
			mk("amendments", t["act.amendments"], approval(field("due", "due", "date"), field("quantity.value", "quantity", "number"))),
			mk("supervision-orders", t["act.supervision-orders"], []web.Field{field("deadline", "deadline", "date"), field("note", "note", "textarea")}),
			mk("handover", t["act.handover"], approval(field("department", "department", "text"))),
			mk("waiver", t["act.waiver"], approval()),
			mk("cancellation", t["act.cancellation"], approval()),
			mk("voiding", t["act.voiding"], approval()))
	}
	for _, o := range view.SupervisionOrders {
		row := web.OrderRow{OrderView: o}
		base := "supervision-orders/" + o.ID + "/"
		if v.p.May(access.Record) {
			switch o.State {
			case events.OrderIssued:
				row.Forms = append(row.Forms, mk(base+"acknowledgement", t["order.ack"], []web.Field{field("note", "note", "text")}))
			case events.OrderAcknowledged, events.OrderReturned:
				row.Forms = append(row.Forms, mk(base+"progress", t["order.progress"], []web.Field{field("note", "note", "textarea")}),
					mk(base+"closure-request", t["order.closure-request"], []web.Field{field("evidence", "evidence", "textarea")}))
			}
		}
		if v.p.May(access.Approve) && o.State == events.OrderClosureRequested {
			row.Forms = append(row.Forms, mk(base+"closure", t["order.close"], []web.Field{outcome(t, "order.outcome", events.OrderOutcomes), field("note", "note", "text")}))
		}
		d.Orders = append(d.Orders, row)
	}
	for _, q := range view.ExtensionRequests {
		row := web.RequestRow{RequestView: q}
		if v.p.May(access.Approve) && q.State == events.RequestPending {
			row.Forms = append(row.Forms, mk("extension-requests/"+q.ID+"/decision", t["request.approve"], []web.Field{outcome(t, "request.outcome", events.RequestOutcomes), field("approval", "approval", "text")}))
		}
		d.Requests = append(d.Requests, row)
	}
	for _, x := range view.Disputes {
		row := web.DisputeRow{DisputeView: x}
		if v.p.May(access.Approve) && x.State == events.DisputeOpen {
			row.Forms = append(row.Forms, mk("disputes/"+x.ID+"/resolution", t["dispute.resolve"], []web.Field{outcome(t, "dispute", events.Resolutions), field("note", "note", "textarea")}))
		}
		d.Disputes = append(d.Disputes, row)
	}
	status := http.StatusOK
	if apiErr != nil {
		status = apiErr.status
	}
	s.renderStatus(w, r, status, "commitment", view.Project, d)
}

// outcome is the select of a decision's outcome, its choices the domain's
// list of them, each named by the word prefix.value.
func outcome[T ~string](t map[string]string, prefix string, values []T) web.Field {
	f := web.Field{Name: "outcome", Label: t["outcome"], Type: "select"}
	for _, v := range values {
		f.Options = append(f.Options, web.Choice{Value: string(v), Label: t[prefix+"."+string(v)]})
	}
	return f
}

// eventRow is an event as the timeline shows it.
func eventRow(e events.Event) web.EventRow {
	row := web.EventRow{ID: e.ID, Type: string(e.Type), EffectiveOn: e.EffectiveOn.String(), RecordedAt: e.RecordedAt.UTC().Format("2006-01-02 15:04:05Z"),
		Office: e.Actor.Name, Person: e.Actor.Person, Role: e.Actor.Role, Hash: e.Hash}
	var data struct {
		Evidence    string   `json:"evidence"`
		Reason      string   `json:"reason"`
		Note        string   `json:"note"`
		Summary     string   `json:"summary"`
		Attachments []string `json:"attachments"`
		Quantity    *struct {
			Value string `json:"value"`
			Unit  string `json:"unit"`
		} `json:"quantity"`
		Due string `json:"due"`
	}
	_ = json.Unmarshal(e.Data, &data)
	row.Evidence, row.Files = data.Evidence, data.Attachments
	var parts []string
	if data.Quantity != nil {
		parts = append(parts, data.Quantity.Value+" "+data.Quantity.Unit)
	}
	for _, x := range []string{data.Due, data.Summary, data.Reason, data.Note} {
		if x != "" {
			parts = append(parts, x)
		}
	}
	row.Summary = strings.Join(parts, " · ")
	return row
}

// handleAlertsPage lists the open alerts the visitor may see; the page's
// script adds new ones as they fire.
func (s *Server) handleAlertsPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := web.Words(lang(r))
		rule, county := r.URL.Query().Get("rule"), r.URL.Query().Get("county")
		q := url.Values{"state": {"open"}}
		if rule != "" {
			q.Set("rule", rule)
		}
		if county != "" {
			q.Set("county", county)
		}
		// The stream goes on from what the list shows: read its position
		// first, so that nothing falls between them (an alert replayed is
		// only shown again).
		since := s.alerts.Applied()
		rec := s.ask(r, http.MethodGet, "/api/v1/alerts?"+q.Encode(), nil, nil)
		var body struct{ Alerts []alerts.Alert }
		if rec.status != http.StatusOK || json.Unmarshal(rec.body.Bytes(), &body) != nil {
			s.renderStatus(w, r, rec.status, "error", strconv.Itoa(rec.status), apiMessage(rec))
			return
		}
		sq := url.Values{"since": {strconv.FormatUint(since, 10)}}
		if rule != "" {
			sq.Set("rule", rule)
		}
		if county != "" {
			sq.Set("county", county)
		}
		d := web.AlertsPage{Alerts: body.Alerts, Rule: rule, Stream: "/alerts/events?" + sq.Encode()}
		ruleWords := map[string]string{}
		for _, x := range alerts.Rules {
			d.Rules = append(d.Rules, web.Choice{Value: string(x), Label: t["rule."+string(x)], Selected: string(x) == rule})
			ruleWords["rule."+string(x)] = t["rule."+string(x)]
		}
		if visitorOf(r).p.County == "" {
			for _, c := range s.reads.Jurisdiction().Counties {
				d.Counties = append(d.Counties, web.Choice{Value: c.Code, Label: c.Name, Selected: c.Code == county})
			}
		}
		b, _ := json.Marshal(ruleWords)
		d.Words = templateJS(b)
		s.render(w, r, "alerts", t["alerts.title"], d)
	})
}

// handleAuditPage runs verification on request and shows an event's proof.
func (s *Server) handleAuditPage(run bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := web.Words(lang(r))
		d := web.AuditPage{}
		if run {
			rec := s.ask(r, http.MethodGet, "/api/v1/audit/verify", nil, nil)
			var rep struct {
				OK       bool `json:"ok"`
				Events   int  `json:"events"`
				Seals    int  `json:"seals"`
				Problems []struct {
					Kind, Detail, Message string
				} `json:"problems"`
			}
			_ = json.Unmarshal(rec.body.Bytes(), &rep)
			d.Ran, d.OK, d.Events, d.Seals = true, rep.OK && rec.status == http.StatusOK, rep.Events, rep.Seals
			for _, p := range rep.Problems {
				d.Problems = append(d.Problems, strings.TrimSpace(p.Kind+" "+p.Detail+" "+p.Message))
			}
			if rec.status != http.StatusOK {
				d.Problems = append(d.Problems, apiMessage(rec))
			}
		}
		if ev := r.URL.Query().Get("event"); ev != "" {
			d.ProofID = ev
			id, ok := s.commitmentOfEvent(r, ev, r.URL.Query().Get("commitment"))
			if !ok {
				d.ProofErr = t["notfound"]
			} else {
				rec := s.ask(r, http.MethodGet, "/api/v1/commitments/"+id+"/proof?event="+url.QueryEscape(ev), nil, nil)
				if rec.status != http.StatusOK {
					d.ProofErr = apiMessage(rec)
				} else {
					var pretty bytes.Buffer
					_ = json.Indent(&pretty, rec.body.Bytes(), "", "  ")
					d.Proof = pretty.String()
				}
			}
		}
		s.render(w, r, "audit", t["audit.title"], d)
	})
}

// commitmentOfEvent finds the commitment an event belongs to, among those
// the visitor may see: the one named (the timeline links say which), or
// else the first maxProofSearch, newest first. The ids are copied out
// before any history is read: reading one while walking the view would
// hold its lock against every write.
func (s *Server) commitmentOfEvent(r *http.Request, eventID, commitmentID string) (string, bool) {
	if !validID(eventID) {
		return "", false
	}
	p := visitorOf(r).p
	var ids []string
	if commitmentID != "" {
		if c, ok := s.reads.Live().Commitment(commitmentID); ok && p.SeesCounty(c.County) {
			ids = []string{commitmentID}
		}
	} else {
		s.reads.Live().Each(func(c *events.Commitment) {
			if p.SeesCounty(c.County) {
				ids = append(ids, c.ID)
			}
		})
		slices.Reverse(ids)
		ids = ids[:min(len(ids), maxProofSearch)]
	}
	for _, id := range ids {
		evs, err := s.reads.History(r.Context(), id)
		if err != nil {
			return "", false
		}
		for _, e := range evs {
			if e.ID == eventID {
				return id, true
			}
		}
	}
	return "", false
}

// maxProofSearch bounds the commitments searched for an event named without
// its commitment.
const maxProofSearch = 200

// handleBulletinWorkbook is the bulletin as a workbook: a sheet for each of
// its parts, amounts in 万元, every text cell text.
func (s *Server) handleBulletinWorkbook() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = asPrincipal(r)
		t := web.Words(lang(r))
		d, ok := s.bulletin(w, r)
		if !ok {
			return
		}
		col := func(key string, k sheet.Kind) sheet.Column { return sheet.Column{Header: t[key], Kind: k} }
		rank := sheet.Table{Sheet: t["bulletin.rank.overdue"], Columns: []sheet.Column{col("rank", sheet.Int), col("county", sheet.Text), col("overdue.wan", sheet.Number), col("overdue", sheet.Int)}}
		for _, x := range d.ByOverdue {
			rank.Rows = append(rank.Rows, []string{strconv.Itoa(x.Rank), x.Name, strings.ReplaceAll(x.Figure, ",", ""), strconv.Itoa(x.Commitments)})
		}
		kept := sheet.Table{Sheet: t["bulletin.rank.kept"], Columns: []sheet.Column{col("rank", sheet.Int), col("county", sheet.Text), col("kept", sheet.Text)}}
		for _, x := range d.ByKept {
			kept.Rows = append(kept.Rows, []string{strconv.Itoa(x.Rank), x.Name, x.Figure})
		}
		months := sheet.Table{Sheet: t["bulletin.month"], Columns: []sheet.Column{col("county", sheet.Text),
			{Header: t["bulletin.became"] + " " + d.ThisMonth, Kind: sheet.Int}, {Header: t["bulletin.became"] + " " + d.LastMonth, Kind: sheet.Int},
			{Header: t["bulletin.fulfilled"] + " " + d.ThisMonth, Kind: sheet.Int}, {Header: t["bulletin.fulfilled"] + " " + d.LastMonth, Kind: sheet.Int}}}
		for _, x := range d.Months {
			months.Rows = append(months.Rows, []string{x.Name, strconv.Itoa(x.BecameThis), strconv.Itoa(x.BecameLast), strconv.Itoa(x.FulfilledThis), strconv.Itoa(x.FulfilledLast)})
		}
		orders := sheet.Table{Sheet: t["bulletin.orders"], Columns: []sheet.Column{col("county", sheet.Text), col("project", sheet.Text), col("department", sheet.Text), col("status", sheet.Text), col("deadline", sheet.Date)}}
		for _, o := range d.Orders {
			orders.Rows = append(orders.Rows, []string{o.County, o.Project, o.Department, t["order.state."+string(o.State)], o.Deadline.String()})
		}
		list := sheet.Table{Sheet: t["overdue"], Columns: []sheet.Column{col("county", sheet.Text), col("project", sheet.Text), col("department", sheet.Text),
			col("investor", sheet.Text), col("days_overdue", sheet.Int), col("outstanding", sheet.Text), col("due", sheet.Date)}}
		for _, c := range d.Overdue {
			for _, x := range c.Commitments {
				list.Rows = append(list.Rows, []string{c.Name, x.Project, x.Department, x.Investor.Name, strconv.Itoa(x.DaysOverdue), web.Amount(t, x.Outstanding), x.Due.String()})
			}
		}
		name := t["bulletin.title"] + "-" + d.Date + ".xlsx"
		w.Header().Set("Content-Type", xlsxType)
		w.Header().Set("Content-Disposition", sheet.ContentDisposition("bulletin-"+d.Date+".xlsx", name))
		if err := sheet.WriteWorkbook(w, rank, kept, months, orders, list); err != nil {
			s.log.Error("bulletin workbook", "err", err)
		}
	})
}

// handleBulletinPage is the printable bulletin (通报): rankings, the month
// against the last, open supervision orders, and every overdue promise.
func (s *Server) handleBulletinPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = asPrincipal(r)
		t := web.Words(lang(r))
		d, ok := s.bulletin(w, r)
		if !ok {
			return
		}
		x := url.Values{}
		for _, k := range []string{"as_of", "on"} {
			if v := r.URL.Query().Get(k); v != "" {
				x.Set(k, v)
			}
		}
		d.XLSX = "/bulletin.xlsx?" + x.Encode()
		s.render(w, r, "bulletin", t["bulletin.title"], d)
	})
}

// bulletin is the bulletin of the view a page asks for (as_of, on); false
// when that view could not be had, the answer already written.
func (s *Server) bulletin(w http.ResponseWriter, r *http.Request) (web.Bulletin, bool) {
	view, j, today, ok := s.pageView(w, r)
	if !ok {
		return web.Bulletin{}, false
	}
	return bulletinOf(view, j, today), true
}

// bulletinOf gathers the bulletin's figures on date today.
func bulletinOf(view *projections.Projection, j *events.Jurisdiction, today events.Date) web.Bulletin {
	d := web.Bulletin{Date: today.String(), Orders: view.OpenOrders(j), Overdue: view.Overdue(j, today)}
	d.ThisMonth, d.LastMonth, d.Months = view.Months(j, today)
	counties := view.Counties(j, today)
	overdue := slices.Clone(counties)
	sort.SliceStable(overdue, func(a, b int) bool {
		return cnyOf(overdue[a].OverdueOutstanding).Cmp(cnyOf(overdue[b].OverdueOutstanding)) > 0
	})
	for i, c := range overdue {
		d.ByOverdue = append(d.ByOverdue, web.Ranked{Rank: i + 1, Code: c.Code, Name: c.Name, Figure: web.Wan(c.OverdueOutstanding), Commitments: c.Overdue})
	}
	kept := slices.Clone(counties)
	sort.SliceStable(kept, func(a, b int) bool { return rateOf(kept[a].KeptOnTimeRate) > rateOf(kept[b].KeptOnTimeRate) })
	for i, c := range kept {
		d.ByKept = append(d.ByKept, web.Ranked{Rank: i + 1, Code: c.Code, Name: c.Name, Figure: web.Rate(c.KeptOnTimeRate)})
	}
	tot := view.Total(j, today)
	d.TotalOverdue, d.TotalWan = strconv.Itoa(tot.Overdue), web.Wan(tot.OverdueOutstanding)
	return d
}

// cnyOf is the amount in 元 among qs.
func cnyOf(qs []events.Quantity) events.Decimal {
	for _, q := range qs {
		if q.Unit == events.CNY {
			return q.Value
		}
	}
	return events.Decimal{}
}

// rateOf is a rate for ranking: -1 for none.
func rateOf(r *string) float64 {
	if r == nil {
		return -1
	}
	f, err := strconv.ParseFloat(*r, 64)
	if err != nil {
		return -1
	}
	return f
}

// contextWithPrincipal is ctx carrying the principal the API's handlers
// read.
func contextWithPrincipal(ctx context.Context, p access.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// templateJS marks JSON the server made as safe to put in a script element
// of type application/json.
func templateJS(b []byte) template.JS { return template.JS(b) }

// multipartBody writes a multipart form of one file.
type multipartBody struct{ w *multipart.Writer }

func newMultipart(b *bytes.Buffer) multipartBody { return multipartBody{multipart.NewWriter(b)} }

func (m multipartBody) file(field, name string, r io.Reader) error {
	fw, err := m.w.CreateFormFile(field, name)
	if err != nil {
		return err
	}
	_, err = io.Copy(fw, r)
	return err
}

func (m multipartBody) close()              { _ = m.w.Close() }
func (m multipartBody) contentType() string { return m.w.FormDataContentType() }
