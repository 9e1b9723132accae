package service

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/money"
	"github.com/accrue/accrue/ledger"
)

// The raw ledger API: postings, reversals and reads of the journal as it
// is, beside the domain's own postings (SPEC §2).

// OpenAccount opens an account outside the managed prefixes
// (affiliate.ManagedAccount), which programs and partners open.
func (s *Service) OpenAccount(ctx context.Context, program, code string, side ledger.Side) (ledger.Account, error) {
	if prefix, ok := affiliate.ManagedAccount(code); ok {
		return ledger.Account{}, fault.InvalidArgument("code", "accounts under %q are opened by programs and partners, not by hand", prefix)
	}
	var a ledger.Account
	err := s.db.Run(ctx, func(tx pgx.Tx) error {
		var err error
		a, err = ledger.OpenAccount(ctx, tx, program, code, side, 1, s.clock.Now())
		return err
	})
	return a, err
}

// RawPosting is a transaction posted through the raw ledger API; its
// entries' amounts are read in the program's currency.
type RawPosting struct {
	Program, Key, Kind string
	// Currency, when set, must be the program's.
	Currency       string
	At             time.Time
	Refs, Metadata map[string]string
	Entries        []RawEntry
	Hash           []byte
}

// RawEntry is one entry of a RawPosting, its amount as written.
type RawEntry struct {
	Account string
	Side    ledger.Side
	Amount  string
}

// Posted is a transaction the raw API wrote, or found written under its
// key (Replayed), and the scale of its program's currency.
type Posted struct {
	Transaction ledger.Transaction
	Replayed    bool
	Scale       int32
}

// checkRawPosting keeps raw ledger writes out of the domain's namespace:
// its idempotency keys and its transaction kinds.
func checkRawPosting(key, kind string) error {
	if key == "" {
		return fault.InvalidArgument("idempotency_key", "required")
	}
	if prefix, ok := affiliate.ReservedKey(key); ok {
		return fault.InvalidArgument("idempotency_key", "keys starting with %q are reserved for accrue's own postings", prefix)
	}
	if affiliate.IsDomainKind(kind) {
		return fault.InvalidArgument("kind", "%q is posted by accrue's order, close, payout and spend commands only", kind)
	}
	return nil
}

// PostTransaction posts p, idempotent by its key (the journal's own).
func (s *Service) PostTransaction(ctx context.Context, p RawPosting) (Posted, error) {
	if err := checkRawPosting(p.Key, p.Kind); err != nil {
		return Posted{}, err
	}
	if p.Currency != "" {
		if _, ok := money.Scale(p.Currency); !ok {
			return Posted{}, fault.InvalidArgument("currency", "unknown currency %q", p.Currency)
		}
	}
	var out Posted
	err := s.db.Run(ctx, func(tx pgx.Tx) error {
		// The share lock keeps a close from moving the open period between
		// choosing this posting's booking period and committing it.
		journal, err := ledger.LockProgram(ctx, tx, p.Program)
		if err != nil {
			return err
		}
		if p.Currency != "" && p.Currency != journal.Currency {
			return fault.InvalidArgument("currency", "program %s posts in %s, not %s", journal.ID, journal.Currency, p.Currency)
		}
		posting := ledger.Posting{
			Program: journal.ID, Key: p.Key, Kind: p.Kind, At: p.At,
			Refs: p.Refs, Metadata: p.Metadata, RequestHash: p.Hash, Recorded: s.clock.Now(),
		}
		if posting.Legs, err = rawLegs(p.Entries, journal.Scale); err != nil {
			return err
		}
		out = Posted{Scale: journal.Scale}
		out.Transaction, out.Replayed, err = ledger.Post(ctx, tx, posting)
		return err
	})
	if err == nil && !out.Replayed {
		// Not p.Kind: a raw kind is the caller's word, and the metric's
		// labels must stay few.
		s.observer.Posted("raw", 1)
	}
	return out, err
}

// rawLegs reads a raw posting's entries as legs. The pending and in-payout
// accounts follow orders on hold and payouts in flight: no raw entry may
// touch them.
func rawLegs(entries []RawEntry, scale int32) ([]ledger.Leg, error) {
	if len(entries) > ledger.LegsMax {
		return nil, fault.InvalidArgument("entries", "at most %d entries, got %d", ledger.LegsMax, len(entries))
	}
	legs := make([]ledger.Leg, 0, len(entries))
	for i, e := range entries {
		field := fmt.Sprintf("entries[%d]", i)
		amount, err := money.Parse(e.Amount, scale)
		if err != nil {
			return nil, fault.InvalidArgument(field+".amount", "%v", err)
		}
		if kind, ok := affiliate.PartnerAccountKind(e.Account); ok && (kind == affiliate.Pending || kind == affiliate.InPayout) {
			return nil, fault.InvalidArgument(field+".account", "%s follows orders on hold and payouts in flight; adjust a partner's accrued or payable instead", e.Account)
		}
		legs = append(legs, ledger.Leg{Account: e.Account, Side: e.Side, Amount: amount})
	}
	return legs, nil
}

// RawReversal reverses a transaction posted through the raw API.
type RawReversal struct {
	Program       string
	TransactionID int64
	Key, Reason   string
	At            time.Time
	Hash          []byte
}

// ReverseTransaction posts the reversal r, idempotent by its key. A
// domain posting is refused: the command that owns it corrects it.
func (s *Service) ReverseTransaction(ctx context.Context, r RawReversal) (Posted, error) {
	if err := checkRawPosting(r.Key, "reversal"); err != nil {
		return Posted{}, err
	}
	var out Posted
	err := s.db.Run(ctx, func(tx pgx.Tx) error {
		journal, err := ledger.LockProgram(ctx, tx, r.Program)
		if err != nil {
			return err
		}
		out = Posted{Scale: journal.Scale}
		orig, err := ledger.Get(ctx, tx, journal.ID, r.TransactionID)
		if err != nil {
			return err
		}
		if affiliate.IsDomainKind(orig.Kind) {
			return fault.FailedPrecondition("transaction_id", "transaction %d is a %s; correct it with the command that owns it (refund, cancel, fail payout, reverse spend)", orig.ID, orig.Kind)
		}
		out.Transaction, out.Replayed, err = ledger.Reverse(ctx, tx, journal.ID, r.TransactionID, r.Key, r.At, r.Reason, r.Hash, s.clock.Now())
		return err
	})
	if err == nil && !out.Replayed {
		s.observer.Posted("reversal", 1)
	}
	return out, err
}

// Program returns the journal's view of a program (its currency and
// scale); fault NotFound when there is none.
func (s *Service) Program(ctx context.Context, program string) (*ledger.Program, error) {
	return ledger.LoadProgram(ctx, s.db.Pool, program)
}

// Transaction returns one of the program's transactions.
func (s *Service) Transaction(ctx context.Context, journal *ledger.Program, id int64) (ledger.Transaction, error) {
	return ledger.Get(ctx, s.db.Pool, journal.ID, id)
}

// Transactions returns a page of the program's transactions.
func (s *Service) Transactions(ctx context.Context, journal *ledger.Program, f ledger.TransactionFilter) ([]ledger.Transaction, error) {
	return ledger.ListTransactions(ctx, s.db.Pool, journal.ID, f)
}

// Entries returns a page of one account's entries, after the entry id
// after.
func (s *Service) Entries(ctx context.Context, journal *ledger.Program, account string, after int64, limit int) ([]ledger.Entry, error) {
	return ledger.ListEntries(ctx, s.db.Pool, journal.ID, account, after, limit)
}

// Balances returns the named accounts' balances (every account's when
// none is named) as of t (now when zero).
func (s *Service) Balances(ctx context.Context, journal *ledger.Program, accounts []string, t time.Time) ([]ledger.Balance, error) {
	return ledger.Balances(ctx, s.db.Pool, journal.ID, accounts, t)
}

// TrialBalance returns the program's trial balance as of t (now when
// zero).
func (s *Service) TrialBalance(ctx context.Context, journal *ledger.Program, t time.Time) (ledger.TrialBalance, error) {
	return ledger.GetTrialBalance(ctx, s.db.Pool, journal.ID, t)
}
