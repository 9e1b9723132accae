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

// orderFacts is what a batch reads about its orders' partners.
type orderFacts struct {
	partners map[string]store.Partner
	volumes  map[string]decimal.Decimal // by sales account code
}

// payOrders is one attempt of a batch in tx: the steps in order, each for
// every command not dropped; a command's own failure after its key was
// claimed is a droppedCommand.
func (s *Service) payOrders(ctx context.Context, tx pgx.Tx, program string, calls []orderCall, dropped []bool, out []orderOutcome, posted *int) error {
	*posted = 0
	journal, err := ledger.LockProgram(ctx, tx, program)
	if err != nil {
		return err
	}
	return s.payOrdersLocked(ctx, tx, journal, calls, dropped, out, posted)
}

// payOrdersLocked is payOrders' steps in tx, whose caller holds journal's
// program lock (ledger.LockProgram): the group path, or an import.
func (s *Service) payOrdersLocked(ctx context.Context, tx pgx.Tx, journal *ledger.Program, calls []orderCall, dropped []bool, out []orderOutcome, posted *int) error {
	items, err := s.prepareOrders(ctx, tx, journal.ID, calls, dropped)
	if err != nil {
		return err
	}
	fresh, err := s.claimOrders(ctx, tx, journal.ID, items, out)
	if err != nil || len(fresh) == 0 {
		return err
	}
	if err := checkOrderRows(ctx, tx, journal.ID, fresh); err != nil {
		return err
	}
	facts, err := loadOrderFacts(ctx, tx, journal.ID, fresh)
	if err != nil {
		return err
	}
	postings, err := decideOrders(journal, fresh, facts, s.clock.Now())
	if err != nil {
		return err
	}
	if s.orderHook != nil {
		if err := s.orderHook(); err != nil {
			return err
		}
	}
	*posted = len(postings)
	return s.writeOrderBatch(ctx, tx, journal, items, fresh, postings, out)
}

// prepareOrders reads the rules version in force at each order's time
// (one query) and checks each order's lines under it; a command refused
// there keeps its error until its key is looked at.
func (s *Service) prepareOrders(ctx context.Context, tx pgx.Tx, program string, calls []orderCall, dropped []bool) ([]*orderItem, error) {
	var (
		items []*orderItem
		ats   []time.Time
	)
	for i, c := range calls {
		if !dropped[i] {
			items, ats = append(items, &orderItem{i: i, call: c, posting: -1}), append(ats, c.in.At)
		}
	}
	versions, err := store.VersionsAt(ctx, tx, program, ats)
	if err != nil {
		return nil, err
	}
	for k, it := range items {
		if it.version = versions[k]; it.version == 0 {
			it.err = fault.NotFound("program", "program %q has no rules", program)
			continue
		}
		if it.prog, err = s.RulesVersion(ctx, tx, program, it.version); err != nil {
			return nil, err
		}
		in := it.call.in
		lines, shipping, err := parseLines(it.prog, in.Lines, in.Shipping, true)
		if it.err = err; err == nil {
			it.order = affiliate.NewOrder(in.Order, in.Customer, in.Visitor, lines, shipping, in.At)
		}
	}
	return items, nil
}

// claimOrders looks up the keys of the batch (one query) and answers the
// commands as Exec would have, in order: a key recorded before replays or
// is refused by its record, a key an earlier command of the batch holds
// answers as that command (once it is known), and an invalid command
// whose key is free fails with its error. It returns the commands to pay:
// the first valid one of each free key. Their keys are recorded, with
// their responses, by the batch's last writes (writeOrderBatch); a key a
// concurrent request recorded meanwhile makes the batch run again
// (errKeyRaced), and that run replays it.
func (s *Service) claimOrders(ctx context.Context, tx pgx.Tx, program string, items []*orderItem, out []orderOutcome) ([]*orderItem, error) {
	first := map[string]*orderItem{}
	keys := make([]string, 0, len(items))
	for _, it := range items {
		if k := it.call.c.Key; it.err == nil && first[k] == nil {
			first[k] = it
		}
		keys = append(keys, it.call.c.Key)
	}
	recs, err := store.LoadCommands(ctx, tx, program, keys)
	if err != nil {
		return nil, err
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

// checkOrderRows refuses the command of an order paid before, or earlier
// in the batch (one probe of the orders' keys), and ties the orders'
// visitors to their customers; the rows themselves are written whole with
// the batch's other writes (writeOrderBatch).
func checkOrderRows(ctx context.Context, tx pgx.Tx, program string, fresh []*orderItem) error {
	ids, orders := make([]string, len(fresh)), make([]affiliate.Order, len(fresh))
	for k, it := range fresh {
		ids[k], orders[k] = it.order.ID, it.order
	}
	paid, err := store.PaidOrders(ctx, tx, program, ids)
	if err != nil {
		return err
	}
	seen := make(map[string]bool, len(fresh))
	for _, it := range fresh {
		if paid[it.order.ID] || seen[it.order.ID] {
			return droppedCommand{it.i, affiliate.AlreadyPaid(it.order.ID)}
		}
		seen[it.order.ID] = true
	}
	return store.TieVisitors(ctx, tx, program, orders)
}

// loadOrderFacts attributes each order (partner codes in one query, a
// click for the others) and reads the partners, locked in id order when
// an order accrues on payment, their sales volumes and their uplines at
// each order's time (one statement each, the uplines in one round trip).
func loadOrderFacts(ctx context.Context, tx pgx.Tx, program string, fresh []*orderItem) (orderFacts, error) {
	if err := attributeOrders(ctx, tx, program, fresh); err != nil {
		return orderFacts{}, err
	}
	var (
		ids, sales []string
		uplines    []store.UplineQuery
		levels     int
		lock       = store.NoLock
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
	partners, err := store.LoadPartners(ctx, tx, program, ids, lock)
	if err != nil || len(ids) == 0 {
		return orderFacts{partners: partners}, err
	}
	facts := orderFacts{partners: partners}
	for _, it := range fresh {
		if _, ok := partners[it.attr.Partner]; it.attr.Partner != "" && !ok {
			return orderFacts{}, droppedCommand{it.i, fault.NotFound("partner_code", "no partner %q", it.attr.Partner)}
		}
	}
	if facts.volumes, err = ledger.AccountBalances(ctx, tx, program, sales); err != nil {
		return orderFacts{}, err
	}
	chains, err := store.UplinesAt(ctx, tx, program, uplines, levels)
	for k, it := range withPartner(fresh) {
		it.upline = chains[k]
	}
	return facts, err
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

// attributeOrders sets each order's attribution: by partner code, for all
// orders in one query; else by the order's clicks.
func attributeOrders(ctx context.Context, tx pgx.Tx, program string, fresh []*orderItem) error {
	var codes []string
	for _, it := range fresh {
		if it.call.in.CodeKey != "" {
			codes = append(codes, it.call.in.CodeKey)
		}
	}
	byCode, err := store.PartnersByCode(ctx, tx, program, codes)
	if err != nil {
		return err
	}
	for _, it := range fresh {
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
