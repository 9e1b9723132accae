// Package service is accrue's use cases: each runs a command or a query
// over the database in retried transactions (internal/txn), with its
// idempotency record (Exec, ExecPosting-to-come, ExecIdempotent), the
// parsed-rules cache, the journal's seals, and, as the slices move, the
// close workflow and the scheduler's jobs.
//
// A use case reads through store and ledger, decides through affiliate and
// rules, and writes through ledger and store. It creates domain errors as
// *fault.Error with the request field they concern. It imports neither
// connect nor the generated API (internal/gen): inputs are plain structs
// of this package, outputs are ledger, affiliate or store types (or small
// result structs here), and a command's stored response is encoded by the
// caller's Encode callback, so a replay answers byte for byte.
//
// # How to move a slice (issue 8)
//
// The LedgerService (internal/server/ledger_api.go, internal/service/
// ledger.go and journal.go) is the worked example; /work/issue8-howto.md
// has the full recipe. In short:
//
//   - Server handler: decode, validate wire limits (validate.go, limits,
//     paging tokens, readTime and s.at stay in server), build the service
//     input struct (including Hash: requestHash(m) for a write), call one
//     method of s.svc, convert the result to proto. No pgx in the file.
//   - Service method: func (s *Service) VerbNoun(ctx, in VerbNounInput)
//     (Result, error); input structs named after the use case live in this
//     package; pure decisions go to internal/affiliate; SQL of domain tables
//     to internal/store, of journal tables to ledger.
//   - Idempotent commands: the server passes commandOf(req) (a Command)
//     and an Encode that converts the result to the proto response and
//     proto.Marshals it; Exec returns a Reply whose Body the server
//     proto.Unmarshals into the response.
//   - White-box tests of server internals move here as service tests;
//     tests through Connect stay in server.
//   - When a slice is done, delete its temporary forwarders in server
//     (exec, execIdempotent, rulesVersion, versionAt and the db, clock and
//     log fields go when the last caller does).
package service
