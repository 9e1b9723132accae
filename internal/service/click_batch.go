package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
)

// BatchClick is one click of a batch: its command (key and request hash,
// as the equivalent single RecordClick's), the click with Partner a
// referral code or partner id, and Err when the caller's validation
// refused it already.
type BatchClick struct {
	Command
	Click store.Click
	Err   error
	// encode, when set, encodes this click's response in place of the
	// batch's encoder (a RecordClick that joined a group batch).
	encode Encode[RecordedClick]
}

// ref is what c names to look up: its partner as a folded referral code
// ("" matches no code) and as an id, and its key.
func (c BatchClick) ref() store.ClickRef {
	code, _ := affiliate.CodeKey(c.Click.Partner)
	return store.ClickRef{Code: code, ID: c.Click.Partner, Key: c.Key}
}

// encoder is c's own encoder when it has one, else the batch's.
func (c BatchClick) encoder(batch Encode[RecordedClick]) Encode[RecordedClick] {
	if c.encode != nil {
		return c.encode
	}
	return batch
}

// ClickOutcome is one click's result: its reply, or Err (a *fault.Error
// whose field is the click's own, such as "partner") when it was refused.
type ClickOutcome struct {
	Reply
	Err error
}

// raceRetriesMax bounds how often a batch is run again because a key it
// found free was recorded by a concurrent request before it committed.
const raceRetriesMax = 3

// errKeyRaced rolls back a batch whose keys were recorded concurrently.
var errKeyRaced = errors.New("service: an idempotency key was recorded concurrently")

// RecordClicks records clicks of one program in one retried transaction,
// each exactly once per idempotency key, with one outcome per click: a
// click is recorded, replayed (its key was recorded with the same
// payload, by a batch or by RecordClick) or refused on its own, and a
// refused click writes nothing. A second click with a key used earlier in
// the batch answers as a replay of the first, or already_exists with
// another payload. Only a fault of the whole batch (the program) or of the
// database is returned as the error. Four statements whatever the size:
// resolve partners and read keys, insert the new clicks, record their
// keys with their responses.
func (s *Service) RecordClicks(ctx context.Context, program string, clicks []BatchClick, encode Encode[RecordedClick]) ([]ClickOutcome, error) {
	if program == "" {
		return nil, fault.InvalidArgument("program", "required")
	}
	out := make([]ClickOutcome, len(clicks))
	todo := firstClicks(clicks, out)
	todo, err := s.recordKnownClicks(ctx, program, clicks, todo, encode, out)
	if err != nil {
		return nil, err
	}
	for range raceRetriesMax {
		if len(todo) == 0 {
			break
		}
		err = s.db.Run(ctx, func(tx pgx.Tx) error {
			return s.recordClicks(ctx, tx, program, clicks, todo, encode, out)
		})
		if !errors.Is(err, errKeyRaced) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	settleRepeatedKeys(clicks, out)
	return out, nil
}

// recordClicks is one attempt of RecordClicks in tx for the clicks of
// todo, filling their outcomes, and remembers the partners their
// references resolve to (click_known.go).
func (s *Service) recordClicks(ctx context.Context, tx pgx.Tx, program string, clicks []BatchClick, todo []int, encode Encode[RecordedClick], out []ClickOutcome) error {
	refs := make([]store.ClickRef, len(todo))
	for k, i := range todo {
		refs[k], out[i] = clicks[i].ref(), ClickOutcome{}
	}
	found, facts, err := store.ResolveClicks(ctx, tx, program, refs)
	if err != nil {
		return err
	}
	if !found {
		return fault.NotFound("program", "no program %q", program)
	}
	var (
		fresh    []int
		partners []string
	)
	for k, i := range todo {
		if facts[k].Partner != "" {
			s.known.remember(program, clicks[i].Click.Partner, facts[k].Partner)
		}
		var partner string
		out[i], partner = decideClick(clicks[i], facts[k])
		var f *fault.Error
		if out[i].Err != nil && !errors.As(out[i].Err, &f) {
			return out[i].Err
		}
		if partner != "" {
			fresh, partners = append(fresh, i), append(partners, partner)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	return s.insertClicks(ctx, tx, program, clicks, fresh, partners, encode, out)
}

// firstClicks sets the outcome of each click refused already and returns
// the clicks to record: those not refused whose key is the first of its
// kind in the batch (settleRepeatedKeys answers the others).
func firstClicks(clicks []BatchClick, out []ClickOutcome) (todo []int) {
	seen := make(map[string]bool, len(clicks))
	for i, c := range clicks {
		out[i] = ClickOutcome{Err: c.Err}
		if c.Err != nil || seen[c.Key] {
			continue
		}
		seen[c.Key] = true
		todo = append(todo, i)
	}
	return todo
}

// decideClick is what becomes of a click given its facts: a replay (Body
// set) or refusal of a recorded key, a refusal of an unknown partner, or
// the partner to record it for.
func decideClick(c BatchClick, f store.ClickFacts) (ClickOutcome, string) {
	if f.Recorded {
		state, body, err := recordState(f.Command, c.Command)
		if err == nil && state != commandDone {
			err = fmt.Errorf("service: key %q is claimed but has no record", c.Key)
		}
		return ClickOutcome{Reply: Reply{Body: body, Replayed: true}, Err: err}, ""
	}
	if c.Click.Partner == "" || f.Partner == "" {
		return ClickOutcome{Err: fault.NotFound("partner", "no partner with code or id %q", c.Click.Partner)}, ""
	}
	return ClickOutcome{}, f.Partner
}

// insertClicks records the fresh clicks (for partners[k], fresh[k] being
// an index in clicks) and their keys with their encoded responses. A key
// recorded meanwhile by a concurrent request is errKeyRaced: the batch is
// run again, and answers it as a replay.
func (s *Service) insertClicks(ctx context.Context, tx pgx.Tx, program string, clicks []BatchClick, fresh []int, partners []string,
	encode Encode[RecordedClick], out []ClickOutcome) error {
	rows := make([]store.Click, len(fresh))
	for k, i := range fresh {
		rows[k] = clicks[i].Click
		rows[k].Partner, rows[k].At = partners[k], truncateClickAt(rows[k].At)
	}
	ids, err := store.InsertClicks(ctx, tx, program, rows)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	cmds, bodies := make([]store.Command, len(fresh)), make([][]byte, len(fresh))
	var events []Emitted
	for k, i := range fresh {
		cmds[k] = clicks[i].record(now)
		recorded := RecordedClick{Partner: partners[k], ID: ids[k]}
		if bodies[k], err = encodeResult(clicks[i].encoder(encode), recorded); err != nil {
			return err
		}
		out[i] = ClickOutcome{Reply: Reply{Body: bodies[k]}}
		if s.events.clicks {
			events = append(events, Emitted{Type: EventClickRecorded, Resource: recorded})
		}
	}
	if err := s.emit(ctx, tx, program, events...); err != nil {
		return err
	}
	n, err := store.RecordCommands(ctx, tx, program, cmds, bodies, now)
	if err == nil && n < len(fresh) {
		err = errKeyRaced
	}
	return err
}

// truncateClickAt is a click's time at the database's precision, as it is
// stored and hashed back.
func truncateClickAt(at time.Time) time.Time { return at.Truncate(time.Microsecond) }

// settleRepeatedKeys answers each click whose key an earlier click of the
// batch used, as a retry of that click would be answered: the same
// payload replays the first's outcome, another is refused.
func settleRepeatedKeys(clicks []BatchClick, out []ClickOutcome) {
	first := make(map[string]int, len(clicks))
	for i, c := range clicks {
		if c.Err != nil {
			continue
		}
		j, seen := first[c.Key]
		switch {
		case !seen:
			first[c.Key] = i
		case !bytes.Equal(clicks[j].Hash, c.Hash) && c.encode != nil:
			// A RecordClick grouped with an earlier one: refused as a
			// later call with that key would be.
			out[i] = ClickOutcome{Err: keyUsedFault(c.Key)}
		case !bytes.Equal(clicks[j].Hash, c.Hash):
			out[i] = ClickOutcome{Err: fault.AlreadyExists("idempotency_key", "key %q was used for another click earlier in this call", c.Key)}
		case out[j].Err != nil:
			out[i] = out[j]
		default:
			out[i] = ClickOutcome{Reply: Reply{Body: out[j].Body, Replayed: true}}
		}
	}
}
