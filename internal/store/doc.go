// Package store is the SQL of accrue's domain tables: partners, clicks,
// orders, order events, periods, statements, payouts, spends, rules
// versions and commands (the idempotency records). Its functions run over a
// ledger.Querier (a pgx.Tx or a pool), return plain Go structs, and keep a
// table's lock clauses and JSON columns in one place.
//
// It decides nothing: a missing row is reported as found == false (or
// pgx.ErrNoRows), never as a domain fault; the service turns it into one.
// It never touches the journal's tables (those are ledger's), and imports
// neither connect nor the generated API (proto/accrue/v1). A read that lists
// returns a page in one query, not one per row.
package store
