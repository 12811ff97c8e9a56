// Package events is the domain of the ledger: the commitment (承诺事项), the
// events that happen to it, the rules that decide whether a command may become
// an event, the exact quantities and calendar dates they carry, the store
// interface, and the errors callers test with [errors.Is].
//
// It knows nothing of NATS or HTTP: storage lives in package jsstore, views in
// package projections, and the wire protocol in package api.
package events
