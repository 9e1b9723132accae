// Package affiliate is accrue's affiliate domain, pure: the chart of
// accounts and its codes, and the decisions a command makes once its facts
// are read (which accounts a movement posts to, ...). More of the domain
// moves here slice by slice (issue 8): the order lifecycle, who earns, hold
// and maturity, release, statements, payout and spend amounts, periods.
//
// It reads nothing and writes nothing: it imports rules, ledger (for its
// types), decimal, internal/fault, internal/money and the standard library
// only; never pgx, connect or the generated API (internal/gen). Its tests
// are table-driven and run without a database.
package affiliate
