package service

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

const (
	// matureBatchMax is how many orders mature in one transaction.
	matureBatchMax = 1000
	// closeBatchMax is how many partners one close transaction releases
	// and writes statements for.
	closeBatchMax = 1000
)

// matureOrders moves what remains pending of every order whose hold ended by
// end from pending to accrued, booked in the lease's period.
func (s *Service) matureOrders(ctx context.Context, journal *ledger.Program, l lease, end time.Time) error {
	after := ""
	for {
		var orders []string
		err := s.db.Run(ctx, func(tx pgx.Tx) error {
			if err := l.check(ctx, tx); err != nil {
				return err
			}
			var err error
			orders, err = matureBatch(ctx, tx, journal, l.Period, end, after, s.clock.Now())
			return err
		})
		if err != nil {
			return fmt.Errorf("service: maturing orders of %s: %w", l.Period, err)
		}
		if len(orders) < matureBatchMax {
			return nil
		}
		after = orders[len(orders)-1]
	}
}

// matureBatch matures the orders after the id after (up to matureBatchMax),
// its postings recorded at recorded, and returns the ids it looked at. The order rows are locked, so a refund
// of the same order either comes before (and is netted here) or after (and
// sees it matured). What an order has pending is moved to accrued in the
// period it was booked in: up to this period in this period; an event on
// the order booked in a later (open) period — it arrived after the period
// ended but before the close ran — is matured in its own period, so no
// period is left with a pending remainder of a matured order.
func matureBatch(ctx context.Context, tx pgx.Tx, journal *ledger.Program, period string, end time.Time, after string, recorded time.Time) ([]string, error) {
	orders, err := store.LockOrdersToMature(ctx, tx, journal.ID, end, after, matureBatchMax)
	if err != nil || len(orders) == 0 {
		return orders, err
	}
	prefix, suffix := affiliate.PendingAccounts()
	pending, err := ledger.OrderBalances(ctx, tx, journal.ID, orders, period, prefix, suffix)
	if err != nil {
		return nil, err
	}
	var postings []ledger.Posting
	for _, b := range pendingBuckets(pending) {
		if legs := b.move.Legs(); len(legs) > 0 {
			postings = append(postings, ledger.Posting{
				Program: journal.ID, Key: affiliate.MaturingKey(period, b.order, b.period), Kind: affiliate.KindMaturing,
				At: affiliate.MaturingAt(period, b.period, end, b.latest), Period: b.period,
				Refs: map[string]string{"order": b.order, "period": period}, Legs: legs, Recorded: recorded,
			})
		}
	}
	if _, _, err := ledger.PostBatch(ctx, tx, postings); err != nil {
		return nil, fmt.Errorf("service: posting maturings: %w", err)
	}
	if err := store.MarkMatured(ctx, tx, journal.ID, orders); err != nil {
		return nil, err
	}
	return orders, nil
}

// pendingBucket is what an order has pending in one booking period, as the
// movement that matures it.
type pendingBucket struct {
	order, period string
	move          *affiliate.Movement
	latest        time.Time // the latest `at` of the entries it matures
}

// pendingBuckets groups the pending balances (ordered by order, period and
// account) into one maturing movement per order and booking period.
func pendingBuckets(balances []ledger.OrderBalance) []pendingBucket {
	var out []pendingBucket
	for _, b := range balances {
		if n := len(out); n == 0 || out[n-1].order != b.Order || out[n-1].period != b.Period {
			out = append(out, pendingBucket{order: b.Order, period: b.Period, move: &affiliate.Movement{}})
		}
		last := &out[len(out)-1]
		if b.Latest.After(last.latest) {
			last.latest = b.Latest
		}
		affiliate.Mature(last.move, b.Account, b.Credit)
	}
	return out
}

// closeBatch releases, for each of batch (partners in id order), its
// accrued balance when it reached the minimum, and writes its statement for
// period, in tx: a batch's release postings and statements commit together,
// so no partner is ever released without its statement. A partner whose
// statement exists is done; a release an earlier run posted is read back,
// not posted again. Every step is one query over the whole batch.
func (s *Service) closeBatch(ctx context.Context, tx pgx.Tx, journal *ledger.Program, prog *rules.Program,
	period string, end time.Time, batch []store.ClosingPartner) error {
	todo := withoutStatement(batch)
	if len(todo) == 0 {
		return nil
	}
	ids := make([]string, len(todo))
	for i, p := range todo {
		ids[i] = p.ID
	}
	books, err := batchBooks(ctx, tx, journal.ID, period, ids)
	if err != nil {
		return err
	}
	released, err := postedReleases(ctx, tx, journal.ID, period, ids)
	if err != nil {
		return err
	}
	var postings []ledger.Posting
	recorded := s.clock.Now()
	for _, p := range todo {
		if _, ok := released[p.ID]; ok {
			continue // posted by an earlier run: the balances hold it
		}
		closing := books[p.ID].Closing
		amount, ok := affiliate.Release(p.Active, closing[affiliate.Accrued], prog.PayoutMinimum)
		if !ok {
			continue
		}
		released[p.ID] = amount
		postings = append(postings, releasePosting(journal.ID, period, end, p.ID, amount, recorded))
		closing[affiliate.Accrued], closing[affiliate.Payable] = decimal.Zero, closing[affiliate.Payable].Add(amount)
	}
	if _, _, err := ledger.PostBatch(ctx, tx, postings); err != nil {
		return fmt.Errorf("service: posting releases: %w", err)
	}
	if s.close.AfterReleases != nil {
		if err := s.close.AfterReleases(ids); err != nil {
			return err
		}
	}
	return s.writeStatements(ctx, tx, journal, prog, period, ids, released, books)
}

// releasePosting moves amount of partner's accrued balance to payable,
// recorded at recorded.
func releasePosting(program, period string, end time.Time, partner string, amount decimal.Decimal, recorded time.Time) ledger.Posting {
	return ledger.Posting{
		Program: program, Key: affiliate.ReleaseKey(period, partner), Kind: affiliate.KindRelease, At: end, Period: period, Recorded: recorded,
		Refs: map[string]string{"partner": partner, "period": period},
		Legs: affiliate.ReleaseMovement(partner, amount).Legs(),
	}
}

// withoutStatement returns the partners of page that have no statement
// for the period yet, in order.
func withoutStatement(page []store.ClosingPartner) []store.ClosingPartner {
	var out []store.ClosingPartner
	for _, p := range page {
		if !p.Stated {
			out = append(out, p)
		}
	}
	return out
}

// batchBooks reads the statement balances of partners around period.
func batchBooks(ctx context.Context, tx pgx.Tx, program, period string, partners []string) (map[string]affiliate.Books, error) {
	codes, owner := affiliate.StatementAccounts(partners)
	bs, err := ledger.BalancesAround(ctx, tx, program, codes, affiliate.PrevPeriod(period), period)
	if err != nil {
		return nil, err
	}
	out := make(map[string]affiliate.Books, len(partners))
	for _, p := range partners {
		out[p] = affiliate.Books{Opening: affiliate.Balances{}, Closing: affiliate.Balances{}}
	}
	for code, b := range bs {
		kind, _ := affiliate.PartnerAccountKind(code)
		books := out[owner[code]]
		books.Opening[kind], books.Closing[kind] = b.Opening, b.Closing
	}
	return out, nil
}

// postedReleases reads the releases of period already posted for partners
// (by an earlier run of the close), by partner: what each moved to its
// payable account.
func postedReleases(ctx context.Context, tx pgx.Tx, program, period string, partners []string) (map[string]decimal.Decimal, error) {
	keys := make([]string, len(partners))
	for i, p := range partners {
		keys[i] = affiliate.ReleaseKey(period, p)
	}
	entries, err := ledger.EntriesByKey(ctx, tx, program, keys)
	if err != nil {
		return nil, err
	}
	out := map[string]decimal.Decimal{}
	for _, e := range entries {
		if p := e.Refs["partner"]; e.Account == affiliate.PartnerAccount(p, affiliate.Payable) {
			out[p] = e.Amount.Neg()
		}
	}
	return out, nil
}
