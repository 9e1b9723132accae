// Package ledger owns accrue's journal: programs' charts of accounts,
// immutable balanced transactions and their entries, stored balances, and the
// hash chain that lets an auditor verify nothing was altered.
//
// It knows nothing of partners, orders or rules: callers hand it a Posting
// (legs that must balance) and it writes it atomically, idempotently, or not
// at all. It never UPDATEs or DELETEs a journal row.
//
// Invariants, asserted in code and checked by Verify:
//   - the entries of every transaction sum to zero;
//   - every account's stored balance (the sum of its shard rows) equals the
//     sum of its entries;
//   - every transaction's hash matches its content, and the seals chain the
//     hashes of all sealed transactions in id order.
//
// Hot accounts: a batch of postings adds to one of an account's balance
// shards (chosen by its first transaction's id), and does so last, just
// before commit (PostBatchOwing lets the caller write its own rows first),
// so writers to a hot account rarely queue on one row lock. Entries carry no foreign key to
// accounts, for the same reason (see docs/journal.md).
package ledger
