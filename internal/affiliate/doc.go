// Package affiliate is accrue's affiliate domain, pure: the decisions a
// command makes once its facts are read. It holds the chart of accounts and
// its codes (accounts.go), which accounts a movement posts to (movement.go),
// the order lifecycle and its preconditions, who earns and hold and
// maturity (orders.go), partner statuses, the referral cycle check over a
// fetched chain and the upline (partners.go), attribution by click
// (tracking.go), periods: range, next, due date, maturity and release
// against the minimum (periods.go), statement status and lines
// (statements.go), and payout and spend amounts and movements (payouts.go).
//
// It reads nothing and writes nothing: it imports rules, ledger (for its
// types), decimal, internal/fault, internal/money and the standard library
// only; never pgx, connect or the generated API (proto/accrue/v1). Its tests
// are table-driven and run without a database.
package affiliate
