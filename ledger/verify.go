package ledger

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// Report is what Verify found.
type Report struct {
	Transactions int64
	Accounts     int64
	Statements   int64
	Seals        int64
	// Head is the latest seal's head as stored; zero when there is none.
	Head     Head
	Problems []string
}

// OK reports whether the journal passed every check.
func (r Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) problem(format string, args ...any) {
	if len(r.Problems) < 100 {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// VerifyOptions add what only an outside anchor can prove.
type VerifyOptions struct {
	// PublicKey is the key the auditor trusts: every seal must be signed
	// by it, and so must Head. Nil: seals' signatures are not checked, and
	// Head is checked against the key it names.
	PublicKey ed25519.PublicKey
	// Head is a head saved earlier: the journal must still contain it and
	// reproduce its hash from the genesis seal.
	Head *Head
	// Cutoff: every row recorded (created_at) before it must be covered by
	// a seal (zero: not checked). A row it finds unsealed means seals were
	// removed. Read it from the clock the rows were recorded by, well
	// behind the sealer's cutoff (a row Seal has not reached yet is not
	// missing).
	Cutoff time.Time
}

// Verify checks, from the database alone, that every transaction's hash
// matches its content and entries, that its entries sum to zero, that the
// seals chain every sealed transaction, account and statement in id order
// with none missing or added, that every stored balance equals the sum
// of its entries, and that every as-of snapshot bucket equals the sum of
// the entries it folded. What it cannot prove without an outside anchor: see
// VerifyWith and docs/journal.md.
func Verify(ctx context.Context, q Querier, program string) (Report, error) {
	return VerifyWith(ctx, q, program, VerifyOptions{})
}

// VerifyWith is Verify plus the checks of opts: seal signatures, a saved
// head, and rows older than a cutoff that no seal covers.
func VerifyWith(ctx context.Context, q Querier, program string, opts VerifyOptions) (Report, error) {
	journal, err := LoadProgram(ctx, q, program)
	if err != nil {
		return Report{}, err
	}
	var r Report
	var chain sealedRows
	if chain.txs, err = verifyTransactions(ctx, q, journal, &r); err != nil {
		return r, err
	}
	if chain.accounts, err = verifyAccounts(ctx, q, journal, &r); err != nil {
		return r, err
	}
	if chain.stmts, err = verifyStatements(ctx, q, journal, &r); err != nil {
		return r, err
	}
	var want int64
	if opts.Head != nil {
		want = opts.Head.Seq
	}
	good, at, err := verifySeals(ctx, q, program, chain, opts.PublicKey, want, &r)
	if err != nil {
		return r, err
	}
	if opts.Head != nil {
		verifyHead(*opts.Head, program, opts.PublicKey, good, at, &r)
	}
	if !opts.Cutoff.IsZero() {
		if err := verifySealedBefore(ctx, q, program, opts.Cutoff, &r); err != nil {
			return r, err
		}
	}
	if err := verifyBalances(ctx, q, program, &r); err != nil {
		return r, err
	}
	return r, verifySnapshots(ctx, q, program, &r)
}

// sealedRows are the content hashes the seals must chain, in id order.
type sealedRows struct{ txs, accounts, stmts []sealItem }

func verifyTransactions(ctx context.Context, q Querier, journal *Program, r *Report) ([]sealItem, error) {
	var out []sealItem
	// Start below every id, not at 0: a row forged with an id <= 0 (the
	// identity column accepts explicit ids) must be seen too.
	for after := int64(math.MinInt64); ; {
		ts, err := ListTransactions(ctx, q, journal.ID, TransactionFilter{AfterID: after, Limit: PageSizeMax})
		if err != nil {
			return nil, err
		}
		if len(ts) == 0 {
			return out, nil
		}
		for _, t := range ts {
			r.Transactions++
			sum := decimal.Zero
			for _, e := range t.Entries {
				sum = sum.Add(e.Amount)
				// Entries copy their transaction's time and period (for the
				// indexes); a copy that differs was altered.
				if !e.At.Equal(t.At) || e.Period != t.Period {
					r.problem("transaction %d: entry %d says %s in %s, the transaction %s in %s", t.ID, e.ID,
						e.At.Format(time.RFC3339Nano), e.Period, t.At.Format(time.RFC3339Nano), t.Period)
				}
			}
			if len(t.Entries) < 2 || !sum.IsZero() {
				r.problem("transaction %d: %d entries summing to %s", t.ID, len(t.Entries), sum)
			}
			stored := t.Hash
			if !bytes.Equal(contentHash(t, journal.Scale), stored) {
				r.problem("transaction %d: content does not match its hash", t.ID)
			}
			out = append(out, sealItem{t.ID, stored})
		}
		after = ts[len(ts)-1].ID
	}
}

// verifyAccounts hashes every account's definition and checks it is in
// the program's currency.
func verifyAccounts(ctx context.Context, q Querier, journal *Program, r *Report) ([]sealItem, error) {
	rows, err := q.Query(ctx, `SELECT `+accountColumns+` FROM accounts WHERE program_id = $1 ORDER BY id`, journal.ID)
	if err != nil {
		return nil, fmt.Errorf("ledger: reading accounts to verify: %w", err)
	}
	defer rows.Close()
	var out []sealItem
	for rows.Next() {
		a, err := scanAccount(rows, journal.ID)
		if err != nil {
			return nil, err
		}
		if a.Currency != journal.Currency {
			r.problem("account %s: currency %s, the program's is %s", a.Code, a.Currency, journal.Currency)
		}
		out = append(out, sealItem{a.ID, accountHash(a)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: reading accounts to verify: %w", err)
	}
	return out, nil
}

func verifyStatements(ctx context.Context, q Querier, journal *Program, r *Report) ([]sealItem, error) {
	rows, err := q.Query(ctx, `SELECT `+statementColumns+` FROM statements WHERE program_id = $1 ORDER BY id`, journal.ID)
	if err != nil {
		return nil, fmt.Errorf("ledger: reading statements to verify: %w", err)
	}
	defer rows.Close()
	var out []sealItem
	for rows.Next() {
		st, err := scanStatement(rows, journal.ID)
		if err != nil {
			return nil, err
		}
		r.Statements++
		h, err := statementHash(st)
		if err != nil {
			r.problem("statement %d (%s, %s): %v", st.id, st.partner, st.period, err)
		}
		out = append(out, sealItem{st.id, h})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: reading statements to verify: %w", err)
	}
	return out, nil
}

// sealRow is one stored seal.
type sealRow struct {
	head                      Head
	fromID, txCount           int64
	accountUpto, accountCount int64
	stmtUpto, stmtCount       int64
	prevHash                  []byte
}

// takeUpto splits off the leading items with ids up to upto.
func takeUpto(items []sealItem, upto int64) (head, rest []sealItem) {
	i := 0
	for i < len(items) && items[i].id <= upto {
		i++
	}
	return items[:i], items[i:]
}

// verifySeals walks the seal chain from genesis, recomputing every block
// from the rows, and returns the highest seq up to which every block
// matched (the chain a saved head can be proven against) and seal want as
// stored, if there is one.
func verifySeals(ctx context.Context, q Querier, program string, rows sealedRows, key ed25519.PublicKey,
	want int64, r *Report) (good int64, at *Head, err error) {
	dbRows, err := q.Query(ctx, `SELECT seq, from_id, upto_id, tx_count, account_upto, account_count, statement_upto,
			statement_count, tx_total, prev_hash, hash, sealed_at, COALESCE(public_key, ''::bytea), COALESCE(signature, ''::bytea)
		FROM seals WHERE program_id = $1 ORDER BY seq`, program)
	if err != nil {
		return 0, nil, fmt.Errorf("ledger: reading seals: %w", err)
	}
	defer dbRows.Close()
	w := sealWalk{rows: rows, key: key, r: r, prev: make([]byte, sha256.Size), allGood: true}
	for dbRows.Next() {
		s, err := scanSeal(dbRows, program)
		if err != nil {
			return 0, nil, err
		}
		r.Seals++
		if s.head.Seq == want {
			h := s.head
			at = &h
		}
		w.check(s)
	}
	return w.good, at, dbRows.Err()
}

// scanSeal reads one row of the seals query of verifySeals.
func scanSeal(row pgx.Row, program string) (sealRow, error) {
	s := sealRow{head: Head{Program: program}}
	var pub []byte
	if err := row.Scan(&s.head.Seq, &s.fromID, &s.head.LastTransactionID, &s.txCount, &s.accountUpto, &s.accountCount,
		&s.stmtUpto, &s.stmtCount, &s.head.Transactions, &s.prevHash, &s.head.Hash, &s.head.SealedAt, &pub, &s.head.Signature); err != nil {
		return sealRow{}, fmt.Errorf("ledger: scanning seal: %w", err)
	}
	s.head.PublicKey = pub
	return s, nil
}

// sealWalk is verifySeals' walk along the chain: the rows not yet covered,
// the previous seal's seq and hash, the transactions counted so far, and
// the highest seq up to which every seal verified.
type sealWalk struct {
	rows       sealedRows
	key        ed25519.PublicKey
	r          *Report
	prev       []byte
	seq, total int64
	allGood    bool
	good       int64
}

// check verifies seal s: it follows the previous one, its block matches
// the rows it covers, its running count is right and its signature is
// the trusted key's. Problems go to the report.
func (w *sealWalk) check(s sealRow) {
	ok := true
	if s.head.Seq != w.seq+1 {
		w.r.problem("seals %d..%d are missing: the chain jumps from seal %d to %d", w.seq+1, s.head.Seq-1, w.seq, s.head.Seq)
		ok = false
	}
	w.seq = s.head.Seq
	if !bytes.Equal(s.prevHash, w.prev) {
		w.r.problem("seal %d: does not chain to seal %d", w.seq, w.seq-1)
		ok = false
	}
	if w.covers(s) {
		if w.total != s.head.Transactions {
			w.r.problem("seal %d: says %d transactions up to it, the seals count %d", w.seq, s.head.Transactions, w.total)
			ok = false
		}
		if w.key != nil && !s.head.SignedBy(w.key) {
			w.r.problem("seal %d: not signed by the trusted key", w.seq)
			ok = false
		}
		if w.allGood = w.allGood && ok; w.allGood {
			w.good = w.seq
		}
	} else {
		w.allGood = false
	}
	w.prev = s.head.Hash
	w.r.Head = s.head
}

// covers takes the rows seal s covers off the walk and reports whether
// they are the ones it sealed: as many, and hashing to its block hash.
func (w *sealWalk) covers(s sealRow) bool {
	var txs, accts, stmts []sealItem
	txs, w.rows.txs = takeUpto(w.rows.txs, s.head.LastTransactionID)
	accts, w.rows.accounts = takeUpto(w.rows.accounts, s.accountUpto)
	stmts, w.rows.stmts = takeUpto(w.rows.stmts, s.stmtUpto)
	w.total += s.txCount
	switch {
	case int64(len(txs)) != s.txCount:
		w.r.problem("seal %d: covers %d transactions, %d found in ids %d..%d (removed or inserted out of order)",
			w.seq, s.txCount, len(txs), s.fromID, s.head.LastTransactionID)
	case int64(len(accts)) != s.accountCount:
		w.r.problem("seal %d: covers %d accounts, %d found (removed or inserted out of order)", w.seq, s.accountCount, len(accts))
	case int64(len(stmts)) != s.stmtCount:
		w.r.problem("seal %d: covers %d statements, %d found (removed or inserted out of order)", w.seq, s.stmtCount, len(stmts))
	case !bytes.Equal(blockHash(w.prev, txs, accts, stmts), s.head.Hash):
		w.r.problem("seal %d: the transactions, accounts or statements it covers do not match the sealed hash", w.seq)
	default:
		return true
	}
	return false
}

// verifyHead proves the journal still contains saved: signed by the
// trusted key (or, with none, the key it names), and seal saved.Seq is in
// the chain that verified from genesis, with the same hash and counts.
func verifyHead(saved Head, program string, key ed25519.PublicKey, good int64, at *Head, r *Report) {
	if key == nil {
		key = saved.PublicKey
	}
	switch {
	case saved.Program != program:
		r.problem("the saved head is of program %q, not %q", saved.Program, program)
	case !saved.SignedBy(key):
		r.problem("the saved head is not signed by the trusted key")
	case at == nil:
		r.problem("the journal has no seal %d, the saved head's (it ends at seal %d): it was truncated or its seals removed", saved.Seq, r.Head.Seq)
	case !bytes.Equal(at.Hash, saved.Hash) || at.LastTransactionID != saved.LastTransactionID || at.Transactions != saved.Transactions:
		r.problem("seal %d differs from the saved head: the journal up to it was rewritten and resealed", saved.Seq)
	case good < saved.Seq:
		r.problem("the seals up to %d do not reproduce the saved head: the journal before it was rewritten", saved.Seq)
	}
}

// verifySealedBefore reports rows recorded before cutoff that no seal
// covers: the sealer covers every such row, so they mean seals were removed.
func verifySealedBefore(ctx context.Context, q Querier, program string, cutoff time.Time, r *Report) error {
	last, err := readLastSeal(ctx, q, program)
	if err != nil {
		return err
	}
	for _, t := range []struct {
		kind, table string
		after       int64
	}{{"transactions", "transactions", last.txUpto}, {"accounts", "accounts", last.accountUpto}, {"statements", "statements", last.stmtUpto}} {
		var (
			n     int64
			first *int64
		)
		err := q.QueryRow(ctx, `SELECT count(*), min(id) FROM `+t.table+` WHERE program_id = $1 AND id > $2 AND created_at < $3`,
			program, t.after, cutoff).Scan(&n, &first)
		if err != nil {
			return fmt.Errorf("ledger: looking for unsealed %s: %w", t.kind, err)
		}
		if n > 0 {
			r.problem("%d %s written before %s are not covered by any seal (the first id %d): seals are missing",
				n, t.kind, cutoff.UTC().Format(time.RFC3339), *first)
		}
	}
	return nil
}

func verifyBalances(ctx context.Context, q Querier, program string, r *Report) error {
	rows, err := q.Query(ctx, `
		SELECT a.code,
			COALESCE((SELECT SUM(b.balance) FROM balances b WHERE b.account_id = a.id), 0)::text,
			COALESCE((SELECT SUM(b.entries) FROM balances b WHERE b.account_id = a.id), 0),
			COALESCE((SELECT SUM(e.amount) FROM entries e WHERE e.account_id = a.id), 0)::text,
			(SELECT count(*) FROM entries e WHERE e.account_id = a.id)
		FROM accounts a WHERE a.program_id = $1 ORDER BY a.code`, program)
	if err != nil {
		return fmt.Errorf("ledger: reading balances to verify: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			code, stored, summed string
			storedN, summedN     int64
		)
		if err := rows.Scan(&code, &stored, &storedN, &summed, &summedN); err != nil {
			return fmt.Errorf("ledger: scanning balance: %w", err)
		}
		r.Accounts++
		if !decimal.RequireFromString(stored).Equal(decimal.RequireFromString(summed)) || storedN != summedN {
			r.problem("account %s: stored balance %s over %d entries, entries sum to %s over %d", code, stored, storedN, summed, summedN)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ledger: reading balances to verify: %w", err)
	}
	var orphans int64
	if err := q.QueryRow(ctx, `SELECT count(*) FROM entries e JOIN transactions t ON t.id = e.transaction_id
		WHERE t.program_id = $1 AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = e.account_id AND a.program_id = $1)`,
		program).Scan(&orphans); err != nil {
		return fmt.Errorf("ledger: checking entry accounts: %w", err)
	}
	if orphans > 0 {
		r.problem("%d entries name an account outside the program", orphans)
	}
	var total string
	if err := q.QueryRow(ctx, `SELECT COALESCE(SUM(e.amount), 0)::text FROM entries e JOIN transactions t ON t.id = e.transaction_id
		WHERE t.program_id = $1`, program).Scan(&total); err != nil {
		return fmt.Errorf("ledger: summing the journal: %w", err)
	}
	if !decimal.RequireFromString(total).IsZero() {
		r.problem("the journal's entries sum to %s, not zero", total)
	}
	return nil
}
