package server

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/accrue/accrue/internal/affiliate"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// closeBatchMax is how many partners one close transaction releases and
// writes statements for.
const closeBatchMax = 100

// partnerBooks is a partner's statement balances by account kind: booked
// up to the period before (opening) and up to the period (closing).
type partnerBooks struct {
	opening, closing map[string]decimal.Decimal
}

// closeBatch releases, for each of batch (partners in id order), its
// accrued balance when it reached the minimum, and writes its statement for
// period, in tx: a batch's release postings and statements commit together,
// so no partner is ever released without its statement. A partner whose
// statement exists is done; a release an earlier run posted is read back,
// not posted again. Every step is one query over the whole batch.
func (s *Server) closeBatch(ctx context.Context, tx pgx.Tx, prog *ledger.Program, rp *rules.Program,
	period string, end time.Time, batch []closingPartner) error {
	todo, err := withoutStatement(ctx, tx, prog.ID, period, batch)
	if err != nil || len(todo) == 0 {
		return err
	}
	ids := make([]string, len(todo))
	for i, p := range todo {
		ids[i] = p.id
	}
	books, err := batchBooks(ctx, tx, prog.ID, period, ids)
	if err != nil {
		return err
	}
	released, err := postedReleases(ctx, tx, prog.ID, period, ids)
	if err != nil {
		return err
	}
	var postings []ledger.Posting
	for _, p := range todo {
		if _, ok := released[p.id]; ok {
			continue // posted by an earlier run: the balances hold it
		}
		closing := books[p.id].closing
		accrued := closing[affiliate.Accrued]
		// SPEC §5: a suspended partner gets no release; below the minimum
		// the balance is carried forward.
		if !p.active || !accrued.IsPositive() || accrued.LessThan(rp.PayoutMinimum) {
			continue
		}
		released[p.id] = accrued
		postings = append(postings, releasePosting(prog.ID, period, end, p.id, accrued))
		closing[affiliate.Accrued], closing[affiliate.Payable] = decimal.Zero, closing[affiliate.Payable].Add(accrued)
	}
	if _, _, err := ledger.PostBatch(ctx, tx, postings); err != nil {
		return fmt.Errorf("server: posting releases: %w", err)
	}
	if s.close.afterReleases != nil {
		if err := s.close.afterReleases(ids); err != nil {
			return err
		}
	}
	lines, err := batchStatementLines(ctx, tx, prog, period, ids)
	if err != nil {
		return err
	}
	var sts []*accruev1.Statement
	now := s.clock.Now()
	for _, id := range ids {
		if len(lines[id]) == 0 && allZero(books[id].closing) {
			continue // no activity and nothing owed: no statement
		}
		sts = append(sts, statementOf(prog, rp, period, id, released[id], books[id], lines[id], now))
	}
	return insertStatements(ctx, tx, prog, period, sts, now)
}

// releaseKey is the idempotency key of partner's release in period.
func releaseKey(period, partner string) string { return "close:" + period + ":release:" + partner }

// releasePosting moves amount of partner's accrued balance to payable.
func releasePosting(program, period string, end time.Time, partner string, amount decimal.Decimal) ledger.Posting {
	var m affiliate.Movement
	m.Move(affiliate.PartnerAccount(partner, affiliate.Accrued), affiliate.PartnerAccount(partner, affiliate.Payable), amount)
	return ledger.Posting{
		Program: program, Key: releaseKey(period, partner), Kind: affiliate.KindRelease, At: end, Period: period,
		Refs: map[string]string{"partner": partner, "period": period},
		Legs: m.Legs(),
	}
}

// statementOf is partner's statement for period.
func statementOf(prog *ledger.Program, rp *rules.Program, period, partner string, released decimal.Decimal,
	books partnerBooks, lines []*accruev1.StatementLine, now time.Time) *accruev1.Statement {
	start, _, _ := periodRange(period, prog.Location)
	st := &accruev1.Statement{
		Partner:  partner,
		Period:   period,
		Status:   statementPreliminary,
		Released: released.StringFixed(prog.Scale),
		DueDate:  time.Date(start.Year(), start.Month()+1, rp.DueDay, 0, 0, 0, 0, prog.Location).Format(time.DateOnly),
		Opening:  balancesProto(books.opening, prog.Scale),
		Closing:  balancesProto(books.closing, prog.Scale),
		Lines:    lines,
		IssuedAt: stamp(now),
	}
	if released.IsPositive() {
		st.Status = statementFinal
	}
	return st
}

// withoutStatement returns the partners of batch that have no statement
// for period yet, in order.
func withoutStatement(ctx context.Context, tx pgx.Tx, program, period string, batch []closingPartner) ([]closingPartner, error) {
	ids := make([]string, len(batch))
	for i, p := range batch {
		ids[i] = p.id
	}
	rows, err := tx.Query(ctx, `SELECT partner_id FROM statements
		WHERE program_id = $1 AND period = $2 AND partner_id = ANY($3)`, program, period, ids)
	if err != nil {
		return nil, fmt.Errorf("server: reading the %s statements: %w", period, err)
	}
	have, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("server: reading the %s statements: %w", period, err)
	}
	done := make(map[string]bool, len(have))
	for _, id := range have {
		done[id] = true
	}
	var out []closingPartner
	for _, p := range batch {
		if !done[p.id] {
			out = append(out, p)
		}
	}
	return out, nil
}

// batchBooks reads the statement balances of partners around period.
func batchBooks(ctx context.Context, tx pgx.Tx, program, period string, partners []string) (map[string]partnerBooks, error) {
	codes, owner := statementAccounts(partners)
	rows, err := tx.Query(ctx, `
		SELECT a.code,
			(a.normal_side * COALESCE(SUM(e.amount) FILTER (WHERE e.period <= $3), 0))::text,
			(a.normal_side * COALESCE(SUM(e.amount), 0))::text
		FROM accounts a LEFT JOIN entries e ON e.account_id = a.id AND e.period <= $4
		WHERE a.program_id = $1 AND a.code = ANY($2)
		GROUP BY a.code, a.normal_side`, program, codes, prevPeriod(period), period)
	if err != nil {
		return nil, fmt.Errorf("server: reading statement balances: %w", err)
	}
	defer rows.Close()
	out := make(map[string]partnerBooks, len(partners))
	for _, p := range partners {
		out[p] = partnerBooks{opening: map[string]decimal.Decimal{}, closing: map[string]decimal.Decimal{}}
	}
	for rows.Next() {
		var code, opening, closing string
		if err := rows.Scan(&code, &opening, &closing); err != nil {
			return nil, fmt.Errorf("server: scanning statement balance: %w", err)
		}
		kind, _ := affiliate.PartnerAccountKind(code)
		b := out[owner[code]]
		b.opening[kind], b.closing[kind] = decimal.RequireFromString(opening), decimal.RequireFromString(closing)
	}
	return out, rows.Err()
}

// statementAccounts lists the statement accounts of partners, with the
// partner each belongs to.
func statementAccounts(partners []string) ([]string, map[string]string) {
	codes := make([]string, 0, len(partners)*len(statementKinds))
	owner := make(map[string]string, cap(codes))
	for _, p := range partners {
		for _, k := range statementKinds {
			c := affiliate.PartnerAccount(p, k)
			codes = append(codes, c)
			owner[c] = p
		}
	}
	return codes, owner
}

// postedReleases reads the releases of period already posted for partners
// (by an earlier run of the close), by partner.
func postedReleases(ctx context.Context, tx pgx.Tx, program, period string, partners []string) (map[string]decimal.Decimal, error) {
	keys := make([]string, len(partners))
	for i, p := range partners {
		keys[i] = releaseKey(period, p)
	}
	rows, err := tx.Query(ctx, `SELECT t.refs->>'partner', (-e.amount)::text FROM transactions t
		JOIN entries e ON e.transaction_id = t.id JOIN accounts a ON a.id = e.account_id
		WHERE t.program_id = $1 AND t.idempotency_key = ANY($2) AND a.code = 'partner:' || (t.refs->>'partner') || ':payable'`,
		program, keys)
	if err != nil {
		return nil, fmt.Errorf("server: reading the %s releases: %w", period, err)
	}
	defer rows.Close()
	out := map[string]decimal.Decimal{}
	for rows.Next() {
		var partner, amount string
		if err := rows.Scan(&partner, &amount); err != nil {
			return nil, fmt.Errorf("server: scanning a release: %w", err)
		}
		out[partner] = decimal.RequireFromString(amount)
	}
	return out, rows.Err()
}

// batchStatementLines returns, by partner, every entry booked in period on
// the partners' statement accounts, in time order.
func batchStatementLines(ctx context.Context, tx pgx.Tx, prog *ledger.Program, period string, partners []string) (map[string][]*accruev1.StatementLine, error) {
	codes, owner := statementAccounts(partners)
	rows, err := tx.Query(ctx, `
		SELECT t.id, t.kind, t.at, t.refs, a.code, (a.normal_side * e.amount)::text
		FROM entries e
		JOIN accounts a ON a.id = e.account_id
		JOIN transactions t ON t.id = e.transaction_id
		WHERE a.program_id = $1 AND a.code = ANY($2) AND e.period = $3
		ORDER BY t.at, t.id, e.id`, prog.ID, codes, period)
	if err != nil {
		return nil, fmt.Errorf("server: reading statement lines: %w", err)
	}
	defer rows.Close()
	out := map[string][]*accruev1.StatementLine{}
	for rows.Next() {
		var (
			id         int64
			kind, code string
			amount     string
			at         time.Time
			refsJSON   []byte
			refs       map[string]string
		)
		if err := rows.Scan(&id, &kind, &at, &refsJSON, &code, &amount); err != nil {
			return nil, fmt.Errorf("server: scanning statement line: %w", err)
		}
		if err := json.Unmarshal(refsJSON, &refs); err != nil {
			return nil, fmt.Errorf("server: transaction %d refs: %w", id, err)
		}
		partner := owner[code]
		d := decimal.RequireFromString(amount)
		lineKind, desc := describe(kind, refs, partner, d)
		line := &accruev1.StatementLine{
			At: stamp(at.UTC()), Kind: lineKind, Description: desc,
			Order: refs["order"], Account: code, Amount: d.StringFixed(prog.Scale), TransactionId: id,
		}
		// A partner sees its own orders' customers, never those of the
		// sub-partners it earns upline bonuses from.
		if refs["partner"] == partner {
			line.Customer = refs["customer"]
		}
		out[partner] = append(out[partner], line)
	}
	return out, rows.Err()
}

// insertStatements writes sts, statements of period issued at now, in one
// statement.
func insertStatements(ctx context.Context, tx pgx.Tx, prog *ledger.Program, period string, sts []*accruev1.Statement, now time.Time) error {
	if len(sts) == 0 {
		return nil
	}
	var partners, statuses, released, bodies []string
	for _, st := range sts {
		body, err := protojson.Marshal(st)
		if err != nil {
			return fmt.Errorf("server: encoding statement: %w", err)
		}
		partners, statuses, bodies = append(partners, st.Partner), append(statuses, st.Status), append(bodies, string(body))
		released = append(released, st.Released)
	}
	_, err := tx.Exec(ctx, `INSERT INTO statements (program_id, partner_id, period, status, released, body, issued_at)
		SELECT $1, u.partner, $2, u.status, u.released::numeric, u.body::jsonb, $7
		FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS u(partner, status, released, body)
		ON CONFLICT DO NOTHING`, prog.ID, period, partners, statuses, released, bodies, now)
	if err != nil {
		return fmt.Errorf("server: writing the %s statements: %w", period, err)
	}
	return nil
}
