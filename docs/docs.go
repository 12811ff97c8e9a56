// Package docs holds the ledger's published documentation: the OpenAPI 3
// document of the HTTP API (openapi.json, embedded as [OpenAPI] so the server
// can serve it) and the event catalog (events.md). It holds no code that
// speaks HTTP or reads events; its test checks the document against the
// routes in package api.
package docs

import _ "embed"

// OpenAPI is the OpenAPI 3.0.3 document of the HTTP API, as JSON.
//
//go:embed openapi.json
var OpenAPI []byte
