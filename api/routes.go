package api

import (
	"net/http"

	"promiseledger/access"
	"promiseledger/events"
	"promiseledger/web"
)

// routes is the whole HTTP surface, in one place, with what each route
// needs of its caller (the table of who may do what is access.permissions).
func (s *Server) routes(mux *http.ServeMux) {
	read, record, approve, manage, audit, monitor := access.Read, access.Record, access.Approve, access.Manage, access.Audit, access.Monitor
	// Without a token: alive, ready (or why not), and the contract; no counts.
	mux.Handle("GET /healthz", s.handleHealthz())
	mux.Handle("GET /readyz", s.handleReadyz())
	mux.Handle("GET /api/v1/openapi.json", handleOpenAPI())
	// Counts across every county; answered while the ledger catches up too,
	// which is when its progress is worth watching.
	mux.Handle("GET /metrics", s.authorize(monitor, s.metrics.handler()))

	mux.Handle("POST /api/v1/commitments", s.guard(record, params(s.handleMake())))
	mux.Handle("GET /api/v1/commitments", s.guard(read, params(s.handleList(), append([]string{"county", "kind", "status", "department", "overdue", "limit", "cursor", "as_of", "on"}, searchParams...)...)))
	mux.Handle("GET /api/v1/commitments/export", s.guard(read, params(s.handleCommitmentExport(), append([]string{"county", "kind", "status", "department", "overdue", "as_of", "on", "format", "lang"}, searchParams...)...)))
	mux.Handle("GET /api/v1/commitments/{id}", s.guard(read, params(s.handleGet(), "as_of", "on")))
	mux.Handle("GET /api/v1/commitments/{id}/history", s.guard(read, params(s.handleHistory(), "as_of")))
	mux.Handle("POST /api/v1/commitments/{id}/fulfillments", s.guard(record, params(handleCommand[events.RecordFulfillment](s, "fulfillments", nil))))
	mux.Handle("POST /api/v1/commitments/{id}/reversals", s.guard(record, params(handleCommand[events.ReverseFulfillment](s, "reversals", nil))))
	mux.Handle("POST /api/v1/commitments/{id}/disputes", s.guard(record, params(handleCommand[events.OpenDispute](s, "disputes", nil))))
	mux.Handle("POST /api/v1/commitments/{id}/amendments", s.guard(approve, params(handleCommand[events.Amend](s, "amendments", nil))))
	mux.Handle("POST /api/v1/commitments/{id}/waiver", s.guard(approve, params(handleCommand[events.Waive](s, "waiver", nil))))
	mux.Handle("POST /api/v1/commitments/{id}/cancellation", s.guard(approve, params(handleCommand[events.Cancel](s, "cancellation", nil))))
	mux.Handle("POST /api/v1/commitments/{id}/disputes/{dispute_id}/resolution", s.guard(approve, params(handleCommand(s, "resolution",
		func(r *http.Request, c *events.ResolveDispute) { c.DisputeID = r.PathValue("dispute_id") }))))
	mux.Handle("POST /api/v1/commitments/{id}/corrections", s.guard(record, params(handleCommand[events.Correct](s, "corrections", nil))))
	mux.Handle("POST /api/v1/commitments/{id}/handover", s.guard(approve, params(handleCommand[events.HandOver](s, "handover", nil))))
	mux.Handle("POST /api/v1/commitments/{id}/voiding", s.guard(approve, params(handleCommand[events.VoidEntry](s, "voiding", nil))))
	order := func(r *http.Request) string { return r.PathValue("order_id") }
	mux.Handle("POST /api/v1/commitments/{id}/supervision-orders/{order_id}/acknowledgement", s.guard(record, params(handleCommand(s, "acknowledgement",
		func(r *http.Request, c *events.AcknowledgeOrder) { c.OrderID = order(r) }))))
	mux.Handle("POST /api/v1/commitments/{id}/supervision-orders/{order_id}/progress", s.guard(record, params(handleCommand(s, "progress",
		func(r *http.Request, c *events.ReportProgress) { c.OrderID = order(r) }))))
	mux.Handle("POST /api/v1/commitments/{id}/supervision-orders/{order_id}/closure-request", s.guard(record, params(handleCommand(s, "closure-request",
		func(r *http.Request, c *events.RequestClosure) { c.OrderID = order(r) }))))
	mux.Handle("POST /api/v1/commitments/{id}/supervision-orders/{order_id}/closure", s.guard(approve, params(handleCommand(s, "closure",
		func(r *http.Request, c *events.CloseOrder) { c.OrderID = order(r) }))))
	mux.Handle("POST /api/v1/commitments/{id}/extension-requests", s.guard(record, params(handleCommand[events.RequestExtension](s, "extension-requests", nil))))
	mux.Handle("POST /api/v1/commitments/{id}/extension-requests/{request_id}/decision", s.guard(approve, params(handleCommand(s, "decision",
		func(r *http.Request, c *events.DecideExtension) { c.RequestID = r.PathValue("request_id") }))))
	mux.Handle("POST /api/v1/commitments/{id}/supervision-orders", s.guard(approve, params(handleCommand[events.OrderSupervision](s, "supervision-orders", nil))))

	mux.Handle("GET /api/v1/imports/template", s.guard(read, params(s.handleTemplate())))
	mux.Handle("POST /api/v1/imports", s.guard(record, params(s.handleImport(), "dry_run", "skip_invalid", "report", "lang", "county")))
	mux.Handle("POST /api/v1/attachments", s.guard(record, params(s.handleUpload())))
	mux.Handle("GET /api/v1/attachments/{sha256}", s.guard(read, params(s.handleDownload())))

	mux.Handle("GET /api/v1/commitments/{id}/proof", s.guard(read, params(s.handleProof(), "event")))

	mux.Handle("GET /api/v1/audit/pubkey", s.guard(read, params(s.handlePubkey())))
	mux.Handle("GET /api/v1/audit/verify", s.guard(audit, params(s.handleVerify())))
	mux.Handle("GET /api/v1/audit/seals", s.guard(audit, params(s.handleSeals())))
	mux.Handle("GET /api/v1/audit/consistency", s.guard(audit, params(s.handleConsistency(), "from", "to")))
	mux.Handle("GET /api/v1/audit/export", s.guard(audit, params(s.handleExport(), "county", "from", "to", "format")))

	mux.Handle("GET /api/v1/counties", s.guard(read, params(s.handleCounties(), "as_of", "on")))
	mux.Handle("GET /api/v1/counties/{code}", s.guard(read, params(s.handleCounty(), "as_of", "on")))
	mux.Handle("GET /api/v1/investors", s.guard(read, params(s.handleInvestors(), searchParams...)))
	mux.Handle("GET /api/v1/investors/{credit_code}", s.guard(read, params(s.handleInvestor(), searchParams...)))
	mux.Handle("GET /api/v1/projects", s.guard(read, params(s.handleProjects(), searchParams...)))
	mux.Handle("GET /api/v1/aging", s.guard(read, params(s.handleAging(), "as_of", "on")))

	mux.Handle("GET /api/v1/alerts", s.guard(read, params(s.handleAlerts(), "county", "rule", "state")))
	mux.Handle("GET /api/v1/alerts/stream", s.guard(read, params(s.handleAlertStream(), "county", "rule", "state", "since")))
	mux.Handle("GET /api/v1/reports/overdue", s.guard(read, params(s.handleOverdueReport(), "as_of", "on", "lang", "format")))

	mux.Handle("GET /api/v1/tokens", s.guard(manage, params(s.handleTokens())))
	mux.Handle("POST /api/v1/tokens", s.guard(manage, params(s.handleAddToken())))
	mux.Handle("POST /api/v1/tokens/{name}/revocation", s.guard(manage, params(s.handleRevokeToken())))

	// The web pages: a signed-in person, a session cookie, CSRF tokens on
	// every form. What they show and do goes through the same views, and
	// their writes and downloads through the API routes above, as that
	// person (see dispatch).
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(web.Static())))
	mux.Handle("GET /signin", s.handleSignIn())
	mux.Handle("POST /signin", s.handleSignIn())
	mux.Handle("GET /lang/{lang}", s.handleLang())
	mux.Handle("POST /signout", s.page(read, s.handleSignOut()))
	mux.Handle("GET /password", s.page(read, s.handlePassword()))
	mux.Handle("POST /password", s.page(read, s.handlePassword()))
	mux.Handle("GET /{$}", s.page(read, s.handleDashboard()))
	mux.Handle("GET /counties", s.page(read, s.handleCountiesPage()))
	mux.Handle("GET /counties/{code}", s.page(read, s.handleCountyPage()))
	mux.Handle("POST /counties/{code}/import", s.page(record, s.handleCountyImport()))
	mux.Handle("GET /export", s.page(read, s.handlePassThrough("/api/v1/commitments/export")))
	mux.Handle("GET /template.xlsx", s.page(read, s.handlePassThrough("/api/v1/imports/template")))
	mux.Handle("GET /commitments/{id}", s.page(read, s.handleCommitmentPage()))
	mux.Handle("POST /commitments/{id}/act/{action...}", s.page(read, s.handleCommitmentAction()))
	mux.Handle("GET /files/{sha256}", s.page(read, s.handlePassThrough("/api/v1/attachments/{sha256}")))
	mux.Handle("GET /alerts", s.page(read, s.handleAlertsPage()))
	mux.Handle("GET /alerts/events", s.page(read, s.handlePassThrough("/api/v1/alerts/stream")))
	mux.Handle("GET /bulletin", s.page(read, s.handleBulletinPage()))
	mux.Handle("GET /bulletin.xlsx", s.page(read, s.handleBulletinWorkbook()))
	mux.Handle("GET /audit", s.page(audit, s.handleAuditPage(false)))
	mux.Handle("POST /audit/verify", s.page(audit, s.handleAuditPage(true)))
	mux.Handle("GET /audit/export.jsonl", s.page(audit, s.handlePassThrough("/api/v1/audit/export?format=jsonl")))
	mux.Handle("GET /audit/export.csv", s.page(audit, s.handlePassThrough("/api/v1/audit/export?format=csv")))
	mux.Handle("GET /users", s.page(manage, s.handleUsers()))
	mux.Handle("POST /users", s.page(manage, s.handleUsers()))
	mux.Handle("POST /users/{name}/disable", s.page(manage, s.handleUserChange(true)))
	mux.Handle("POST /users/{name}/reset", s.page(manage, s.handleUserChange(false)))

	mux.Handle("/", s.handleNotFound())
}

// metricsRoutes is the whole surface of the metrics listener (serve
// --metrics-listen): /metrics, without a token.
func (s *Server) metricsRoutes(mux *http.ServeMux) {
	mux.Handle("GET /metrics", s.metrics.handler())
}
