package service

import (
	"context"
	"slices"
	"sync"

	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/internal/txn"
)

// The one-statement path of clicks (issue 9): a click whose partner
// reference resolved before, in this process, is written with its key's
// record in a single statement outside a transaction, its id reserved
// beforehand and its response encoded with the partner it resolved to.
// The statement itself checks that the reference still resolves to that
// partner and that the key is free, and writes nothing for a click where
// either fails; such a click, and one whose reference is not known yet,
// goes the transaction path (RecordClicks), which answers it exactly and
// remembers its partner. The database decides in both.

// knownRefsMax bounds the partner references remembered; when full, the
// memory starts again.
const knownRefsMax = 1 << 16

// clickIDsBlock is how many click ids are reserved at once.
const clickIDsBlock = 512

// knownClicks is what the one-statement path remembers: partner
// references and reserved click ids.
type knownClicks struct {
	mu       sync.Mutex
	partners map[clickRefKey]string
	ids      []int64
}

// clickRefKey is a click's partner reference (a referral code or partner
// id, as sent) in a program.
type clickRefKey struct{ program, ref string }

// partner is the partner ref resolved to when it was last seen, or "".
func (k *knownClicks) partner(program, ref string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.partners[clickRefKey{program, ref}]
}

// remember notes that ref resolved to partner in program.
func (k *knownClicks) remember(program, ref, partner string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.partners == nil || len(k.partners) >= knownRefsMax {
		k.partners = make(map[clickRefKey]string)
	}
	k.partners[clickRefKey{program, ref}] = partner
}

// takeIDs returns n reserved click ids, reserving a block when fewer are
// left.
func (k *knownClicks) takeIDs(ctx context.Context, db *txn.DB, n int) ([]int64, error) {
	k.mu.Lock()
	if len(k.ids) >= n {
		ids := k.ids[:n:n]
		k.ids = k.ids[n:]
		k.mu.Unlock()
		return ids, nil
	}
	k.mu.Unlock()
	fresh, err := store.ReserveClickIDs(ctx, db.Pool, max(n, clickIDsBlock))
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	k.ids = append(k.ids, fresh[n:]...)
	k.mu.Unlock()
	return fresh[:n:n], nil
}

// recordKnownClicks writes the clicks of todo (indexes in clicks, each the
// first of its key) whose partner reference is known, in one statement,
// filling their outcomes, and returns those of todo it did not write, in
// order. Clicks that emit events go the transaction path, which writes
// them to the outbox with the clicks.
func (s *Service) recordKnownClicks(ctx context.Context, program string, clicks []BatchClick, todo []int, encode Encode[RecordedClick], out []ClickOutcome) ([]int, error) {
	if s.events.clicks {
		return todo, nil
	}
	var known, rest []int
	var partners []string
	for _, i := range todo {
		if p := s.known.partner(program, clicks[i].Click.Partner); p != "" {
			known, partners = append(known, i), append(partners, p)
		} else {
			rest = append(rest, i)
		}
	}
	if len(known) == 0 {
		return todo, nil
	}
	ids, err := s.known.takeIDs(ctx, s.db, len(known))
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	rows := make([]store.KnownClick, len(known))
	for k, i := range known {
		c := clicks[i]
		row := store.KnownClick{ID: ids[k], Ref: c.ref(), Click: c.Click, Command: c.record(now)}
		row.Click.Partner, row.Click.At = partners[k], truncateClickAt(c.Click.At)
		if row.Body, err = encodeResult(c.encoder(encode), RecordedClick{Partner: partners[k], ID: ids[k]}); err != nil {
			return nil, err
		}
		rows[k] = row
	}
	var written []bool
	err = txn.Retry(ctx, func(ctx context.Context) error {
		written, err = store.InsertKnownClicks(ctx, s.db.Pool, program, rows, now, !s.db.Cockroach)
		return err
	})
	if err != nil {
		return nil, err
	}
	for k, i := range known {
		if written[k] {
			out[i] = ClickOutcome{Reply: Reply{Body: rows[k].Body}}
		} else {
			rest = append(rest, i)
		}
	}
	slices.Sort(rest)
	return rest, nil
}
