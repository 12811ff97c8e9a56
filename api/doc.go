// Package api speaks the ledger's HTTP contract (docs/openapi.json): it decodes
// and checks requests, hands commands to package ledger, renders the views
// of package projections, and maps domain errors to status codes. It folds
// no events and decides no rules itself.
package api
