package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/fault"
)

// Post writes one balanced transaction in tx. The same key with the same
// request hash returns the first transaction with replayed = true and writes
// nothing; the same key with another request hash fails AlreadyExists.
func Post(ctx context.Context, tx pgx.Tx, p Posting) (Transaction, bool, error) {
	out, replayed, err := PostBatch(ctx, tx, []Posting{p})
	if err != nil {
		return Transaction{}, false, err
	}
	return out[0], replayed[0], nil
}

// PostBatch writes several postings of one program in tx, adding to the
// stored balances once, at the end, so a batch takes each hot balance row
// lock once and as late as possible. Each posting's rows are recorded at
// its Recorded time.
func PostBatch(ctx context.Context, tx pgx.Tx, ps []Posting) ([]Transaction, []bool, error) {
	txs, replayed, owed, err := PostBatchOwing(ctx, tx, ps)
	if err != nil {
		return nil, nil, err
	}
	if err := owed.Apply(ctx, tx); err != nil {
		return nil, nil, err
	}
	return txs, replayed, nil
}

// PostBatchOwing is PostBatch without the stored balances: it writes the
// transactions and entries and returns what they add to the balances,
// which the caller must Apply in tx before it commits, as the last
// statement it can: a hot balance row stays locked from its update to the
// commit, so the caller's other writes go before it. A transaction that
// commits without applying what it owes breaks the journal's balance
// invariant, and Verify reports it.
func PostBatchOwing(ctx context.Context, tx pgx.Tx, ps []Posting) ([]Transaction, []bool, *Owed, error) {
	if len(ps) == 0 {
		return nil, nil, &Owed{}, nil
	}
	journal, accounts, err := loadProgramAccounts(ctx, tx, ps[0].Program, legAccounts(ps))
	if err != nil {
		return nil, nil, nil, err
	}
	return postResolved(ctx, tx, journal, accounts, ps)
}

// PostBatchOwingIn is PostBatchOwing for a caller that read journal, the
// program of every posting, in tx (LockProgram or QueueLockProgram): the
// program is not read again, and of the accounts only those cache does
// not hold are, in one round trip (none when it holds them all). Once tx
// commits, the caller may Remember the returned Owed's Fetched accounts.
func PostBatchOwingIn(ctx context.Context, tx pgx.Tx, journal *Program, cache *AccountCache, ps []Posting) ([]Transaction, []bool, *Owed, error) {
	if len(ps) == 0 {
		return nil, nil, &Owed{}, nil
	}
	accounts, fetched, err := accountsIn(ctx, tx, journal, cache, legAccounts(ps))
	if err != nil {
		return nil, nil, nil, err
	}
	txs, replayed, owed, err := postResolved(ctx, tx, journal, accounts, ps)
	if err != nil {
		return nil, nil, nil, err
	}
	owed.fetched = fetched
	return txs, replayed, owed, nil
}

// legAccounts is the distinct account codes of ps' legs, sorted.
func legAccounts(ps []Posting) []string {
	var codes []string
	for _, p := range ps {
		for _, l := range p.Legs {
			codes = append(codes, l.Account)
		}
	}
	slices.Sort(codes)
	return slices.Compact(codes)
}

// postResolved writes ps, the postings of journal, whose legs' accounts
// are looked up in accounts (a code missing there is unknown).
func postResolved(ctx context.Context, tx pgx.Tx, journal *Program, accounts map[string]Account, ps []Posting) ([]Transaction, []bool, *Owed, error) {
	var err error
	for i := range ps {
		if ps[i].Program != journal.ID {
			return nil, nil, nil, fault.InvalidArgument("program", "a batch posts to one program")
		}
		if ps[i].Recorded.IsZero() {
			return nil, nil, nil, fmt.Errorf("ledger: posting %s has no recorded time", ps[i].Key)
		}
		if err := validate(&ps[i], journal.Scale); err != nil {
			return nil, nil, nil, err
		}
	}
	var (
		txs      = make([]Transaction, len(ps))
		replayed = make([]bool, len(ps))
		owed     = &Owed{deltas: balanceDeltas{}}
	)
	// One statement for every insert of the batch (post_set.go).
	set := &insertSet{}
	hashes := make([][]byte, len(ps))
	for i := range ps {
		if hashes[i], err = set.add(journal, accounts, ps[i], &txs[i]); err != nil {
			return nil, nil, nil, err
		}
	}
	fresh, err := insertAll(ctx, tx, journal.ID, set, accounts, txs)
	if err != nil {
		return nil, nil, nil, err
	}
	for i := range ps {
		replayed[i] = !fresh[i]
	}
	for i := range ps {
		if !replayed[i] {
			owed.deltas.add(txs[i], accounts, owed.shardSeed(txs[i].ID))
			continue
		}
		if txs[i], _, err = replay(ctx, tx, journal, ps[i].Key, hashes[i]); err != nil {
			return nil, nil, nil, err
		}
	}
	return txs, replayed, owed, nil
}

func validate(p *Posting, scale int32) error {
	switch {
	case p.Key == "" || len(p.Key) > KeyLenMax:
		return fault.InvalidArgument("idempotency_key", "required, at most %d characters", KeyLenMax)
	case p.Kind == "" || len(p.Kind) > KindLenMax:
		return fault.InvalidArgument("kind", "required, at most %d characters", KindLenMax)
	case p.At.IsZero():
		return fault.InvalidArgument("at", "required")
	case len(p.Legs) < 2:
		return fault.InvalidArgument("entries", "a transaction has at least 2 entries, got %d", len(p.Legs))
	case len(p.Legs) > LegsMax:
		return fault.InvalidArgument("entries", "at most %d entries, got %d", LegsMax, len(p.Legs))
	}
	if p.Period != "" {
		if _, err := time.Parse("2006-01", p.Period); err != nil {
			return fault.InvalidArgument("period", "%q is not YYYY-MM", p.Period)
		}
	}
	if err := validateMap("references", p.Refs); err != nil {
		return err
	}
	if err := validateMap("metadata", p.Metadata); err != nil {
		return err
	}
	sum := decimal.Zero
	for i, l := range p.Legs {
		field := fmt.Sprintf("entries[%d]", i)
		switch {
		case l.Account == "":
			return fault.InvalidArgument(field+".account", "required")
		case l.Side != Debit && l.Side != Credit:
			return fault.InvalidArgument(field+".side", "must be debit or credit")
		case !l.Amount.IsPositive():
			return fault.InvalidArgument(field+".amount", "must be positive, got %s", l.Amount)
		case l.Amount.Exponent() < -scale:
			return fault.InvalidArgument(field+".amount", "%s has more than %d decimals", l.Amount, scale)
		}
		sum = sum.Add(l.Amount.Mul(decimal.NewFromInt(int64(l.Side))))
	}
	if !sum.IsZero() {
		return fault.InvalidArgument("entries", "debits and credits differ by %s", sum.Abs())
	}
	return nil
}

func validateMap(field string, m map[string]string) error {
	if len(m) > MapEntriesMax {
		return fault.InvalidArgument(field, "at most %d entries, got %d", MapEntriesMax, len(m))
	}
	for k, v := range m {
		if k == "" || len(k) > MapKeyLenMax {
			return fault.InvalidArgument(field, "keys have 1 to %d characters", MapKeyLenMax)
		}
		if len(v) > MapValueLenMax {
			return fault.InvalidArgument(field+"."+k, "at most %d characters, got %d", MapValueLenMax, len(v))
		}
	}
	return nil
}

func insertError(t *Transaction, err error) error {
	if isUniqueViolation(err, "transactions_reverses") {
		return fault.FailedPrecondition("transaction_id", "transaction %d is already reversed", t.ReversesID)
	}
	return fmt.Errorf("ledger: inserting transaction %s: %w", t.Key, err)
}

// matchLeg returns the first unassigned entry on accountID for amount, or -1.
func matchLeg(entries []Entry, assigned []bool, accounts map[string]Account, accountID int64, amount decimal.Decimal) int {
	for i, e := range entries {
		if !assigned[i] && accounts[e.Account].ID == accountID && e.Amount.Equal(amount) {
			return i
		}
	}
	return -1
}

// replay returns the transaction an earlier request with key posted, or
// AlreadyExists when that request was another one.
func replay(ctx context.Context, q Querier, journal *Program, key string, requestHash []byte) (Transaction, bool, error) {
	var (
		id     int64
		stored []byte
	)
	err := q.QueryRow(ctx, `SELECT id, request_hash FROM transactions WHERE program_id = $1 AND idempotency_key = $2`,
		journal.ID, key).Scan(&id, &stored)
	if err != nil {
		return Transaction{}, false, fmt.Errorf("ledger: reading transaction %s: %w", key, err)
	}
	if !bytes.Equal(stored, requestHash) {
		return Transaction{}, false, fault.AlreadyExists("idempotency_key", "key %q was used for another request", key)
	}
	t, err := Get(ctx, q, journal.ID, id)
	return t, false, err
}

// assertBalanced panics when entries do not sum to zero: validation let an
// unbalanced transaction through, which is a bug, not bad input.
func assertBalanced(entries []Entry) {
	sum := decimal.Zero
	for _, e := range entries {
		sum = sum.Add(e.Amount)
	}
	if !sum.IsZero() {
		panic(fmt.Sprintf("ledger: unbalanced transaction: entries sum to %s", sum))
	}
}

// contentHash is SHA-256 over a canonical JSON rendering of what a
// transaction says: everything but its id, which the seals chain instead.
func contentHash(t Transaction, scale int32) []byte {
	type canonEntry struct {
		Account string `json:"a"`
		Amount  string `json:"m"`
	}
	c := struct {
		Program    string            `json:"p"`
		Key        string            `json:"k"`
		Kind       string            `json:"t"`
		At         string            `json:"at"`
		Period     string            `json:"pe"`
		Refs       map[string]string `json:"r"`
		Metadata   map[string]string `json:"md"`
		ReversesID string            `json:"rv"`
		Entries    []canonEntry      `json:"e"`
	}{t.Program, t.Key, t.Kind, t.At.UTC().Format(time.RFC3339Nano), t.Period, t.Refs, t.Metadata,
		strconv.FormatInt(t.ReversesID, 10), nil}
	for _, e := range t.Entries {
		c.Entries = append(c.Entries, canonEntry{e.Account, e.Amount.StringFixed(scale)})
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("ledger: canonical form: %v", err))
	}
	sum := sha256.Sum256(b)
	return sum[:]
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

var errNoRows = pgx.ErrNoRows

func isNoRows(err error) bool { return errors.Is(err, errNoRows) }
