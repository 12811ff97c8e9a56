package api

import (
	"net/http"

	"promiseledger/events"
)

// routes is the whole HTTP surface, in one place.
func (s *Server) routes(mux *http.ServeMux) {
	mux.Handle("GET /healthz", s.handleHealthz())
	mux.Handle("GET /readyz", s.handleReadyz())
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.Handle("GET /api/v1/openapi.json", handleOpenAPI())

	mux.Handle("POST /api/v1/commitments", s.ready(s.handleMake()))
	mux.Handle("GET /api/v1/commitments", s.ready(s.handleList()))
	mux.Handle("GET /api/v1/commitments/{id}", s.ready(s.handleGet()))
	mux.Handle("GET /api/v1/commitments/{id}/history", s.ready(s.handleHistory()))
	mux.Handle("POST /api/v1/commitments/{id}/fulfillments", s.ready(handleCommand[events.RecordFulfillment](s, "fulfillments", nil)))
	mux.Handle("POST /api/v1/commitments/{id}/reversals", s.ready(handleCommand[events.ReverseFulfillment](s, "reversals", nil)))
	mux.Handle("POST /api/v1/commitments/{id}/amendments", s.ready(handleCommand[events.Amend](s, "amendments", nil)))
	mux.Handle("POST /api/v1/commitments/{id}/waiver", s.ready(handleCommand[events.Waive](s, "waiver", nil)))
	mux.Handle("POST /api/v1/commitments/{id}/cancellation", s.ready(handleCommand[events.Cancel](s, "cancellation", nil)))
	mux.Handle("POST /api/v1/commitments/{id}/disputes", s.ready(handleCommand[events.OpenDispute](s, "disputes", nil)))
	mux.Handle("POST /api/v1/commitments/{id}/disputes/{dispute_id}/resolution", s.ready(handleCommand(s, "resolution",
		func(r *http.Request, c *events.ResolveDispute) { c.DisputeID = r.PathValue("dispute_id") })))
	mux.Handle("POST /api/v1/commitments/{id}/supervision-orders", s.ready(handleCommand[events.OrderSupervision](s, "supervision-orders", nil)))

	mux.Handle("GET /api/v1/counties", s.ready(s.handleCounties()))
	mux.Handle("GET /api/v1/counties/{code}", s.ready(s.handleCounty()))
	mux.Handle("GET /api/v1/aging", s.ready(s.handleAging()))

	mux.Handle("/", s.handleNotFound())
}
