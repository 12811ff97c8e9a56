// Package access says who may do what: the roles, the principals that
// bearer tokens stand for, the tokens themselves (made, hashed, checked in
// constant time), and the one table of permissions every request is judged
// by. It knows nothing of NATS or HTTP; package jsstore keeps the token
// records and package api enforces the table.
package access
