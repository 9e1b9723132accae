// Package service is accrue's use cases: each runs a command or a query
// over the database in retried transactions (internal/txn), with its
// idempotency record (Exec, ExecPosting for a command that posts,
// ExecIdempotent for the close, which runs many transactions), the
// parsed-rules cache, the close workflow with its leases and batches, the
// statements, the journal's seals and signing key, and the scheduler's
// jobs (RunScheduled: due closes, sealing, command expiry; Snapshot: the
// as-of snapshots), all on the one
// injected clock.
//
// A use case reads through store and ledger, decides through affiliate and
// rules, and writes through ledger and store. It creates domain errors as
// *fault.Error with the request field they concern. It imports neither
// connect nor the generated API (proto/accrue/v1; internal/archtest enforces
// it): inputs are plain structs of this package, outputs are ledger,
// affiliate or store types (or small result structs here), and a command's
// stored response is encoded by the caller's Encode callback inside the
// command's transaction, so a replay answers byte for byte.
//
// Naming: an idempotent command is func (s *Service) VerbNoun(ctx, c
// Command, in VerbNounInput, encode Encode[Result]) (Reply, error); a read
// takes its arguments and returns its result. prog is always a
// *rules.Program, journal the program as the journal sees it (a
// *ledger.Program), pc the PostingCommand of a command that posts.
package service
