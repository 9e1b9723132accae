package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// A period close (SPEC §7) runs as a sequence of small transactions, each
// idempotent, so a close that stops halfway (crash, deploy, lost lease) is
// finished by running it again:
//
//  1. claim: the periods row holds the run's lease (close_lease.go), and
//     programs.open_from moves past the period, so later events are booked
//     in the open period;
//  2. mature: pending accruals whose hold ended by period end move to
//     accrued, matureBatchMax orders per transaction;
//  3. per batch of closeBatchMax partners, in id order: releases (accrued
//     → payable at or above the minimum) and statements, in one
//     transaction (close_batch.go);
//  4. mark the period closed.
//
// Every posting has a deterministic idempotency key (close:<period>:...)
// and statements are unique per (partner, period), so two runs that both
// do a step still write it once; and every write transaction checks the
// lease first, so a run that lost it stops.
const (
	// matureBatchMax is how many orders mature in one transaction.
	matureBatchMax = 100
	// scheduleTicksMax bounds the statement ticks RunDueCloses walks for one
	// program in one call; the cursor is saved, so the next call goes on.
	scheduleTicksMax = 100_000
	// periodLayout is how a period is written: a calendar month.
	periodLayout = "2006-01"
)

// closeResult summarises a closed period.
type closeResult struct {
	Period        string
	Statements    int32
	Released      decimal.Decimal
	AlreadyClosed bool
}

// periodService implements accruev1connect.PeriodServiceHandler.
type periodService struct{ *Server }

// ClosePeriod closes a period that has ended, and every earlier one still
// open; closing a closed period changes nothing. A request that cannot
// close (an unknown program, a malformed period, one that has not ended)
// is refused before its key is claimed.
func (s *periodService) ClosePeriod(ctx context.Context, req *connect.Request[accruev1.ClosePeriodRequest]) (*connect.Response[accruev1.ClosePeriodResponse], error) {
	m := req.Msg
	if m.GetProgram() == "" {
		return nil, fault.Invalid("program", "required")
	}
	if err := service.CheckKey(m.GetIdempotencyKey()); err != nil {
		return nil, err
	}
	plan, err := s.planClose(ctx, m.GetProgram(), m.GetPeriod(), s.clock.Now())
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ClosePeriodResponse{}
	// A close is idempotent by its period and runs many transactions; the
	// key is claimed first and its response recorded once it is done.
	_, err = s.execIdempotent(ctx, m, resp, func() error {
		res, err := s.runClose(ctx, plan)
		if err != nil {
			return err
		}
		resp.Period, resp.Statements, resp.AlreadyClosed = res.Period, res.Statements, res.AlreadyClosed
		resp.Released = res.Released.StringFixed(plan.prog.Scale)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(resp), nil
}

// closePlan is a checked request to close period: the periods from first
// up to it are closed in order.
type closePlan struct {
	prog          *ledger.Program
	first, period string
}

// closePeriod closes period of program, first closing every earlier period
// of the program that is still open, in order. now is the time the period
// must have ended by.
func (s *Server) closePeriod(ctx context.Context, program, period string, now time.Time) (closeResult, error) {
	plan, err := s.planClose(ctx, program, period, now)
	if err != nil {
		return closeResult{}, err
	}
	return s.runClose(ctx, plan)
}

// planClose checks that period of program can be closed at now: it is a
// period, it has ended, and it is not before the program's first one.
func (s *Server) planClose(ctx context.Context, program, period string, now time.Time) (closePlan, error) {
	prog, err := ledger.LoadProgram(ctx, s.db.Pool, program)
	if err != nil {
		return closePlan{}, err
	}
	_, end, err := periodRange(period, prog.Location)
	if err != nil {
		return closePlan{}, err
	}
	if end.After(now) {
		return closePlan{}, fault.Precondition("period", "period %s ends at %s; it has not ended yet",
			period, end.Format(time.RFC3339))
	}
	first, err := firstPeriod(ctx, s.db.Pool, prog)
	if err != nil {
		return closePlan{}, err
	}
	if period < first {
		return closePlan{}, fault.Invalid("period", "period %s precedes the program's first period %s", period, first)
	}
	return closePlan{prog: prog, first: first, period: period}, nil
}

// runClose closes the plan's period and the open ones before it.
func (s *Server) runClose(ctx context.Context, plan closePlan) (closeResult, error) {
	closed, err := closedPeriods(ctx, s.db.Pool, plan.prog.ID, plan.first, plan.period)
	if err != nil {
		return closeResult{}, err
	}
	for p := plan.first; p < plan.period; p = nextPeriod(p) {
		if closed[p] {
			continue
		}
		if _, err := s.closeOne(ctx, plan.prog, p); err != nil {
			return closeResult{}, fmt.Errorf("closing earlier period %s: %w", p, err)
		}
	}
	return s.closeOne(ctx, plan.prog, plan.period)
}

// closeOne runs (or finishes) the close of one period whose predecessors
// are closed, under a lease kept alive while it works and given up when it
// fails.
func (s *Server) closeOne(ctx context.Context, prog *ledger.Program, period string) (closeResult, error) {
	_, end, err := periodRange(period, prog.Location)
	if err != nil {
		return closeResult{}, err
	}
	l := newLease(prog.ID, period)
	var closed bool
	err = s.db.Run(ctx, func(tx pgx.Tx) error {
		var err error
		closed, err = l.claim(ctx, tx, prog, end)
		return err
	})
	if err != nil {
		return closeResult{}, err
	}
	if closed {
		res, err := periodSummary(ctx, s.db.Pool, prog.ID, period)
		res.AlreadyClosed = true
		return res, err
	}
	work, stop := s.keepLease(ctx, l)
	err = s.closeClaimed(work, prog, l, end)
	stop()
	if err != nil {
		err = leaseErr(work, err)
		// Give the lease up so that a retry resumes at once.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseReleaseTimeout)
		defer cancel()
		if rerr := l.release(rctx, s.db.Pool); rerr != nil {
			s.log.Warn("period close: releasing the lease failed", "program", prog.ID, "period", period, "err", rerr)
		}
		return closeResult{}, err
	}
	return periodSummary(ctx, s.db.Pool, prog.ID, period)
}

// closeClaimed does the work of a close whose lease l holds: maturing,
// releases and statements, and marking the period closed.
func (s *Server) closeClaimed(ctx context.Context, prog *ledger.Program, l lease, end time.Time) error {
	// The rules in force during the period's last instant decide the
	// minimum and the due date.
	_, rp, err := s.versionAt(ctx, s.db.Pool, prog.ID, end.Add(-time.Microsecond))
	if err != nil {
		return err
	}
	if err := s.matureOrders(ctx, prog, l, end); err != nil {
		return err
	}
	partners, err := programPartners(ctx, s.db.Pool, prog.ID)
	if err != nil {
		return err
	}
	size := closeBatchMax
	if s.close.batch > 0 {
		size = s.close.batch
	}
	for batch := range slices.Chunk(partners, size) {
		if err := s.closePartners(ctx, prog, rp, l, end, batch); err != nil {
			return err
		}
	}
	return s.markClosed(ctx, l)
}

// closePartners releases and writes the statements of one batch of
// partners in one transaction, under the lease.
func (s *Server) closePartners(ctx context.Context, prog *ledger.Program, rp *rules.Program, l lease, end time.Time, batch []closingPartner) error {
	if s.close.hook != nil {
		for _, p := range batch {
			if err := s.close.hook(p.id); err != nil {
				return err
			}
		}
	}
	err := s.db.Run(ctx, func(tx pgx.Tx) error {
		if err := l.check(ctx, tx); err != nil {
			return err
		}
		return s.closeBatch(ctx, tx, prog, rp, l.period, end, batch)
	})
	if err != nil {
		return fmt.Errorf("server: closing %s for partners %s to %s: %w", l.period, batch[0].id, batch[len(batch)-1].id, err)
	}
	return nil
}

// markClosed ends a close. Another run that took over may have marked it
// first; that is the same outcome.
func (s *Server) markClosed(ctx context.Context, l lease) error {
	tag, err := s.db.Pool.Exec(ctx, `UPDATE periods SET status = 'closed', closed_at = $4
		WHERE program_id = $1 AND period = $2 AND status = 'closing' AND claimed_by = $3`,
		l.program, l.period, l.holder, s.clock.Now())
	if err != nil {
		return fmt.Errorf("server: marking %s closed: %w", l.period, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var status string
	if err := s.db.Pool.QueryRow(ctx, `SELECT status FROM periods WHERE program_id = $1 AND period = $2`,
		l.program, l.period).Scan(&status); err != nil {
		return fmt.Errorf("server: reading period %s: %w", l.period, err)
	}
	if status != "closed" {
		return errLeaseLost(l.period)
	}
	return nil
}

// matureOrders moves what remains pending of every order whose hold ended by
// end from pending to accrued, booked in period.
func (s *Server) matureOrders(ctx context.Context, prog *ledger.Program, l lease, end time.Time) error {
	period := l.period
	after := ""
	for {
		var orders []string
		err := s.db.Run(ctx, func(tx pgx.Tx) error {
			if err := l.check(ctx, tx); err != nil {
				return err
			}
			var err error
			orders, err = matureBatch(ctx, tx, prog, period, end, after)
			return err
		})
		if err != nil {
			return fmt.Errorf("server: maturing orders of %s: %w", period, err)
		}
		if len(orders) < matureBatchMax {
			return nil
		}
		after = orders[len(orders)-1]
	}
}

// matureBatch matures the orders after the id after (up to matureBatchMax)
// and returns the ids it looked at. The order rows are locked, so a refund
// of the same order either comes before (and is netted here) or after (and
// sees it matured). What an order has pending is moved to accrued in the
// period it was booked in: up to this period in this period; an event on
// the order booked in a later (open) period — it arrived after the period
// ended but before the close ran — is matured in its own period, so no
// period is left with a pending remainder of a matured order.
func matureBatch(ctx context.Context, tx pgx.Tx, prog *ledger.Program, period string, end time.Time, after string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM orders
		WHERE program_id = $1 AND NOT matured AND accrued AND matures_at <= $2 AND id > $3
		ORDER BY id LIMIT $4 FOR UPDATE`, prog.ID, end, after, matureBatchMax)
	if err != nil {
		return nil, fmt.Errorf("server: selecting orders to mature: %w", err)
	}
	orders, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("server: selecting orders to mature: %w", err)
	}
	if len(orders) == 0 {
		return orders, nil
	}
	pending, err := pendingByOrder(ctx, tx, prog.ID, period, orders)
	if err != nil {
		return nil, err
	}
	var postings []ledger.Posting
	for _, o := range orders {
		for _, b := range pending[o] {
			key := "close:" + period + ":mature:" + o
			if b.period != period {
				key += ":" + b.period
			}
			// A later period's part matures no earlier than the entries it
			// offsets, so as-of balances never show it moved before it came.
			at := end
			if b.period != period && b.latest.After(at) {
				at = b.latest
			}
			if l := b.move.Legs(); len(l) > 0 {
				postings = append(postings, ledger.Posting{
					Program: prog.ID, Key: key, Kind: affiliate.KindMaturing, At: at, Period: b.period,
					Refs: map[string]string{"order": o, "period": period}, Legs: l,
				})
			}
		}
	}
	if _, _, err := ledger.PostBatch(ctx, tx, postings); err != nil {
		return nil, fmt.Errorf("server: posting maturings: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE orders SET matured = true WHERE program_id = $1 AND id = ANY($2)`,
		prog.ID, orders); err != nil {
		return nil, fmt.Errorf("server: marking orders matured: %w", err)
	}
	return orders, nil
}

// pendingBucket is what an order has pending in one booking period, as the
// movement that matures it.
type pendingBucket struct {
	period string
	move   *affiliate.Movement
	latest time.Time // the latest `at` of the entries it matures
}

// pendingByOrder reads what remains pending of each of orders, per partner
// account (credit-normal) and booking period (everything up to period
// counts as period), as movements that mature it: pending to accrued, or
// back for a negative remainder.
func pendingByOrder(ctx context.Context, tx pgx.Tx, program, period string, orders []string) (map[string][]pendingBucket, error) {
	rows, err := tx.Query(ctx, `
		SELECT t.refs->>'order', CASE WHEN e.period <= $3 THEN $3 ELSE e.period END, a.code, (-SUM(e.amount))::text, max(e.at)
		FROM transactions t
		JOIN entries e ON e.transaction_id = t.id
		JOIN accounts a ON a.id = e.account_id
		WHERE t.program_id = $1 AND t.refs->>'order' = ANY($2)
		  AND left(a.code, 8) = 'partner:' AND right(a.code, 8) = ':pending'
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, program, orders, period)
	if err != nil {
		return nil, fmt.Errorf("server: reading pending balances of orders: %w", err)
	}
	defer rows.Close()
	out := map[string][]pendingBucket{}
	for rows.Next() {
		var (
			order, bucket, code, amount string
			latest                      time.Time
		)
		if err := rows.Scan(&order, &bucket, &code, &amount, &latest); err != nil {
			return nil, fmt.Errorf("server: scanning pending balance: %w", err)
		}
		bs := out[order]
		if len(bs) == 0 || bs[len(bs)-1].period != bucket {
			bs = append(bs, pendingBucket{period: bucket, move: &affiliate.Movement{}})
			out[order] = bs
		}
		if latest.After(bs[len(bs)-1].latest) {
			bs[len(bs)-1].latest = latest
		}
		m := bs[len(bs)-1].move
		d := decimal.RequireFromString(amount)
		accrued := strings.TrimSuffix(code, ":"+affiliate.Pending) + ":" + affiliate.Accrued
		if d.IsNegative() {
			m.Move(accrued, code, d.Neg())
		} else {
			m.Move(code, accrued, d)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("server: reading pending balances of orders: %w", err)
	}
	return out, nil
}

// closingPartner is a partner as a close sees it.
type closingPartner struct {
	id     string
	active bool
}

// programPartners lists a program's partners in id order.
func programPartners(ctx context.Context, q querier, program string) ([]closingPartner, error) {
	rows, err := q.Query(ctx, `SELECT id, status = 'active' FROM partners WHERE program_id = $1 ORDER BY id`, program)
	if err != nil {
		return nil, fmt.Errorf("server: listing partners: %w", err)
	}
	partners, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (closingPartner, error) {
		var p closingPartner
		err := r.Scan(&p.id, &p.active)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("server: listing partners: %w", err)
	}
	return partners, nil
}

// periodSummary counts a period's statements and what they released.
func periodSummary(ctx context.Context, q querier, program, period string) (closeResult, error) {
	res := closeResult{Period: period}
	var released string
	err := q.QueryRow(ctx, `SELECT count(*), COALESCE(SUM(released), 0)::text FROM statements
		WHERE program_id = $1 AND period = $2`, program, period).Scan(&res.Statements, &released)
	if err != nil {
		return closeResult{}, fmt.Errorf("server: summarising %s: %w", period, err)
	}
	res.Released = decimal.RequireFromString(released)
	return res, nil
}

// firstPeriod is the period the program was created in.
func firstPeriod(ctx context.Context, q querier, prog *ledger.Program) (string, error) {
	var created time.Time
	if err := q.QueryRow(ctx, `SELECT created_at FROM programs WHERE id = $1`, prog.ID).Scan(&created); err != nil {
		return "", fmt.Errorf("server: reading program %s: %w", prog.ID, err)
	}
	return prog.PeriodOf(created), nil
}

// closedPeriods returns the closed periods in [from, to).
func closedPeriods(ctx context.Context, q querier, program, from, to string) (map[string]bool, error) {
	rows, err := q.Query(ctx, `SELECT period FROM periods
		WHERE program_id = $1 AND status = 'closed' AND period >= $2 AND period < $3`, program, from, to)
	if err != nil {
		return nil, fmt.Errorf("server: reading closed periods: %w", err)
	}
	ps, err := pgx.CollectRows(rows, pgx.RowTo[string])
	out := make(map[string]bool, len(ps))
	for _, p := range ps {
		out[p] = true
	}
	return out, err
}

// periodRange returns the first instant of period and of the next one in
// loc; fault InvalidArgument when period is not YYYY-MM.
func periodRange(period string, loc *time.Location) (start, end time.Time, err error) {
	t, err := time.ParseInLocation(periodLayout, period, loc)
	if err != nil || t.Format(periodLayout) != period {
		return time.Time{}, time.Time{}, fault.Invalid("period", "%q is not a period (YYYY-MM)", period)
	}
	return t, t.AddDate(0, 1, 0), nil
}

func nextPeriod(p string) string { return shiftPeriod(p, 1) }
func prevPeriod(p string) string { return shiftPeriod(p, -1) }

func shiftPeriod(p string, months int) string {
	t, err := time.Parse(periodLayout, p)
	if err != nil {
		panic(fmt.Sprintf("server: shifting malformed period %q", p))
	}
	return t.AddDate(0, months, 0).Format(periodLayout)
}
