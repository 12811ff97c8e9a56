package api_test

// End-to-end tests of the web pages in a real headless Chromium, driven
// through the DevTools protocol (chromedp), against the whole ledger of the
// harness. They sign in as the harness's web accounts, click and type as a
// clerk would, and save a screenshot of every page they see (see
// screenshotDir). Without a Chromium on the machine they skip, except in CI,
// where .ci/run installs one and a missing browser fails.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browserTimeout bounds each browser test as a whole: the browser, and every
// step in it, stop when it is up.
const browserTimeout = 60 * time.Second

// Viewports: a desktop, a phone, and the printable width of A4 at 96 dpi
// (210 mm less the bulletin's margins of 16 mm each side, as its @page says).
const (
	desktopWidth, desktopHeight = 1280, 900
	phoneWidth, phoneHeight     = 360, 780
	a4PrintableWidth            = 673 // (210 − 2×16) mm × 96/25.4 px/mm = 672.8
)

// chromium is the browser's path. Without one the test is skipped — unless
// the variable CI is set, where a missing browser is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is required in CI; .ci/run installs it")
	}
	t.Skip("no chromium on this machine (/usr/bin/chromium, chromium, chromium-browser or google-chrome): the browser tests are skipped")
	return ""
}

// screenshotDir is where a test's screenshots go: a folder named after the
// test in $LEDGER_SCREENSHOTS when it is set (CI keeps them as artefacts),
// else a temporary one.
func screenshotDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("LEDGER_SCREENSHOTS")
	if root == "" {
		return t.TempDir()
	}
	dir := filepath.Join(root, strings.TrimPrefix(t.Name(), "TestBrowser_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// consoleEntry is an error a page wrote to the console: an uncaught
// exception, console.error, or an error of the browser's log (a resource
// that failed to load, a Content-Security-Policy violation, …).
type consoleEntry struct {
	source, text, url string
}

func (e consoleEntry) String() string {
	s := e.source + ": " + e.text
	if e.url != "" && !strings.Contains(e.text, e.url) {
		s += " (" + e.url + ")"
	}
	return s
}

// browser is one headless Chromium with one tab, for one test.
type browser struct {
	t     *testing.T
	h     *harness
	ctx   context.Context
	shots string

	mu      sync.Mutex
	console []consoleEntry // errors since the last check
}

// newBrowser starts a Chromium with a fresh profile, its network kept to
// the harness (no background traffic of its own), at a desktop viewport.
func newBrowser(t *testing.T, h *harness) *browser {
	t.Helper()
	exe := chromium(t)
	profile := t.TempDir() // removed after the browser has exited: cleanups run last first
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.WindowSize(desktopWidth, desktopHeight),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		bcancel()
		acancel() // waits for the browser to exit
		cancel()
	})
	b := &browser{t: t, h: h, ctx: bctx, shots: screenshotDir(t)}
	start := time.Now()
	if err := chromedp.Do(bctx); err != nil { // starts the browser, bound by ctx
		t.Fatalf("starting %s: %v", exe, err)
	}
	if err := chromedp.Listen(bctx, b.watch); err != nil {
		t.Fatal(err)
	}
	b.do("the desktop viewport", chromedp.EmulateViewport(desktopWidth, desktopHeight))
	t.Logf("%s started in %v; screenshots in %s", exe, time.Since(start).Round(time.Millisecond), b.shots)
	return b
}

// watch keeps the errors the page writes to its console. It runs in the
// tab's event loop: quick, and no commands.
func (b *browser) watch(ev any) {
	var e consoleEntry
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		e = consoleEntry{source: "exception", text: d.Text, url: d.URL}
		if d.Exception != nil && d.Exception.Description != "" {
			e.text += " " + d.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var args []string
		for _, a := range ev.Args {
			if a.Value != nil {
				args = append(args, string(a.Value))
			} else {
				args = append(args, a.Description)
			}
		}
		e = consoleEntry{source: "console." + string(ev.Type), text: strings.Join(args, " ")}
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level != cdplog.EntryLevelError {
			return
		}
		e = consoleEntry{source: string(ev.Entry.Source), text: ev.Entry.Text, url: ev.Entry.URL}
	default:
		return
	}
	b.mu.Lock()
	b.console = append(b.console, e)
	b.mu.Unlock()
}

// takeConsole is the errors written since the last call.
func (b *browser) takeConsole() []consoleEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.console
	b.console = nil
	return out
}

// noConsoleErrors fails the test if a page wrote an error to its console
// since the last check, other than the failed loads of the URLs expected to
// fail (a page answered 404 on purpose is "a resource that failed to load").
func (b *browser) noConsoleErrors(what string, expectedFailures ...string) {
	b.t.Helper()
	for _, e := range b.takeConsole() {
		// The browser asks for /favicon.ico on its own; the pages have none.
		expected := e.source == "network" && e.url == b.h.url+"/favicon.ico"
		for _, u := range expectedFailures {
			if e.source == "network" && e.url == u {
				expected = true
			}
		}
		if !expected {
			b.t.Errorf("%s: the console has an error: %s", what, e)
		}
	}
}

// do runs steps, failing the test with what they were for.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval is what a script evaluates to in the page (awaited, if a promise).
func eval[T any](b *browser, script string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](script, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", script, err)
	}
	return v
}

// js is a Go string as a JavaScript string literal.
func js(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// found is whether an element matches the selector, and its text: it does
// not wait for one.
func (b *browser) found(sel string) (string, bool) {
	b.t.Helper()
	type result struct {
		Found bool   `json:"found"`
		Text  string `json:"text"`
	}
	r := eval[result](b, `(() => { const e = document.querySelector(`+js(sel)+`); return e ? {found: true, text: e.innerText.trim()} : {found: false, text: ""}; })()`)
	return r.Text, r.Found
}

// text is the text of the element that must be on the page.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, ok := b.found(sel)
	if !ok {
		b.t.Fatalf("%s: no element %s on the page:\n%s", b.location(), sel, b.pageText())
	}
	return s
}

func (b *browser) location() string {
	b.t.Helper()
	return eval[string](b, `location.pathname + location.search`)
}

// pageText is the page's text, to show in a failure.
func (b *browser) pageText() string {
	b.t.Helper()
	s := eval[string](b, `document.body ? document.body.innerText : ""`)
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}

// open goes to the path and answers the page's HTTP status.
func (b *browser) open(path string) int64 {
	b.t.Helper()
	res, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.h.url+path))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	return res.Status
}

// openPage opens the path, which must answer 200 with a heading and no
// console errors, and saves its full-page screenshot as name.png.
func (b *browser) openPage(path, name string) {
	b.t.Helper()
	if status := b.open(path); status != http.StatusOK {
		b.t.Fatalf("GET %s: status %d, want 200:\n%s", path, status, b.pageText())
	}
	b.checkPage(path, name)
}

// checkPage checks the page on screen — a heading, our stylesheet applied,
// no console errors — and saves its screenshot as name.png.
func (b *browser) checkPage(what, name string) {
	b.t.Helper()
	if h1, ok := b.found("h1"); !ok || h1 == "" {
		b.t.Errorf("%s: no heading (h1) on the page", what)
	}
	// The stylesheet is ours and the policy allows it: its page background
	// shows (a page without it is transparent).
	if bg := eval[string](b, `getComputedStyle(document.body).backgroundColor`); bg != "rgb(255, 255, 255)" {
		b.t.Errorf("%s: the body's background is %q: the stylesheet /static/app.css did not apply", what, bg)
	}
	// Every input has a label, and none is out of the keyboard's reach.
	unlabelled := eval[[]string](b, `Array.from(document.querySelectorAll("input, select, textarea"))
		.filter(e => e.type !== "hidden" && (!e.labels || e.labels.length === 0) && !e.getAttribute("aria-label"))
		.map(e => e.outerHTML.slice(0, 120))`)
	if len(unlabelled) > 0 {
		b.t.Errorf("%s: inputs without a label: %q", what, unlabelled)
	}
	if unreachable := eval[[]string](b, `Array.from(document.querySelectorAll("a[href], button, input, select, textarea, summary"))
		.filter(e => e.type !== "hidden" && e.tabIndex < 0).map(e => e.outerHTML.slice(0, 120))`); len(unreachable) > 0 {
		b.t.Errorf("%s: controls the keyboard cannot reach: %q", what, unreachable)
	}
	b.noConsoleErrors(what)
	b.screenshot(name)
}

// screenshot saves the whole page as name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.save(name+".png", png)
}

func (b *browser) save(file string, data []byte) {
	b.t.Helper()
	if err := os.WriteFile(filepath.Join(b.shots, file), data, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// submit clicks the button and answers the HTTP status of the page that
// comes back.
func (b *browser) submit(button string) int64 {
	b.t.Helper()
	res, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(button)))
	if err != nil {
		b.t.Fatalf("%s: submitting with %s: %v", b.location(), button, err)
	}
	if res == nil {
		b.t.Fatalf("%s: submitting with %s loaded no page", b.location(), button)
	}
	return res.Status
}

// signIn signs in through the sign-in form, as a person would.
func (b *browser) signIn(name string) {
	b.t.Helper()
	if status := b.open("/signin"); status != http.StatusOK {
		b.t.Fatalf("GET /signin: status %d", status)
	}
	b.do("fill in the sign-in form",
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("password"), webPassword))
	if status := b.submit(`.signin button[type=submit]`); status != http.StatusOK {
		b.t.Fatalf("signing in as %s: status %d:\n%s", name, status, b.pageText())
	}
	if loc := b.location(); strings.HasPrefix(loc, "/signin") {
		b.t.Fatalf("signing in as %s: still on %s:\n%s", name, loc, b.pageText())
	}
	if who := b.text("header.top"); !strings.Contains(who, name) {
		b.t.Fatalf("signed in as %s, the header says %q", name, who)
	}
}

// signOut clicks the header's sign-out button.
func (b *browser) signOut() {
	b.t.Helper()
	b.submit(`header.top form[action="/signout"] button`)
	if loc := b.location(); !strings.HasPrefix(loc, "/signin") {
		b.t.Fatalf("after signing out the browser is on %s, want /signin", loc)
	}
}

// overflow is how wide the document is, and the elements outside a
// scrolling .table-wrap that stick out past width.
type overflow struct {
	Width int      `json:"width"`
	Over  []string `json:"over"`
}

func (b *browser) overflow(width int) overflow {
	b.t.Helper()
	return eval[overflow](b, fmt.Sprintf(`(() => {
  const limit = %d, over = [];
  for (const e of document.querySelectorAll("body *")) {
    const wrap = e.parentElement && e.parentElement.closest(".table-wrap");
    if (wrap) { continue; } // scrolls inside its wrapper
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > limit + 1) {
      const cls = typeof e.className === "string" && e.className.trim() ? "." + e.className.trim().split(/\s+/).join(".") : "";
      over.push(e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + cls + " right=" + Math.round(r.right));
    }
  }
  return {width: document.documentElement.scrollWidth, over: over.slice(0, 12)};
})()`, width))
}

// openAlerts opens the alerts page as openPage does, and waits until its
// script has connected to the alert stream: the response to /alerts/events
// has come (its headers; the stream stays open).
func (b *browser) openAlerts(name string) {
	b.t.Helper()
	wait, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	responses := chromedp.Events(wait, network.ResponseReceived) // subscribed before the page asks
	b.openPage("/alerts", name)
	for ev, err := range responses {
		if err != nil {
			b.t.Fatalf("the alerts page did not connect to its stream (/alerts/events): %v", err)
		}
		if strings.Contains(ev.Response.URL, "/alerts/events") {
			if ev.Response.Status != http.StatusOK || ev.Response.MimeType != "text/event-stream" {
				b.t.Fatalf("the alert stream answered %d %s", ev.Response.Status, ev.Response.MimeType)
			}
			return
		}
	}
}

// makeCommitment records a commitment through the API as the supervisor and
// answers its id.
func makeCommitment(h *harness, body map[string]any) string {
	h.t.Helper()
	id := h.must(201, "POST", "/api/v1/commitments", body).str("id")
	if id == "" {
		h.t.Fatal("no id for the commitment made")
	}
	return id
}

// TestBrowser_ClerkRecordsAFulfilment: a county clerk signs in, reads the
// county's outstanding amount on the dashboard, records a fulfilment on the
// commitment's page — first with a bad amount, which the page shows beside
// the field and the ledger never sees — and the dashboard then shows the
// amount owed less what was fulfilled; the ledger names the clerk.
func TestBrowser_ClerkRecordsAFulfilment(t *testing.T) {
	h := newHarness(t)
	id := makeCommitment(h, commitment("532301", "subsidy", "1000000.00", "CNY", "2020-03-15", "2027-12-31"))
	b := newBrowser(t, h)

	b.signIn("clerk-532301")
	const cell = `tr[data-county="532301"] td[data-field="outstanding-wan"]`
	b.openPage("/", "dashboard")
	if got := b.text(cell); got != "100.00" {
		t.Fatalf("the dashboard's outstanding for 532301 is %q, want 100.00 (万元)", got)
	}

	b.openPage("/commitments/"+id, "commitment")
	before := b.text("#outstanding")
	if !strings.HasPrefix(before, "100.00") {
		t.Fatalf("#outstanding is %q, want 100.00 万元", before)
	}
	const (
		form     = `#form-fulfillments`
		value    = `[id="fulfillments-quantity.value"]`
		on       = `[id="fulfillments-fulfilled_on"]`
		evidence = `[id="fulfillments-evidence"]`
		fieldErr = `[id="fulfillments-quantity.value-error"]`
		send     = `#form-fulfillments button[type=submit]`
	)
	// A clerk records; approving is the supervisor's.
	if _, ok := b.found("#form-amendments"); ok {
		t.Error("a county clerk is offered the amendment (approval) form")
	}
	if open := eval[bool](b, `document.querySelector("#form-fulfillments").open`); open {
		t.Error("the fulfilment form is open before the clerk opens it")
	}
	b.do("open the fulfilment form", chromedp.Click(chromedp.CSS(form+" > summary")), chromedp.WaitVisible(chromedp.CSS(value)))

	// A bad amount: the page comes back with the error beside the field, and
	// the ledger appended nothing.
	events0 := h.events()
	b.do("fill in the form with a bad amount",
		chromedp.SendKeys(chromedp.CSS(value), "abc"),
		chromedp.SetValue(chromedp.CSS(on), "2026-11-01"),
		chromedp.SendKeys(chromedp.CSS(evidence), "资金拨付凭证 CX-2026-118"))
	if status := b.submit(send); status != http.StatusBadRequest {
		t.Errorf("a bad amount: status %d, want 400", status)
	}
	msg, ok := b.found(fieldErr)
	if !ok || msg == "" {
		formErr, _ := b.found(form + " .notice.error")
		t.Fatalf("a bad amount: no error beside the field (%s); the form says %q; the page:\n%s", fieldErr, formErr, b.pageText())
	}
	// The page is in Chinese: the ledger's rule is said in Chinese, whole.
	if !strings.Contains(msg, "应为数字") || regexp.MustCompile(`[A-Za-z]{3,}`).MatchString(msg) {
		t.Errorf("the error beside the amount is %q, want the rule in Chinese only (应为数字，如 1250000.00)", msg)
	}
	if got := eval[string](b, `document.querySelector(`+js(value)+`).getAttribute("aria-describedby") || ""`); got != "fulfillments-quantity.value-error" {
		t.Errorf("the amount field's aria-describedby is %q, want the error's id", got)
	}
	if !eval[bool](b, `document.querySelector("#form-fulfillments").open`) {
		t.Error("after a bad amount the fulfilment form is closed: the error is hidden")
	}
	if n := h.events(); n != events0 {
		t.Fatalf("a bad amount appended %d events", n-events0)
	}
	b.noConsoleErrors("the page after a bad amount", b.h.url+"/commitments/"+id+"/act/fulfillments")
	b.screenshot("commitment-error")
	// What the clerk typed is kept.
	if got := eval[string](b, `document.querySelector(`+js(on)+`).value`); got != "2026-11-01" {
		t.Errorf("after a bad amount the date is %q, want what was typed: 2026-11-01", got)
	}
	if got := eval[string](b, `document.querySelector(`+js(evidence)+`).value`); got != "资金拨付凭证 CX-2026-118" {
		t.Errorf("after a bad amount the evidence is %q, want what was typed", got)
	}

	// The right amount: recorded, and the page says so.
	b.do("correct the amount",
		// (chromedp's SetValue cannot set "": the protocol drops an empty argument.)
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+js(value)+`).value = ""`),
		chromedp.SendKeys(chromedp.CSS(value), "250000"),
		chromedp.SetValue(chromedp.CSS(on), "2026-11-01"))
	if status := b.submit(send); status != http.StatusOK {
		t.Fatalf("recording the fulfilment: status %d:\n%s", status, b.pageText())
	}
	if loc := b.location(); !strings.HasPrefix(loc, "/commitments/"+id) {
		t.Errorf("after recording, the browser is on %s, want the commitment's page", loc)
	}
	if notice, ok := b.found(".notice"); !ok || notice != "已记录。" {
		t.Errorf("after recording, the notice is %q (present %v), want 已记录。:\n%s", notice, ok, b.pageText())
	}
	after := b.text("#outstanding")
	if after == before || !strings.HasPrefix(after, "75.00") {
		t.Errorf("#outstanding went from %q to %q, want 75.00 万元", before, after)
	}
	if n := h.events(); n != events0+1 {
		t.Errorf("recording the fulfilment appended %d events, want 1", n-events0)
	}
	b.noConsoleErrors("the page after recording")
	b.screenshot("commitment-saved")

	b.openPage("/", "dashboard-after")
	if got := b.text(cell); got != "75.00" {
		t.Errorf("after a fulfilment of 25.00 万元 the dashboard's outstanding for 532301 is %q, want 75.00", got)
	}

	// The ledger names the clerk who recorded it.
	hist := h.must(200, "GET", "/api/v1/commitments/"+id+"/history", nil).body["events"].([]any)
	var actor map[string]any
	for _, e := range hist {
		if ev := e.(map[string]any); ev["type"] == "fulfillment.recorded" {
			actor, _ = ev["actor"].(map[string]any)
		}
	}
	if actor == nil {
		t.Fatalf("no fulfillment.recorded event in the history: %v", hist)
	}
	if actor["person"] != "clerk-532301" || actor["role"] != "county" {
		t.Errorf("the fulfilment's actor is %v, want person clerk-532301, role county", actor)
	}
}

// TestBrowser_ClerkCannotOpenAnotherCounty: a clerk who opens another
// county's commitment gets a "not found" page with no form on it, and a form
// posted there anyway records nothing.
func TestBrowser_ClerkCannotOpenAnotherCounty(t *testing.T) {
	h := newHarness(t)
	other := commitment("532322", "land", "300", "mu", "2020-03-15", "2027-12-31")
	other["department"] = "双柏县自然资源局"
	id := makeCommitment(h, other)
	b := newBrowser(t, h)

	b.signIn("clerk-532301")
	path := "/commitments/" + id
	if status := b.open(path); status != http.StatusNotFound {
		t.Errorf("GET %s as another county's clerk: status %d, want 404", path, status)
	}
	if text := b.pageText(); !strings.Contains(text, "没有这项承诺") {
		t.Errorf("the page does not say 没有这项承诺:\n%s", text)
	}
	if n := eval[int](b, `document.querySelectorAll("main form, main details, main input, main textarea").length`); n != 0 {
		t.Errorf("the not-found page has %d form elements", n)
	}
	if strings.Contains(b.pageText(), "双柏县自然资源局") {
		t.Error("the not-found page shows the other county's commitment")
	}
	if _, ok := b.found("h1"); !ok {
		t.Error("the not-found page has no heading")
	}
	b.noConsoleErrors("the not-found page", h.url+path)
	b.screenshot("commitment-404")

	// A fulfilment posted straight to the action, with the session's own
	// CSRF token: not found, and nothing recorded.
	events0 := h.events()
	status := eval[int](b, `(async () => {
  const f = new FormData();
  f.set("csrf", document.querySelector('header.top input[name="csrf"]').value);
  f.set("quantity.value", "100");
  f.set("fulfilled_on", "2026-11-01");
  f.set("evidence", "x");
  const r = await fetch(`+js(path+"/act/fulfillments")+`, {method: "POST", body: new URLSearchParams(f)});
  return r.status;
})()`)
	if status != http.StatusNotFound {
		t.Errorf("a fulfilment posted to another county's commitment: status %d, want 404", status)
	}
	if n := h.events(); n != events0 {
		t.Errorf("a fulfilment posted to another county's commitment appended %d events", n-events0)
	}
	b.takeConsole() // the refused fetch is logged as a failed load
}

// evaluateAlerts runs the alert engine on the harness's clock.
func evaluateAlerts(t *testing.T, h *harness) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.engine.EvaluateAll(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestBrowser_AlertAppearsLive: the alerts page, left open, shows an alert
// the moment the engine raises it — without a reload.
func TestBrowser_AlertAppearsLive(t *testing.T) {
	h := newHarness(t)
	id := makeCommitment(h, commitment("532301", "subsidy", "500000", "CNY", "2026-01-10", "2026-11-28"))
	evaluateAlerts(t, h)
	b := newBrowser(t, h)
	b.signIn("supervisor")

	b.openAlerts("alerts")
	time.Sleep(300 * time.Millisecond) // the stream has sent what there was

	const row = `tr[id^="alert-overdue-"]`
	if _, ok := b.found(row); ok {
		t.Fatal("an overdue alert is on the page before the commitment is overdue")
	}
	// Nothing has fired since the page was rendered: the script adds no row
	// (a stream opened from its start would send every alert again).
	if n := eval[int](b, `document.querySelectorAll("#alerts-live tbody tr.new").length`); n != 0 {
		t.Errorf("before any alert fired, the script added %d rows (class new): the page's stream starts at the beginning, not after what the page shows", n)
	}
	const dueSoon = `tr[id^="alert-due_soon-"]`
	if _, ok := b.found(dueSoon); !ok {
		t.Errorf("the commitment due tomorrow has no due-soon alert on the page:\n%s", b.pageText())
	}
	b.do("mark the document", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))

	h.clock.Set(testNow.Add(48 * time.Hour)) // 2026-11-29: a day past due
	evaluateAlerts(t, h)

	wctx, wcancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer wcancel()
	if err := chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS(row))); err != nil {
		t.Fatalf("no overdue alert appeared on the open page within 10 s: %v\n%s", err, b.pageText())
	}
	if !eval[bool](b, `window.notReloaded === true`) {
		t.Error("the page was reloaded: the alert must appear without a reload")
	}
	text := b.text(row)
	if !strings.Contains(text, "逾期") {
		t.Errorf("the new alert's row %q does not say 逾期", text)
	}
	cells := eval[[]string](b, `Array.from(document.querySelector(`+js(row)+`).cells, c => c.innerText.trim())`)
	if len(cells) != 6 || cells[1] != "逾期" || cells[2] != "楚雄市" || cells[4] != "2026-11-28" || cells[5] != "1" {
		t.Errorf("the new alert's cells are %q, want [date 逾期 楚雄市 project 2026-11-28 1]", cells)
	}
	// The new row is laid out as the page's own rows: its figure aligned
	// with its column's heading.
	if align := eval[string](b, `getComputedStyle(document.querySelector(`+js(row)+`).cells[5]).textAlign`); align != "right" {
		t.Errorf("the new row's days overdue are aligned %q, want right, as the column's heading and the rendered rows (td.num)", align)
	}
	if got := eval[string](b, `document.querySelector(`+js(row)+`).id`); got != "alert-overdue-"+id+"-20261128" {
		t.Errorf("the new row's id is %q, want alert-overdue-%s-20261128", got, id)
	}
	if href := eval[string](b, `document.querySelector(`+js(row+" a")+`).getAttribute("href")`); href != "/commitments/"+id {
		t.Errorf("the new alert links to %q, want /commitments/%s", href, id)
	}
	// The due-soon alert no longer holds: resolved, and gone from the page.
	if err := chromedp.Do(wctx, chromedp.WaitNotPresent(chromedp.CSS(dueSoon))); err != nil {
		t.Errorf("the due-soon alert of the commitment now overdue is still on the page: %v", err)
	}
	b.noConsoleErrors("the alerts page after the alert")
	b.screenshot("alerts-live")
}

// TestBrowser_BulletinFitsA4: the printable bulletin, with long project
// names, is no wider than A4's printable width in print, and prints to a PDF.
func TestBrowser_BulletinFitsA4(t *testing.T) {
	h := newHarness(t)
	long := []struct{ county, project, department, value, due string }{
		{"532301", "楚雄高新技术产业开发区年产20万吨高纯工业硅及配套光伏产业链一体化建设项目（一期、二期、三期工程）", "楚雄高新技术产业开发区管理委员会经济发展和招商合作局", "12500000.00", "2025-06-30"},
		{"532322", "双柏县妥甸镇绿色食品精深加工产业园暨冷链物流集散中心基础设施配套建设项目", "双柏县自然资源局", "3000000", "2026-03-31"},
		{"532325", "姚安县光禄古镇文化旅游综合开发项目", "姚安县文化和旅游局", "880000.50", "2026-10-15"},
		{"532331", "禄丰市新材料产业园区钛及钛合金深加工项目配套标准化厂房及污水处理设施建设工程", "禄丰市工业园区管理委员会", "45000000", "2024-12-31"},
	}
	for i, c := range long {
		body := commitment(c.county, "subsidy", c.value, "CNY", "2023-05-10", c.due)
		body["project"], body["department"] = c.project, c.department
		body["investor"] = map[string]any{"name": "云南某某新能源科技股份有限公司楚雄分公司", "credit_code": creditCode(10 + i)}
		id := makeCommitment(h, body)
		if i == 0 {
			h.must(201, "POST", "/api/v1/commitments/"+id+"/supervision-orders", map[string]any{"deadline": "2026-12-31", "note": "限期兑现"})
		}
	}
	land := commitment("532301", "land", "300", "mu", "2020-03-15", "2020-12-31")
	makeCommitment(h, land)
	b := newBrowser(t, h)
	b.signIn("supervisor")

	b.openPage("/bulletin", "bulletin")
	if n := eval[int](b, `document.querySelectorAll("article.bulletin table.overdue-list tbody tr").length`); n != len(long)+1 {
		t.Errorf("the bulletin lists %d overdue commitments, want %d", n, len(long)+1)
	}
	if !strings.Contains(b.text("article.bulletin"), long[0].project) {
		t.Error("the bulletin does not show the long project name in full")
	}

	// In print, at A4's printable width.
	b.do("print media at A4 width",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
			return err
		}),
		chromedp.EmulateViewport(a4PrintableWidth, 1100))
	if !eval[bool](b, `matchMedia("print").matches`) {
		t.Fatal("the print media is not emulated")
	}
	for _, sel := range []string{"header.top", ".no-print"} {
		if shown := eval[string](b, `getComputedStyle(document.querySelector(`+js(sel)+`)).display`); shown != "none" {
			t.Errorf("in print %s is shown (display %s)", sel, shown)
		}
	}
	if o := b.overflow(a4PrintableWidth); o.Width > a4PrintableWidth+1 || len(o.Over) > 0 {
		t.Errorf("in print the bulletin is %d px wide, more than A4's printable %d px; sticking out: %v", o.Width, a4PrintableWidth, o.Over)
	}
	b.screenshot("bulletin-print")

	pdf, err := chromedp.Run(b.ctx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4), chromedp.PDFPreferCSSPageSize()))
	if err != nil {
		t.Fatalf("print to PDF: %v", err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Fatalf("the PDF does not start with %%PDF: %q", pdf[:min(len(pdf), 16)])
	}
	b.save("bulletin.pdf", pdf)
	// Every page is A4 (595 × 842 points), as the stylesheet's @page asks.
	boxes := regexp.MustCompile(`/MediaBox\s*\[\s*0 0 ([0-9.]+) ([0-9.]+)\s*\]`).FindAllSubmatch(pdf, -1)
	if len(boxes) == 0 {
		t.Errorf("the PDF (%d bytes) has no page", len(pdf))
	}
	for _, m := range boxes {
		w, _ := strconv.ParseFloat(string(m[1]), 64)
		hh, _ := strconv.ParseFloat(string(m[2]), 64)
		if w < 594 || w > 597 || hh < 841 || hh > 843 {
			t.Errorf("a page of the PDF is %s × %s points, want A4 (595 × 842)", m[1], m[2])
		}
	}
	t.Logf("bulletin.pdf: %d bytes, %d pages", len(pdf), len(boxes))
	b.noConsoleErrors("the bulletin in print")
}

// TestBrowser_EveryPageScreenshots: every page, as the person who may see it,
// has a heading, our stylesheet and script working under the strict
// Content-Security-Policy with nothing in the console, and a screenshot; the
// dashboard fits a phone's width.
func TestBrowser_EveryPageScreenshots(t *testing.T) {
	h := newHarness(t)
	id := makeCommitment(h, commitment("532301", "subsidy", "1000000.00", "CNY", "2020-03-15", "2027-12-31"))
	h.must(201, "POST", "/api/v1/commitments/"+id+"/fulfillments", fulfilment("250000", "CNY", "2026-11-01"))
	makeCommitment(h, commitment("532301", "land", "300", "mu", "2020-03-15", "2026-06-30"))
	makeCommitment(h, commitment("532322", "tax", "120000", "CNY", "2024-01-15", "2026-12-10"))
	evaluateAlerts(t, h)
	b := newBrowser(t, h)

	// The watch sees what a strict policy refuses: an inline script and
	// style on a page of another server, with the pages' policy.
	canary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><html><head><style>h1{color:red}</style></head><body><h1>canary</h1><script>document.title = "ran";</script></body></html>`)
	}))
	defer canary.Close()
	b.do("the canary page", chromedp.Navigate(canary.URL))
	seen := fmt.Sprint(b.takeConsole())
	if !strings.Contains(seen, "Content Security Policy directive 'script-src") || !strings.Contains(seen, "Content Security Policy directive 'style-src") {
		t.Fatalf("the console watch missed the canary page's policy violations (an inline script and an inline style); it saw %v", seen)
	}

	b.openPage("/signin", "signin")
	b.signIn("supervisor")
	b.openPage("/", "dashboard")
	if n := eval[int](b, `document.querySelectorAll("table#counties tbody tr[data-county]").length`); n != 10 {
		t.Errorf("the dashboard has %d county rows, want 10", n)
	}
	if total := b.text("#total-wan"); total != "87.00" {
		t.Errorf("#total-wan is %q, want 87.00 (75.00 + 12.00)", total)
	}

	// On a phone: nothing but the tables' own scrolling is wider than it.
	b.do("a phone's viewport", chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateMobile))
	b.openPage("/", "dashboard-360")
	if o := b.overflow(phoneWidth); o.Width > phoneWidth+2 || len(o.Over) > 0 {
		t.Errorf("at %d px the dashboard is %d px wide; sticking out: %v", phoneWidth, o.Width, o.Over)
	}
	if scrolls := eval[bool](b, `(() => { const w = document.querySelector("#counties").closest(".table-wrap"); return !!w && getComputedStyle(w).overflowX === "auto"; })()`); !scrolls {
		t.Error("the counties table is not in a scrolling .table-wrap")
	}
	b.do("the desktop viewport", chromedp.EmulateViewport(desktopWidth, desktopHeight))

	b.openPage("/counties/532301", "county")
	if n := eval[int](b, `document.querySelectorAll("table#commitments tbody a[href^='/commitments/']").length`); n != 2 {
		t.Errorf("the county page lists %d commitments, want 2", n)
	}
	b.openPage("/commitments/"+id, "commitment")
	if n := eval[int](b, `document.querySelectorAll("table#timeline tbody tr").length`); n != 2 {
		t.Errorf("the commitment's timeline has %d rows, want 2", n)
	}
	b.openAlerts("alerts") // connects only if /static/app.js ran
	if n := eval[int](b, `document.querySelectorAll("table#alerts-live tbody tr[id^='alert-']").length`); n == 0 {
		t.Error("the alerts page lists no alert")
	}
	b.openPage("/bulletin", "bulletin")
	b.openPage("/password", "password")
	b.signOut()

	b.signIn("auditor")
	b.openPage("/audit", "audit")
	if status := b.submit(`form[action="/audit/verify"] button`); status != http.StatusOK {
		t.Errorf("verifying: status %d", status)
	}
	if res := b.text("#verify-result"); !strings.Contains(res, "核验通过") {
		t.Errorf("the verification says %q, want 核验通过", res)
	}
	b.checkPage("/audit/verify", "audit-verified")
	b.signOut()

	b.signIn("admin")
	b.openPage("/users", "users")
	if n := eval[int](b, `document.querySelectorAll("table#users tbody tr").length`); n < 13 {
		t.Errorf("the users page lists %d accounts, want every one of the harness's (13)", n)
	}
	b.signOut()
}
