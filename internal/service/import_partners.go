package service

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
)

// importPartners registers the partners of the registration events
// events[run[0]], events[run[1]], ... (each with its code) in tx, a few
// statements for the run, as registerIn would one by one in order: keys
// claimed in one statement (a key recorded before replays, a key repeated
// in the run answers as its first event), the parents checked (registered
// before the run, or earlier in it), then one statement per table. An
// event registerIn would refuse (partner id or code taken, parent
// unknown, link ending before it starts, no rules at its time) is
// errBatchRefused.
func (s *Service) importPartners(ctx context.Context, tx pgx.Tx, ic *importCall, run []int) error {
	fresh, err := s.claimPartners(ctx, tx, ic, run)
	if err != nil || len(fresh) == 0 {
		return err
	}
	ins := make([]NewPartner, len(fresh))
	for k, i := range fresh {
		ins[k] = *ic.events[i].Partner
	}
	if err := checkParents(ctx, tx, ic.journal.ID, ins); err != nil {
		return err
	}
	views, err := s.writePartners(ctx, tx, ic.journal.ID, ins)
	if err != nil {
		return err
	}
	var (
		keys   []string
		bodies [][]byte
		events = make([]Emitted, len(views))
	)
	for k, i := range fresh {
		body, err := encodeResult(ic.enc.Partner, views[k])
		if err != nil {
			return err
		}
		ic.out[i], events[k] = Reply{Body: body}, Emitted{Type: EventPartnerRegistered, Resource: views[k]}
		keys, bodies = append(keys, ic.events[i].Key), append(bodies, body)
	}
	if err := answerRepeatedKeys(ic, run); err != nil {
		return err
	}
	if err := s.emit(ctx, tx, ic.journal.ID, events...); err != nil {
		return err
	}
	return store.SetCommandResponses(ctx, tx, ic.journal.ID, keys, bodies)
}

// claimPartners claims the key of the first event of each key of the run
// (one statement) and answers the events of keys recorded before as Exec
// would; it returns the events to register, in order.
func (s *Service) claimPartners(ctx context.Context, tx pgx.Tx, ic *importCall, run []int) ([]int, error) {
	now := s.clock.Now()
	first := map[string]int{}
	var cands []store.Command
	for _, i := range run {
		if c := ic.events[i].Command; !hasKey(first, c.Key) {
			first[c.Key], cands = i, append(cands, c.record(now))
		}
	}
	claimed, err := store.ClaimCommands(ctx, tx, ic.journal.ID, cands, now)
	if err != nil {
		return nil, err
	}
	var lookup []string
	for k := range first {
		if !claimed[k] {
			lookup = append(lookup, k)
		}
	}
	recs, err := store.LoadCommands(ctx, tx, ic.journal.ID, lookup)
	if err != nil {
		return nil, err
	}
	var fresh []int
	for _, i := range run {
		c := ic.events[i].Command
		rec, recorded := recs[c.Key]
		switch {
		case claimed[c.Key] && first[c.Key] == i:
			fresh = append(fresh, i)
		case claimed[c.Key]: // answered as its first event (answerRepeatedKeys)
		case !recorded:
			return nil, fmt.Errorf("service: key %q is neither claimed nor recorded", c.Key)
		default:
			state, body, err := recordState(rec, c)
			if err != nil {
				return nil, errBatchRefused
			}
			if state != commandDone {
				return nil, fmt.Errorf("service: key %q is claimed but has no record", c.Key)
			}
			ic.out[i] = Reply{Body: body, Replayed: true}
		}
	}
	return fresh, nil
}

// hasKey reports whether m holds k.
func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

// answerRepeatedKeys answers each event of the run whose key an earlier
// event of the run claimed as a later call with that key: the same
// payload replays the first's response; another is errBatchRefused.
func answerRepeatedKeys(ic *importCall, run []int) error {
	first := map[string]int{}
	for _, i := range run {
		c := ic.events[i].Command
		f, seen := first[c.Key]
		switch {
		case !seen:
			first[c.Key] = i
		case ic.out[f].Replayed:
			// Its key was recorded before the run: answered by claimPartners.
		case !bytes.Equal(ic.events[f].Hash, c.Hash):
			return errBatchRefused
		default:
			ic.out[i] = Reply{Body: ic.out[f].Body, Replayed: true}
		}
	}
	return nil
}

// checkParents refuses (errBatchRefused) a registration whose parent is
// neither a partner before the run (one query) nor registered earlier in
// it, or whose link ends before it starts.
func checkParents(ctx context.Context, tx pgx.Tx, program string, ins []NewPartner) error {
	earlier := map[string]bool{}
	var before []string
	for _, in := range ins {
		if in.Parent != "" && !earlier[in.Parent] {
			before = append(before, in.Parent)
		}
		if in.ParentUntil != nil && !in.ParentUntil.After(in.At) {
			return errBatchRefused
		}
		earlier[in.Partner] = true
	}
	found, err := store.ExistingPartners(ctx, tx, program, before)
	if err != nil {
		return err
	}
	if len(found) < len(uniq(before)) {
		return errBatchRefused
	}
	return nil
}

// uniq is the set of ss.
func uniq(ss []string) map[string]bool {
	m := make(map[string]bool, len(ss))
	for _, s := range ss {
		m[s] = true
	}
	return m
}

// writePartners adds the partners' rows, their parent links and accounts
// (one statement each) and returns each as partnerView sees it at its
// registration (its volume read, its tier by the rules then); an id or
// code taken, or no rules at a partner's time, is errBatchRefused.
func (s *Service) writePartners(ctx context.Context, tx pgx.Tx, program string, ins []NewPartner) ([]PartnerView, error) {
	rows := make([]store.Partner, len(ins))
	var (
		links       []store.ParentLink
		codes, sale []string
		ats         = make([]time.Time, len(ins))
	)
	for k, in := range ins {
		rows[k] = store.Partner{ID: in.Partner, Code: in.Code, Customer: in.Customer, Status: affiliate.StatusActive, Private: in.Private, RegisteredAt: in.At}
		if in.Parent != "" {
			links = append(links, store.ParentLink{Partner: in.Partner, Parent: in.Parent, From: in.At, Until: in.ParentUntil})
		}
		for _, kind := range affiliate.PartnerAccountKinds {
			codes = append(codes, affiliate.PartnerAccount(in.Partner, kind))
		}
		sale, ats[k] = append(sale, affiliate.PartnerAccount(in.Partner, affiliate.Sales)), in.At
	}
	added, err := store.InsertPartners(ctx, tx, program, rows)
	if err != nil || len(added) < len(rows) {
		return nil, orElse(err, errBatchRefused)
	}
	until := map[string]*time.Time{}
	if len(links) > 0 {
		if until, err = store.LinkParents(ctx, tx, program, links); err != nil {
			return nil, err
		}
	}
	if err := ledger.OpenAccounts(ctx, tx, program, codes, ledger.Credit, 1, s.clock.Now()); err != nil {
		return nil, err
	}
	volumes, err := ledger.AccountBalances(ctx, tx, program, sale)
	if err != nil {
		return nil, err
	}
	versions, err := store.VersionsAt(ctx, tx, program, ats)
	if err != nil {
		return nil, err
	}
	views := make([]PartnerView, len(ins))
	for k, in := range ins {
		if versions[k] == 0 {
			return nil, errBatchRefused
		}
		prog, err := s.RulesVersion(ctx, tx, program, versions[k])
		if err != nil {
			return nil, err
		}
		views[k] = PartnerView{Partner: added[in.Partner], Parent: in.Parent, ParentUntil: until[in.Partner]}
		views[k].Volume, views[k].Tier = volumeAndTier(prog, volumes[sale[k]])
	}
	return views, nil
}
