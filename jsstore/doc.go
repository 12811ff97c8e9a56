// Package jsstore keeps the ledger's events in NATS JetStream: one stream,
// one subject per commitment that carries its county
// (ledger.<county>.<commitment-id>), file storage, no deletes, no purges.
// It implements [events.Store] and starts the embedded nats-server that the
// ledger uses when it is not given an external one. Beside the stream it
// keeps the buckets the ledger needs (tokens, web accounts, sessions,
// checkpoints in parts, evidence files) and takes and restores JetStream's
// own snapshots of all of them ([Backup], [Restore]).
package jsstore
