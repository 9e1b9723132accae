// Package webhook sends a program's events to its webhook endpoints
// (issue 10): signed per the Standard Webhooks specification
// (sign.go), over an HTTP client that refuses private and loopback
// addresses at dial time (guard.go), at least once and in feed order per
// endpoint, retried with exponential backoff and jitter for about a day
// and then marked failed (worker.go). Its state is in the database
// (internal/service runs the transactions): the worker's position,
// every delivery and every attempt, so it survives restarts; a lease row
// makes one process of several send at a time. It owns no SQL and no
// wire form: the event's body comes from the server's renderer.
package webhook
