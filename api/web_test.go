package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"promiseledger/access"
)

// visitor is a browser without a browser: a cookie jar, redirects not
// followed, and the CSRF token of the last page read.
type visitor struct {
	h      *harness
	client *http.Client
	csrf   string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// page is one answer to a visitor.
type page struct {
	status int
	header http.Header
	body   string
}

func (h *harness) visitor() *visitor {
	jar, _ := cookiejar.New(nil)
	return &visitor{h: h, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (v *visitor) do(req *http.Request) page {
	v.h.t.Helper()
	res, err := v.client.Do(req)
	if err != nil {
		v.h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if m := csrfField.FindSubmatch(b); m != nil {
		v.csrf = string(m[1])
	}
	return page{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (v *visitor) get(path string) page {
	v.h.t.Helper()
	req, _ := http.NewRequest("GET", v.h.url+path, nil)
	return v.do(req)
}

// post sends a form; the CSRF token of the last page goes with it unless
// the form names one.
func (v *visitor) post(path string, form url.Values) page {
	v.h.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", v.csrf)
	}
	req, _ := http.NewRequest("POST", v.h.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return v.do(req)
}

// signIn signs the visitor in as user.
func (v *visitor) signIn(user string) *visitor {
	v.h.t.Helper()
	v.get("/signin")
	if p := v.post("/signin", url.Values{"name": {user}, "password": {webPassword}}); p.status != http.StatusSeeOther {
		v.h.t.Fatalf("sign in as %s: %d\n%s", user, p.status, p.body)
	}
	return v
}

// A person signs in and out; every page carries the security headers.
func TestWeb_SignInAndOut(t *testing.T) {
	h := newHarness(t)
	v := h.visitor()
	if p := v.get("/"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/signin") {
		t.Fatalf("a page before signing in: %d %v", p.status, p.header)
	}
	signin := v.get("/signin")
	if signin.status != 200 || !strings.Contains(signin.body, `<label for="name">用户名</label>`) {
		t.Fatalf("the sign-in page: %d\n%s", signin.status, signin.body)
	}
	if p := v.post("/signin", url.Values{"name": {"clerk-532301"}, "password": {"wrong password"}}); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "用户名或密码错误") {
		t.Fatalf("a wrong password: %d", p.status)
	}
	if p := v.post("/signin", url.Values{"name": {"nobody"}, "password": {webPassword}}); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "用户名或密码错误") {
		t.Fatalf("an unknown user: %d", p.status)
	}
	p := v.post("/signin", url.Values{"name": {"clerk-532301"}, "password": {webPassword}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("sign in: %d\n%s", p.status, p.body)
	}
	cookie := p.header.Get("Set-Cookie")
	for _, want := range []string{"pl_session=", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(strings.Join(p.header.Values("Set-Cookie"), "\n"), want) {
			t.Fatalf("the session cookie lacks %s: %s", want, cookie)
		}
	}
	dash := v.get("/")
	if dash.status != 200 || !strings.Contains(dash.body, "clerk-532301 · 楚雄市投资促进局") {
		t.Fatalf("the dashboard: %d\n%s", dash.status, dash.body)
	}
	csp := dash.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Fatalf("CSP %q lacks %s", csp, want)
		}
	}
	if dash.header.Get("X-Frame-Options") != "DENY" || dash.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers: %v", dash.header)
	}
	// A county office's dashboard shows its own county only.
	if strings.Count(dash.body, `<tr data-county=`) != 1 || !strings.Contains(dash.body, `data-county="532301"`) {
		t.Fatalf("a clerk's dashboard shows other counties")
	}
	if p := v.post("/signout", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", p.status)
	}
	if p := v.get("/"); p.status != http.StatusSeeOther {
		t.Fatalf("after signing out: %d", p.status)
	}
	// Back to where the person was going, never elsewhere.
	v.get("/signin")
	if p := v.post("/signin?back=//evil.example/x", url.Values{"name": {"clerk-532301"}, "password": {webPassword}}); p.header.Get("Location") != "/" {
		t.Fatalf("back to another site: %s", p.header.Get("Location"))
	}
}

// Failed sign-ins are slowed, per account and per address, and ten in a
// minute are refused unchecked, the right password included.
func TestWeb_SignInsSlowedAndBlocked(t *testing.T) {
	h := newHarness(t)
	v := h.visitor()
	v.get("/signin")
	for i := 0; i < 10; i++ {
		v.post("/signin", url.Values{"name": {"clerk-532322"}, "password": {"guess " + string(rune('a'+i))}})
	}
	p := v.post("/signin", url.Values{"name": {"clerk-532322"}, "password": {webPassword}})
	if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "尝试次数过多") {
		t.Fatalf("the eleventh attempt: %d", p.status)
	}
	// Another account from the same address is not: behind a proxy, many
	// people share one. Fifty attempts a minute from it are refused.
	if p := v.post("/signin", url.Values{"name": {"clerk-532301"}, "password": {webPassword}}); p.status != http.StatusSeeOther {
		t.Fatalf("another account from the same address: %d", p.status)
	}
	other := h.visitor()
	other.get("/signin")
	for i := 0; i < 60; i++ {
		other.post("/signin", url.Values{"name": {fmt.Sprintf("nobody-%d", i)}, "password": {"guess"}})
	}
	if p := other.post("/signin", url.Values{"name": {"clerk-532324"}, "password": {webPassword}}); p.status != http.StatusTooManyRequests {
		t.Fatalf("after sixty attempts from one address: %d", p.status)
	}
}

// Every form needs the session's CSRF token; the sign-in form its own.
func TestWeb_CSRF(t *testing.T) {
	h := newHarness(t)
	id := h.must(201, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2027-12-31")).str("id")
	v := h.visitor().signIn("clerk-532301")
	v.get("/commitments/" + id)
	before := h.events()
	form := url.Values{"quantity.value": {"10"}, "fulfilled_on": {"2026-11-01"}, "evidence": {"x"}}
	for _, token := range []string{"", "forged"} {
		f := url.Values{"csrf": {token}}
		for k, x := range form {
			f[k] = x
		}
		if p := v.post("/commitments/"+id+"/act/fulfillments", f); p.status != http.StatusForbidden {
			t.Fatalf("a form with CSRF token %q: %d", token, p.status)
		}
	}
	if h.events() != before {
		t.Fatal("a forged form appended an event")
	}
	if p := v.post("/commitments/"+id+"/act/fulfillments", form); p.status != http.StatusSeeOther || h.events() != before+1 {
		t.Fatalf("the real form: %d\n%s", p.status, p.body)
	}
	// Signing in needs the sign-in page's token, in its cookie and its form.
	other := h.visitor()
	if p := other.post("/signin", url.Values{"csrf": {"x"}, "name": {"clerk-532301"}, "password": {webPassword}}); p.status != http.StatusForbidden {
		t.Fatalf("a sign-in without the page's token: %d", p.status)
	}
}

var inlineScript = regexp.MustCompile(`<script(\s[^>]*)?>`)

// Text from anyone is escaped on every page, and no page has an inline
// script: every script comes from /static/.
func TestWeb_EscapesEverything(t *testing.T) {
	h := newHarness(t)
	const evil = `<script>alert(1)</script>`
	c := commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31")
	c["project"], c["department"], c["description"], c["reference"] = evil+"项目", evil+"局", evil, evil
	c["investor"] = map[string]any{"name": evil + "公司", "registered": false}
	id := h.must(201, "POST", "/api/v1/commitments", c).str("id")
	f := fulfilment("10", "mu", "2020-10-01")
	f["evidence"] = evil
	h.must(201, "POST", "/api/v1/commitments/"+id+"/fulfillments", f)
	h.must(201, "POST", "/api/v1/commitments/"+id+"/disputes", map[string]any{"complainant": evil, "summary": evil})
	h.must(201, "POST", "/api/v1/commitments/"+id+"/supervision-orders", map[string]any{"deadline": "2027-03-31", "note": evil})
	v := h.visitor().signIn("supervisor")
	for _, path := range []string{"/", "/counties/532301", "/commitments/" + id, "/alerts", "/bulletin", "/counties/532301?q=" + url.QueryEscape(evil)} {
		p := v.get(path)
		if p.status != 200 {
			t.Fatalf("%s: %d", path, p.status)
		}
		if strings.Contains(p.body, evil) {
			t.Fatalf("%s: the text was not escaped", path)
		}
		for _, m := range inlineScript.FindAllStringSubmatch(p.body, -1) {
			if !strings.Contains(m[1], `src="/static/`) && !strings.Contains(m[1], `type="application/json"`) {
				t.Fatalf("%s: an inline script %q", path, m[0])
			}
		}
	}
	if p := v.get("/commitments/" + id); !strings.Contains(p.body, "&lt;script&gt;alert(1)&lt;/script&gt;项目") {
		t.Fatal("the commitment page does not show the project as text")
	}
}

// A county office sees and acts on its own county only.
func TestWeb_ClerkSeesOwnCountyOnly(t *testing.T) {
	h := newHarness(t)
	other := h.must(201, "POST", "/api/v1/commitments", commitment("532322", "land", "300", "mu", "2020-03-15", "2027-12-31")).str("id")
	v := h.visitor().signIn("clerk-532301")
	if p := v.get("/commitments/" + other); p.status != http.StatusNotFound || !strings.Contains(p.body, "没有这项承诺") || strings.Contains(p.body, "楚雄市自然资源局") {
		t.Fatalf("another county's commitment: %d", p.status)
	}
	v.get("/")
	before := h.events()
	if p := v.post("/commitments/"+other+"/act/fulfillments", url.Values{"quantity.value": {"1"}, "fulfilled_on": {"2026-11-01"}, "evidence": {"x"}}); p.status != http.StatusNotFound || h.events() != before {
		t.Fatalf("acting on another county's commitment: %d, %d events more", p.status, h.events()-before)
	}
	for path, want := range map[string]int{"/counties/532322": 404, "/audit": 403, "/users": 403, "/counties/532301": 200} {
		if p := v.get(path); p.status != want {
			t.Fatalf("%s: %d, want %d", path, p.status, want)
		}
	}
	if p := v.get("/counties"); p.header.Get("Location") != "/counties/532301" {
		t.Fatalf("/counties sends a clerk to %q", p.header.Get("Location"))
	}
	if p := v.get("/export?county=532322&format=csv"); strings.Contains(p.body, "双柏县") {
		t.Fatal("a clerk exported another county's rows")
	}
}

// A form's bad value comes back beside its field; a good one is recorded
// as the person, under the office.
func TestWeb_FormErrorsAndThePerson(t *testing.T) {
	h := newHarness(t)
	id := h.must(201, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2027-12-31")).str("id")
	v := h.visitor().signIn("clerk-532301")
	v.get("/commitments/" + id)
	before := h.events()
	p := v.post("/commitments/"+id+"/act/fulfillments", url.Values{"quantity.value": {"400"}, "fulfilled_on": {"2026-11-01"}, "evidence": {"凭证"}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, `id="fulfillments-quantity.value-error"`) || !strings.Contains(p.body, `aria-invalid="true"`) || h.events() != before {
		t.Fatalf("too much: %d\n%s", p.status, p.body)
	}
	if !strings.Contains(p.body, `value="400"`) {
		t.Fatal("the value typed is not kept")
	}
	p = v.post("/commitments/"+id+"/act/fulfillments", url.Values{"quantity.value": {"100"}, "fulfilled_on": {"2026-11-01"}, "evidence": {"凭证"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("a good fulfilment: %d\n%s", p.status, p.body)
	}
	hist := h.must(200, "GET", "/api/v1/commitments/"+id+"/history", nil).body["events"].([]any)
	actor := hist[len(hist)-1].(map[string]any)["actor"].(map[string]any)
	if actor["person"] != "clerk-532301" || actor["name"] != "楚雄市投资促进局" || actor["role"] != "county" {
		t.Fatalf("the actor: %v", actor)
	}
	page := v.get(p.header.Get("Location"))
	if !strings.Contains(page.body, "已记录。") || !strings.Contains(page.body, "clerk-532301 · 楚雄市投资促进局") || !strings.Contains(page.body, `<dd id="outstanding">200 亩`) {
		t.Fatalf("the page after: %s", page.body)
	}
	// A supervisor's forms include the approvals; a clerk's do not.
	if !strings.Contains(page.body, `id="form-fulfillments"`) || strings.Contains(page.body, `id="form-waiver"`) {
		t.Fatal("a clerk's forms")
	}
	if sup := h.visitor().signIn("supervisor").get("/commitments/" + id); !strings.Contains(sup.body, `id="form-waiver"`) {
		t.Fatal("a supervisor's forms lack the waiver")
	}
	// Only the API's command routes are posted to.
	if p := v.post("/commitments/"+id+"/act/tokens", url.Values{}); p.status != http.StatusNotFound {
		t.Fatalf("a form posted to another route: %d", p.status)
	}
}

// The admin adds, disables and resets accounts; a disabled account's
// session ends; a changed password ends the old sessions.
func TestWeb_Users(t *testing.T) {
	h := newHarness(t)
	admin := h.visitor().signIn("admin")
	if p := admin.get("/users"); p.status != 200 || !strings.Contains(p.body, "clerk-532301") {
		t.Fatalf("the users page: %d", p.status)
	}
	if p := admin.post("/users", url.Values{"name": {"lisi"}, "office": {"双柏县投资促进局"}, "role": {"county"}, "county": {"532322"}, "password": {"short"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "password") {
		t.Fatalf("a short password: %d", p.status)
	}
	if p := admin.post("/users", url.Values{"name": {"lisi"}, "office": {"双柏县投资促进局"}, "role": {"county"}, "county": {"532322"}, "password": {"a long enough password"}}); p.status != http.StatusSeeOther {
		t.Fatalf("add lisi: %d\n%s", p.status, p.body)
	}
	lisi := h.visitor()
	lisi.get("/signin")
	if p := lisi.post("/signin", url.Values{"name": {"lisi"}, "password": {"a long enough password"}}); p.status != http.StatusSeeOther {
		t.Fatalf("lisi signs in: %d", p.status)
	}
	if p := lisi.get("/"); p.status != 200 {
		t.Fatalf("lisi's dashboard: %d", p.status)
	}
	admin.get("/users")
	if p := admin.post("/users/lisi/disable", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("disable: %d", p.status)
	}
	if p := lisi.get("/"); p.status != http.StatusSeeOther {
		t.Fatalf("a disabled account's session: %d", p.status)
	}
	// A password change ends the sessions opened before it.
	clerk := h.visitor().signIn("clerk-532323")
	second := h.visitor().signIn("clerk-532323")
	clerk.get("/password")
	if p := clerk.post("/password", url.Values{"old": {webPassword}, "new": {"another good password"}}); p.status != http.StatusSeeOther {
		t.Fatalf("change password: %d\n%s", p.status, p.body)
	}
	if p := second.get("/"); p.status != http.StatusSeeOther {
		t.Fatalf("a session from before the change: %d", p.status)
	}
	u, _ := h.users.Get("clerk-532323")
	if !access.CheckPassword(u.PasswordHash, "another good password") || strings.Contains(u.PasswordHash, "another") {
		t.Fatal("the new password is not stored hashed")
	}
	if p := h.visitor().signIn("supervisor").post("/users", url.Values{"name": {"x"}}); p.status != http.StatusForbidden {
		t.Fatalf("a supervisor adding a user: %d", p.status)
	}
}

// The demo's accounts, whose password is public, sign in only on a ledger
// serving the demo.
func TestWeb_DemoAccountsOnlyWithTheDemo(t *testing.T) {
	h := newHarness(t)
	u := access.User{Name: "demo-532301", Office: "【演示】楚雄市投资促进局", Role: access.County, County: "532301", PasswordHash: webPasswordHash(), CreatedAt: testNow, ChangedAt: testNow, Demo: true}
	if err := h.users.Add(u); err != nil {
		t.Fatal(err)
	}
	v := h.visitor()
	v.get("/signin")
	if p := v.post("/signin", url.Values{"name": {"demo-532301"}, "password": {webPassword}}); p.status != http.StatusUnauthorized {
		t.Fatalf("a demo account without --demo: %d", p.status)
	}
}

// English by a switch that sticks.
func TestWeb_Language(t *testing.T) {
	h := newHarness(t)
	v := h.visitor().signIn("supervisor")
	if p := v.get("/lang/en?back=/bulletin"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/bulletin" {
		t.Fatalf("the switch: %d %v", p.status, p.header)
	}
	if p := v.get("/"); !strings.Contains(p.body, `<html lang="en">`) || !strings.Contains(p.body, "Prefecture") {
		t.Fatal("the page is not in English")
	}
	v.get("/lang/zh?back=/")
	if p := v.get("/"); !strings.Contains(p.body, "全州总览") {
		t.Fatal("back to Chinese")
	}
}

// The county page imports a workbook and shows its report; exports it.
func TestWeb_ImportAndExportOnTheCountyPage(t *testing.T) {
	h := newHarness(t)
	v := h.visitor().signIn("clerk-532301")
	v.get("/counties/532301")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf", v.csrf)
	fw, _ := mw.CreateFormFile("file", "台账.csv")
	_, _ = fw.Write([]byte(ledgerCSV))
	_ = mw.Close()
	req, _ := http.NewRequest("POST", h.url+"/counties/532301/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	before := h.events()
	p := v.do(req)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="import-problems"`) || !strings.Contains(p.body, "承诺类型应为") || !strings.Contains(p.body, "F4") || h.events() != before {
		t.Fatalf("an import with a bad row: %d\n%s", p.status, p.body)
	}
	if !strings.Contains(p.body, "有问题 1 行") {
		t.Fatal("the report's summary is not shown")
	}
	exp := v.get("/export?county=532301")
	if exp.status != 200 || !strings.HasPrefix(exp.body, "PK") || !strings.Contains(exp.header.Get("Content-Disposition"), "filename*=UTF-8''") {
		t.Fatalf("the export: %d %v", exp.status, exp.header)
	}
	// Sorting and paging links keep the filters.
	for i := 0; i < 3; i++ {
		h.must(201, "POST", "/api/v1/commitments", commitment("532301", "land", "30"+string(rune('0'+i)), "mu", "2020-03-15", "2027-12-31"))
	}
	list := v.get("/counties/532301?kind=land&sort=quantity&dir=desc")
	if strings.Count(list.body, `href="/commitments/`) != 3 || !strings.Contains(list.body, `aria-sort="descending"`) {
		t.Fatalf("the sorted list:\n%s", list.body)
	}
	first := strings.Index(list.body, "302 亩")
	last := strings.Index(list.body, "300 亩")
	if first < 0 || last < 0 || first > last {
		t.Fatal("not sorted by quantity, descending")
	}
}

// A complaint shows on its commitment with the supervisor's form to
// resolve it; the alerts page filters by county.
func TestWeb_ComplaintsAndAlertFilters(t *testing.T) {
	h := newHarness(t)
	id := h.must(201, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31")).str("id")
	c := h.must(201, "POST", "/api/v1/commitments/"+id+"/disputes", map[string]any{"complainant": "某企业", "summary": "土地未交付"})
	disputeID := c.body["disputes"].([]any)[0].(map[string]any)["id"].(string)
	v := h.visitor().signIn("supervisor")
	p := v.get("/commitments/" + id)
	if !strings.Contains(p.body, "土地未交付") || !strings.Contains(p.body, `id="form-disputes/`+disputeID+`/resolution"`) {
		t.Fatalf("the complaint on the page:\n%s", p.body)
	}
	if p := v.post("/commitments/"+id+"/act/disputes/"+disputeID+"/resolution", url.Values{"outcome": {"upheld"}, "note": {"已督促交地"}}); p.status != http.StatusSeeOther {
		t.Fatalf("resolve: %d\n%s", p.status, p.body)
	}
	if p := v.get("/commitments/" + id); !strings.Contains(p.body, "投诉成立") || strings.Contains(p.body, `/resolution"`) {
		t.Fatal("the resolved complaint")
	}
	if err := h.engine.EvaluateAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	all := v.get("/alerts")
	other := v.get("/alerts?county=532322")
	if !strings.Contains(all.body, "/commitments/"+id) || strings.Contains(other.body, "/commitments/"+id) || !strings.Contains(other.body, `data-stream="/alerts/events?county=532322&amp;since=`) {
		t.Fatalf("the alerts filtered by county:\n%s", other.body)
	}
}

// The audit page finds an event's proof without holding the views against
// writes: a lookup and a write at the same moment both finish (before, the
// lookup read histories inside the view's lock and a write waiting for it
// deadlocked the ledger).
func TestWeb_ProofLookupDoesNotBlockWrites(t *testing.T) {
	h := newHarness(t)
	var last string
	for i := 0; i < 30; i++ {
		last = h.must(201, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2027-12-31")).str("id")
	}
	first := h.must(200, "GET", "/api/v1/commitments/"+last+"/history", nil).body["events"].([]any)[0].(map[string]any)["id"].(string)
	if _, err := h.sealer.SealNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	v := h.visitor().signIn("auditor")
	done := make(chan page, 1)
	go func() { done <- v.get("/audit?event=" + first) }()
	for i := 0; i < 20; i++ {
		h.must(201, "POST", "/api/v1/commitments/"+last+"/fulfillments", fulfilment("1", "mu", "2020-10-01"))
	}
	select {
	case p := <-done:
		if !strings.Contains(p.body, "leaf_index") {
			t.Fatalf("the proof:\n%s", p.body)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the proof lookup never finished")
	}
	// Named with its commitment (as the timeline links it), found at once.
	if p := v.get("/audit?commitment=" + last + "&event=" + first); !strings.Contains(p.body, "leaf_index") {
		t.Fatal("the proof named with its commitment")
	}
	// A commitment the visitor may not see is no way in.
	clerk := h.visitor().signIn("clerk-532322")
	if p := clerk.get("/audit?commitment=" + last + "&event=" + first); p.status != http.StatusForbidden {
		t.Fatalf("a clerk on the audit page: %d", p.status)
	}
}

// Sign-in attempts sent at once are counted at once: of sixty guesses in
// parallel, only ten are checked.
func TestWeb_ParallelSignInsAreCounted(t *testing.T) {
	h := newHarness(t)
	v := h.visitor()
	v.get("/signin")
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			form := url.Values{"csrf": {v.csrf}, "name": {"clerk-532323"}, "password": {"guess"}}
			req, _ := http.NewRequest("POST", h.url+"/signin", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := v.client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			mu.Lock()
			statuses[res.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[http.StatusUnauthorized] != 10 || statuses[http.StatusTooManyRequests] != 50 {
		t.Fatalf("statuses: %v", statuses)
	}
}

// The sign-in form takes a small urlencoded body only; where it sends the
// person afterwards is a path of this site, whatever is written in back.
func TestWeb_SignInInputs(t *testing.T) {
	h := newHarness(t)
	v := h.visitor()
	v.get("/signin")
	big := strings.NewReader("csrf=" + v.csrf + "&name=" + strings.Repeat("x", 64<<10))
	req, _ := http.NewRequest("POST", h.url+"/signin", big)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if p := v.do(req); p.status < 400 {
		t.Fatalf("a 64 KiB sign-in form: %d", p.status)
	}
	req, _ = http.NewRequest("POST", h.url+"/signin", strings.NewReader("--x--"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	if p := v.do(req); p.status != http.StatusUnsupportedMediaType {
		t.Fatalf("a multipart sign-in: %d", p.status)
	}
	for _, back := range []string{"/%09/evil.example/x", "//evil.example", "/\\evil.example", "https://evil.example/", "/%0d%0aSet-Cookie:x=1"} {
		if p := v.get("/lang/en?back=" + back); p.header.Get("Location") != "/" {
			t.Fatalf("back=%s: sent to %q", back, p.header.Get("Location"))
		}
	}
	// Where the person was going survives the sign-in form.
	p := v.get("/counties/532301?kind=land")
	v.get(p.header.Get("Location"))
	if p := v.post("/signin?back="+url.QueryEscape("/counties/532301?kind=land"), url.Values{"name": {"clerk-532301"}, "password": {webPassword}}); p.header.Get("Location") != "/counties/532301?kind=land" {
		t.Fatalf("after signing in: %q", p.header.Get("Location"))
	}
	if p := v.get("/counties/532301?page=4611686018427387905"); p.status != 200 {
		t.Fatalf("a page number past the end: %d", p.status)
	}
}

// A clerk attaches the evidence file to a fulfilment in the form, reverses
// a fulfilment entered in error, and corrects the investor's name.
func TestWeb_FilesReversalsAndCorrections(t *testing.T) {
	h := newHarness(t)
	id := h.must(201, "POST", "/api/v1/commitments", commitment("532301", "land", "300", "mu", "2020-03-15", "2027-12-31")).str("id")
	v := h.visitor().signIn("clerk-532301")
	v.get("/commitments/" + id)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, x := range map[string]string{"csrf": v.csrf, "quantity.value": "120", "fulfilled_on": "2020-10-01", "evidence": "土地出让合同"} {
		_ = mw.WriteField(k, x)
	}
	fw, _ := mw.CreateFormFile("file", "出让合同.pdf")
	pdf := []byte("%PDF-1.7\n出让合同\n%%EOF\n")
	_, _ = fw.Write(pdf)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", h.url+"/commitments/"+id+"/act/fulfillments", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if p := v.do(req); p.status != http.StatusSeeOther {
		t.Fatalf("a fulfilment with its file: %d\n%s", p.status, p.body)
	}
	page := v.get("/commitments/" + id)
	link := regexp.MustCompile(`href="/files/([0-9a-f]{64})"`).FindStringSubmatch(page.body)
	if link == nil {
		t.Fatalf("the timeline lacks the file:\n%s", page.body)
	}
	if f := v.get("/files/" + link[1]); f.status != 200 || f.body != string(pdf) {
		t.Fatalf("the file: %d", f.status)
	}
	if f := h.visitor().signIn("clerk-532322").get("/files/" + link[1]); f.status != http.StatusNotFound {
		t.Fatalf("another county downloading the file: %d", f.status)
	}
	// Reverse it.
	fid := regexp.MustCompile(`<option value="([0-9a-f-]{36})">2020-10-01 120 亩</option>`).FindStringSubmatch(page.body)
	if fid == nil {
		t.Fatalf("no reversal form:\n%s", page.body)
	}
	if p := v.post("/commitments/"+id+"/act/reversals", url.Values{"fulfillment_id": {fid[1]}, "reason": {"录入错误"}}); p.status != http.StatusSeeOther {
		t.Fatalf("reverse: %d\n%s", p.status, p.body)
	}
	// Correct the investor's name (a field whose path has a dot).
	if p := v.post("/commitments/"+id+"/act/corrections", url.Values{"fields.investor.name": {"楚雄某某新材料有限公司"}, "reason": {"企业更名"}}); p.status != http.StatusSeeOther {
		t.Fatalf("correct: %d\n%s", p.status, p.body)
	}
	c := h.must(200, "GET", "/api/v1/commitments/"+id, nil)
	if qty(c, "outstanding") != "300" || c.body["investor"].(map[string]any)["name"] != "楚雄某某新材料有限公司" {
		t.Fatalf("after the reversal and the correction: %s", c.raw)
	}
}

// The bulletin as a workbook: its rankings, the month against the last,
// the open orders and every overdue promise, a sheet each.
func TestWeb_BulletinWorkbook(t *testing.T) {
	h := newHarness(t)
	id := h.must(201, "POST", "/api/v1/commitments", commitment("532301", "subsidy", "1255000.00", "CNY", "2020-03-15", "2020-12-31")).str("id")
	h.must(201, "POST", "/api/v1/commitments/"+id+"/supervision-orders", map[string]any{"deadline": "2027-03-31"})
	v := h.visitor().signIn("supervisor")
	p := v.get("/bulletin.xlsx")
	if p.status != 200 || !strings.HasPrefix(p.body, "PK") {
		t.Fatalf("the bulletin workbook: %d %v", p.status, p.header)
	}
	f, err := excelize.OpenReader(strings.NewReader(p.body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) != 5 || sheets[0] != "各县市区逾期未兑现金额排名" {
		t.Fatalf("sheets: %q", sheets)
	}
	rank, _ := f.GetRows(sheets[0])
	if rank[1][1] != "楚雄市" || rank[1][2] != "125.50" {
		t.Fatalf("the ranking: %q", rank)
	}
	orders, _ := f.GetRows(sheets[3])
	if len(orders) != 2 || orders[1][3] != "已交办未签收" {
		t.Fatalf("the orders: %q", orders)
	}
}
