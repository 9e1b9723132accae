// Package server is accrue's Connect edge: it serves the seven accrue.v1
// services (Connect, gRPC and gRPC-Web over HTTP/1.1 and h2c), gRPC health,
// reflection, and the Kubernetes probes.
//
// A handler decodes its request (strictly: strict.go, validate.go), checks
// the wire's limits (limits.go, and the XMax constants beside each
// service), reads its times (times.go: an omitted `at` is the injected
// clock's now, and an event may not be dated in the future) and paging
// tokens, computes the request hash of a write (command.go), calls one
// method of internal/service, and converts the result to proto. A write's
// response is encoded inside the service's transaction by the Encode the
// handler passes, so a replay of its idempotency key answers the stored
// bytes. Domain errors come back as *fault.Error, untouched; connectError
// (command.go) maps them, the database's unavailability (txn.Unavailable)
// and exhausted retries (txn.Retryable) to Connect codes in one place.
//
// It holds no SQL and imports no pgx (internal/archtest enforces it); the
// use cases, the domain tables and the journal live below it, in service,
// store, affiliate, rules and ledger (README, "Architecture").
package server
