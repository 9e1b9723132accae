package service

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// PostingCommand is a command that posts, in progress (pc at call sites;
// "event" is an order's pay, refund, amend or cancel): the program as the
// journal sees it (share-locked for the command's transaction), the
// command's time and journal kind, the key and request hash that make its posting idempotent,
// and when this attempt of its transaction records the posting
// (ledger.Posting.Recorded).
type PostingCommand struct {
	Program  string
	Kind     string
	At       time.Time
	Key      string
	Hash     []byte
	Journal  *ledger.Program
	Recorded time.Time
	// posted counts the journal transactions this attempt posted, for the
	// service's Observer.
	posted *int
}

// ExecPosting is Exec for a command that posts to the journal at `at`
// (already validated by the caller). Inside the transaction it takes the
// program's share lock first, so a period close cannot move the open period
// between choosing this posting's booking period and committing it. kind
// is the journal kind of its posting.
func ExecPosting[T any](ctx context.Context, s *Service, c Command, at time.Time, kind string, encode Encode[T], fn func(tx pgx.Tx, pc PostingCommand) (T, error)) (Reply, error) {
	return s.inTx(ctx, c, func(tx pgx.Tx) (Reply, error) { return execPostingIn(ctx, tx, s, c, at, kind, encode, fn) })
}

// inTx runs one command's op, checked first, in one retried transaction,
// and tells the observer what it posted once it has committed (a replay
// posted nothing).
func (s *Service) inTx(ctx context.Context, c Command, op func(tx pgx.Tx) (Reply, error)) (Reply, error) {
	if err := c.check(); err != nil {
		return Reply{}, err
	}
	var reply Reply
	err := s.db.Run(ctx, func(tx pgx.Tx) error {
		var err error
		reply, err = op(tx)
		return err
	})
	if err == nil && !reply.Replayed && reply.posted > 0 {
		s.observer.Posted(reply.kind, reply.posted)
	}
	return reply, err
}

// execPostingIn is ExecPosting's body in the caller's transaction tx; the
// reply counts the postings it wrote.
func execPostingIn[T any](ctx context.Context, tx pgx.Tx, s *Service, c Command, at time.Time, kind string, encode Encode[T],
	fn func(tx pgx.Tx, pc PostingCommand) (T, error)) (Reply, error) {
	posted := 0
	reply, err := execIn(ctx, tx, s, c, encode, func(tx pgx.Tx) (T, error) {
		journal, err := ledger.LockProgram(ctx, tx, c.Program)
		if err != nil {
			var zero T
			return zero, err
		}
		return fn(tx, PostingCommand{Program: journal.ID, Kind: kind, At: at, Key: c.Key, Hash: c.Hash, Journal: journal, Recorded: s.clock.Now(), posted: &posted})
	})
	reply.kind, reply.posted = kind, posted
	return reply, err
}

// Post writes legs as the command's journal transaction: keyed "cmd:" +
// the command's key (so the command's idempotency covers it), booked in
// the period its time falls in, or the open one.
func (pc PostingCommand) Post(ctx context.Context, tx pgx.Tx, refs, meta map[string]string, legs []ledger.Leg) (ledger.Transaction, error) {
	t, replayed, err := ledger.Post(ctx, tx, ledger.Posting{
		Program: pc.Program, Key: "cmd:" + pc.Key, Kind: pc.Kind, At: pc.At, Period: pc.Journal.BookingPeriod(pc.At),
		Refs: refs, Metadata: meta, Legs: legs, RequestHash: pc.Hash, Recorded: pc.Recorded,
	})
	if err == nil && replayed {
		// The command's key was just claimed, so the journal cannot hold its
		// posting already; if it does, the two disagree: stop.
		return ledger.Transaction{}, fmt.Errorf("service: the journal already holds the posting of key %q", pc.Key)
	}
	if err == nil && pc.posted != nil {
		*pc.posted++
	}
	return t, err
}
