package service

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

// orderItem is one command of a batch attempt, as the steps fill it in.
type orderItem struct {
	i       int // the command's index in the batch
	call    orderCall
	version int32
	prog    *rules.Program
	order   affiliate.Order
	attr    affiliate.Attribution
	err     error      // refused before its key was claimed
	first   *orderItem // the earlier command that claimed its key
	upline  []store.Ancestor
	event   *store.OrderEvent
	posting int // index of its posting in the batch's, or -1
}

// batchWrote is what an attempt of a batch wrote, for after its commit:
// the journal postings (for the observer) and the accounts it read from
// the database (for the service's account cache).
type batchWrote struct {
	postings int
	accounts []ledger.Account
}

// orderFacts is what a batch reads about its orders' partners.
type orderFacts struct {
	partners map[string]store.Partner
	volumes  map[string]decimal.Decimal // by sales account code
}

// payOrders is one attempt of a batch in tx: the steps in order, each for
// every command not dropped; a command's own failure after its key was
// claimed is a droppedCommand. The program's share lock goes in the
// first round trip, with the batch's first reads.
func (s *Service) payOrders(ctx context.Context, tx pgx.Tx, program string, calls []orderCall, dropped []bool, out []orderOutcome, wrote *batchWrote) error {
	var (
		r       ledger.Pipeline
		journal *ledger.Program
	)
	if !s.db.Cockroach {
		r.GenericPlans() // the batch statements are checked under generic plans (order_plans_test.go)
	}
	ledger.QueueLockProgram(&r, program, &journal)
	return s.payOrderSteps(ctx, tx, &r, program, &journal, calls, dropped, out, wrote)
}

// payOrdersLocked is payOrders' steps in tx, whose caller holds journal's
// program lock (ledger.LockProgram): the group path, or an import.
func (s *Service) payOrdersLocked(ctx context.Context, tx pgx.Tx, journal *ledger.Program, calls []orderCall, dropped []bool, out []orderOutcome, wrote *batchWrote) error {
	return s.payOrderSteps(ctx, tx, &ledger.Pipeline{}, journal.ID, &journal, calls, dropped, out, wrote)
}

// firstReads are what a batch reads before deciding anything, in one
// round trip: the rules version in force at each order's time, the keys'
// records, and the partners of the orders' codes. An order paid before is
// found by its row's insert, the batch's last write (orderTakenDrop):
// paying an order twice under two keys is rare, and a probe of every
// order's key in every batch cost more than that rerun.
type firstReads struct {
	versions []int32
	records  map[string]store.StoredCommand
	byCode   map[string]string
}

// payOrderSteps runs the steps of a batch in tx. r holds what the caller
// queued for the first round trip, and *journal is the program once it
// is sent.
func (s *Service) payOrderSteps(ctx context.Context, tx pgx.Tx, r *ledger.Pipeline, program string, journal **ledger.Program,
	calls []orderCall, dropped []bool, out []orderOutcome, wrote *batchWrote) error {
	*wrote = batchWrote{}
	items := batchItems(calls, dropped)
	first := queueFirstReads(r, program, items)
	if err := r.Send(ctx, tx); err != nil {
		return err
	}
	if err := s.prepareOrders(ctx, tx, program, items, first.versions); err != nil {
		return err
	}
	fresh, err := claimOrders(items, first.records, out)
	if err != nil || len(fresh) == 0 {
		return err
	}
	if err := checkPaidTwice(fresh); err != nil {
		return err
	}
	facts, err := loadOrderFacts(ctx, tx, program, fresh, first.byCode)
	if err != nil {
		return err
	}
	postings, err := decideOrders(*journal, fresh, facts, s.clock.Now())
	if err != nil {
		return err
	}
	if s.orderHook != nil {
		if err := s.orderHook(); err != nil {
			return err
		}
	}
	wrote.postings = len(postings)
	return s.writeOrderBatch(ctx, tx, *journal, items, fresh, postings, out, wrote)
}

// batchItems is the commands of a batch attempt: those not dropped.
func batchItems(calls []orderCall, dropped []bool) []*orderItem {
	var items []*orderItem
	for i, c := range calls {
		if !dropped[i] {
			items = append(items, &orderItem{i: i, call: c, posting: -1})
		}
	}
	return items
}

// queueFirstReads queues the batch's first reads into r.
func queueFirstReads(r *ledger.Pipeline, program string, items []*orderItem) *firstReads {
	ats, keys := make([]time.Time, len(items)), make([]string, len(items))
	var codes []string
	for k, it := range items {
		in := it.call.in
		ats[k], keys[k] = in.At, it.call.c.Key
		if in.CodeKey != "" {
			codes = append(codes, in.CodeKey)
		}
	}
	f := &firstReads{}
	store.QueueVersionsAt(r, program, ats, &f.versions)
	store.QueueLoadCommands(r, program, keys, &f.records)
	store.QueuePartnersByCode(r, program, codes, &f.byCode)
	return f
}

// prepareOrders checks each order's lines under the rules version in
// force at its time (versions[k] is items[k]'s); a command refused there
// keeps its error until its key is looked at.
func (s *Service) prepareOrders(ctx context.Context, tx pgx.Tx, program string, items []*orderItem, versions []int32) error {
	for k, it := range items {
		if it.version = versions[k]; it.version == 0 {
			it.err = fault.NotFound("program", "program %q has no rules", program)
			continue
		}
		var err error
		if it.prog, err = s.RulesVersion(ctx, tx, program, it.version); err != nil {
			return err
		}
		in := it.call.in
		lines, shipping, err := parseLines(it.prog, in.Lines, in.Shipping, true)
		if it.err = err; err == nil {
			it.order = affiliate.NewOrder(in.Order, in.Customer, in.Visitor, lines, shipping, in.At)
		}
	}
	return nil
}

// claimOrders answers the commands of the batch by their keys' records
// (recs) as Exec would have, in order: a key recorded before replays or
// is refused by its record, a key an earlier command of the batch holds
// answers as that command (once it is known), and an invalid command
// whose key is free fails with its error. It returns the commands to pay:
// the first valid one of each free key. Their keys are recorded, with
// their responses, by the batch's last writes (writeOrderBatch); a key a
// concurrent request recorded meanwhile makes the batch run again
// (errKeyRaced), and that run replays it.
func claimOrders(items []*orderItem, recs map[string]store.StoredCommand, out []orderOutcome) ([]*orderItem, error) {
	first := map[string]*orderItem{}
	for _, it := range items {
		if k := it.call.c.Key; it.err == nil && first[k] == nil {
			first[k] = it
		}
	}
	claimed := make(map[string]bool, len(first))
	for k := range first {
		if _, recorded := recs[k]; !recorded {
			claimed[k] = true
		}
	}
	var fresh []*orderItem
	for _, it := range items {
		k, f := it.call.c.Key, first[it.call.c.Key]
		switch rec, recorded := recs[k]; {
		case claimed[k] && f == it:
			fresh = append(fresh, it)
		case claimed[k] && f.i < it.i:
			it.first = f
		case claimed[k] || !recorded && it.err != nil:
			out[it.i] = orderOutcome{Err: it.err} // the key was free when it ran
		case !recorded:
			return nil, fmt.Errorf("service: key %q is neither claimed nor recorded", k)
		default:
			state, body, err := recordState(rec, it.call.c)
			if err == nil && state != commandDone {
				return nil, fmt.Errorf("service: key %q is claimed but has no record", k)
			}
			out[it.i] = orderOutcome{Reply: Reply{Body: body, Replayed: true}, Err: err}
		}
	}
	return fresh, nil
}

// checkPaidTwice refuses the command of an order paid earlier in the
// batch; one paid before is refused when its row is written, with the
// batch's other writes (writeOrderBatch).
func checkPaidTwice(fresh []*orderItem) error {
	seen := make(map[string]bool, len(fresh))
	for _, it := range fresh {
		if seen[it.order.ID] {
			return droppedCommand{it.i, affiliate.AlreadyPaid(it.order.ID)}
		}
		seen[it.order.ID] = true
	}
	return nil
}

// loadOrderFacts ties the orders' visitors to their customers, attributes
// each order (by its code's partner, byCode; else by a click), and reads
// the partners, locked in id order when an order accrues on payment,
// their sales volumes and their uplines at each order's time, in one round
// trip with the ties. An order attributed by a click needs the ties
// first, so they go alone then.
func loadOrderFacts(ctx context.Context, tx pgx.Tx, program string, fresh []*orderItem, byCode map[string]string) (orderFacts, error) {
	var r ledger.Pipeline
	orders := make([]affiliate.Order, len(fresh))
	byClick := false
	for k, it := range fresh {
		orders[k] = it.order
		byClick = byClick || byCode[it.call.in.CodeKey] == ""
	}
	if byClick {
		if err := store.TieVisitors(ctx, tx, program, orders); err != nil {
			return orderFacts{}, err
		}
	} else {
		store.QueueTieVisitors(&r, program, orders)
	}
	if err := attributeOrders(ctx, tx, program, fresh, byCode); err != nil {
		return orderFacts{}, err
	}
	var (
		ids, sales []string
		uplines    []store.UplineQuery
		levels     int
		lock       = store.NoLock
		facts      orderFacts
		chains     [][]store.Ancestor
	)
	for _, it := range fresh {
		if p := it.attr.Partner; p != "" {
			ids, sales = append(ids, p), append(sales, affiliate.PartnerAccount(p, affiliate.Sales))
			uplines, levels = append(uplines, store.UplineQuery{Partner: p, At: it.order.PaidAt}), max(levels, len(it.prog.Upline))
		}
		if it.prog.AccrueOn == rules.AccrueOnPaid {
			lock = store.ForUpdate
		}
	}
	store.QueueLoadPartners(&r, program, ids, lock, &facts.partners)
	if len(ids) > 0 {
		ledger.QueueAccountBalances(&r, program, sales, &facts.volumes)
		store.QueueUplinesAt(&r, program, uplines, levels, &chains)
	}
	err := r.Send(ctx, tx)
	// The partners are read before the volumes: an order's partner that
	// does not exist is its command's failure, whatever the volumes said.
	for _, it := range fresh {
		if _, ok := facts.partners[it.attr.Partner]; it.attr.Partner != "" && !ok {
			return orderFacts{}, droppedCommand{it.i, fault.NotFound("partner_code", "no partner %q", it.attr.Partner)}
		}
	}
	if err != nil {
		return orderFacts{}, err
	}
	for k, it := range withPartner(fresh) {
		it.upline = chains[k]
	}
	return facts, nil
}

// withPartner is the items of fresh attributed to a partner, in order.
func withPartner(fresh []*orderItem) []*orderItem {
	var out []*orderItem
	for _, it := range fresh {
		if it.attr.Partner != "" {
			out = append(out, it)
		}
	}
	return out
}

// attributeOrders sets each order's attribution: by partner code (the
// partners of the batch's codes are byCode); else by the order's clicks,
// one query each.
func attributeOrders(ctx context.Context, tx pgx.Tx, program string, fresh []*orderItem, byCode map[string]string) error {
	for _, it := range fresh {
		var err error
		a := affiliate.Attribution{Partner: byCode[it.call.in.CodeKey], How: affiliate.ByPartnerCode}
		if it.call.in.CodeKey == "" || a.Partner == "" {
			o := it.order
			if a, err = store.Attribute(ctx, tx, program, it.prog.Attribution, "", o.Visitor, o.Customer, o.PaidAt); err != nil {
				return err
			}
		}
		// A lead (portal) attributes the order after a matching code; an
		// unknown lead is this command's failure alone.
		if a, err = withLead(ctx, tx, program, it.call.in.Lead, a); err != nil {
			return droppedCommand{it.i, err}
		}
		it.attr = a
	}
	return nil
}
