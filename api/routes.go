package api

import (
	"net/http"

	"promiseledger/access"
	"promiseledger/events"
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

	mux.Handle("POST /api/v1/commitments", s.guard(record, s.handleMake()))
	mux.Handle("GET /api/v1/commitments", s.guard(read, s.handleList()))
	mux.Handle("GET /api/v1/commitments/{id}", s.guard(read, s.handleGet()))
	mux.Handle("GET /api/v1/commitments/{id}/history", s.guard(read, s.handleHistory()))
	mux.Handle("POST /api/v1/commitments/{id}/fulfillments", s.guard(record, handleCommand[events.RecordFulfillment](s, "fulfillments", nil)))
	mux.Handle("POST /api/v1/commitments/{id}/reversals", s.guard(record, handleCommand[events.ReverseFulfillment](s, "reversals", nil)))
	mux.Handle("POST /api/v1/commitments/{id}/disputes", s.guard(record, handleCommand[events.OpenDispute](s, "disputes", nil)))
	mux.Handle("POST /api/v1/commitments/{id}/amendments", s.guard(approve, handleCommand[events.Amend](s, "amendments", nil)))
	mux.Handle("POST /api/v1/commitments/{id}/waiver", s.guard(approve, handleCommand[events.Waive](s, "waiver", nil)))
	mux.Handle("POST /api/v1/commitments/{id}/cancellation", s.guard(approve, handleCommand[events.Cancel](s, "cancellation", nil)))
	mux.Handle("POST /api/v1/commitments/{id}/disputes/{dispute_id}/resolution", s.guard(approve, handleCommand(s, "resolution",
		func(r *http.Request, c *events.ResolveDispute) { c.DisputeID = r.PathValue("dispute_id") })))
	mux.Handle("POST /api/v1/commitments/{id}/supervision-orders", s.guard(approve, handleCommand[events.OrderSupervision](s, "supervision-orders", nil)))

	mux.Handle("GET /api/v1/commitments/{id}/proof", s.guard(read, s.handleProof()))

	mux.Handle("GET /api/v1/audit/pubkey", s.guard(read, s.handlePubkey()))
	mux.Handle("GET /api/v1/audit/verify", s.guard(audit, s.handleVerify()))
	mux.Handle("GET /api/v1/audit/seals", s.guard(audit, s.handleSeals()))
	mux.Handle("GET /api/v1/audit/consistency", s.guard(audit, s.handleConsistency()))
	mux.Handle("GET /api/v1/audit/export", s.guard(audit, s.handleExport()))

	mux.Handle("GET /api/v1/counties", s.guard(read, s.handleCounties()))
	mux.Handle("GET /api/v1/counties/{code}", s.guard(read, s.handleCounty()))
	mux.Handle("GET /api/v1/aging", s.guard(read, s.handleAging()))

	mux.Handle("GET /api/v1/alerts", s.guard(read, s.handleAlerts()))
	mux.Handle("GET /api/v1/alerts/stream", s.guard(read, s.handleAlertStream()))
	mux.Handle("GET /api/v1/reports/overdue", s.guard(read, s.handleOverdueReport()))

	mux.Handle("GET /api/v1/tokens", s.guard(manage, s.handleTokens()))
	mux.Handle("POST /api/v1/tokens", s.guard(manage, s.handleAddToken()))
	mux.Handle("POST /api/v1/tokens/{name}/revocation", s.guard(manage, s.handleRevokeToken()))

	mux.Handle("/", s.handleNotFound())
}

// metricsRoutes is the whole surface of the metrics listener (serve
// --metrics-listen): /metrics, without a token.
func (s *Server) metricsRoutes(mux *http.ServeMux) {
	mux.Handle("GET /metrics", s.metrics.handler())
}
