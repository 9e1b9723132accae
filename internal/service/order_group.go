package service

import (
	"bytes"
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/affiliate"
)

// Group commit of PayOrder (issue 9): the PayOrder commands of one program
// that arrive together are paid in one transaction, in arrival order, each
// as it would run alone: its key claimed (the database's unique key keeps
// it once), its order attributed and accrued under the program's share
// lock, taken once for the batch. Each step reads or writes for all the
// batch's orders at once (order_batch.go): versions, keys, order rows,
// partners, volumes and uplines are read in a few statements, the
// decisions are pure, and the writes happen in one place at the end
// (writeOrderBatch): the postings through ledger.PostBatch, then order
// rows, events and responses in one round trip. A command that fails after
// its key was claimed rolls the attempt back and the batch runs again
// without it: it fails alone, with its own error, having written nothing,
// and the others commit. A serialization failure or
// deadlock restarts the whole batch through internal/txn, each command
// applied once by the attempt that commits.

// orderGroupSize bounds the orders of one batch.
const orderGroupSize = 64

// orderCall is one PayOrder of a batch.
type orderCall struct {
	c      Command
	in     PayOrderInput
	encode Encode[OrderView]
}

// orderOutcome is one PayOrder's result: its reply, or Err when it was
// refused. Fresh is set when this batch applied it (not a replay); View is
// then the order as the command left it, what the batch's own writes (an
// event of the command, say) read.
type orderOutcome struct {
	Reply
	Fresh bool
	View  OrderView
	Err   error
}

// droppedCommand is the failure of the command at index i of a batch: the
// attempt is rolled back and the batch runs again without it. It unwraps
// to the command's error, so internal/txn still restarts the batch on a
// serialization failure or deadlock.
type droppedCommand struct {
	i   int
	err error
}

func (d droppedCommand) Error() string { return d.err.Error() }
func (d droppedCommand) Unwrap() error { return d.err }

// payOrderGroup pays a batch of PayOrder commands of one program, one
// outcome each. A command's own failure drops it and the batch runs again
// without it; a failure no command can be blamed for alone (a posting the
// journal refuses, the database) runs each command in a batch of its own,
// so it is the outcome of the commands it is theirs.
func (s *Service) payOrderGroup(ctx context.Context, program string, calls []orderCall) []orderOutcome {
	out := make([]orderOutcome, len(calls))
	dropped := make([]bool, len(calls))
	for live, raced := len(calls), 0; ; live-- {
		var wrote batchWrote
		err := s.db.Run(ctx, func(tx pgx.Tx) error {
			return s.payOrders(ctx, tx, program, calls, dropped, out, &wrote)
		})
		if errors.Is(err, errKeyRaced) && raced < raceRetriesMax {
			// A key was recorded by a concurrent request meanwhile: the
			// next run replays it (claimOrders).
			raced, live = raced+1, live+1
			continue
		}
		if err == nil {
			s.accounts.Remember(wrote.accounts) // committed: they exist
			if wrote.postings > 0 {
				s.observer.Posted(affiliate.KindAccrual, wrote.postings)
			}
		}
		var d droppedCommand
		switch {
		case errors.As(err, &d):
			dropped[d.i], out[d.i] = true, orderOutcome{Err: d.err}
			if live > 1 {
				continue
			}
		case err != nil && live > 1:
			for i := range calls {
				if !dropped[i] {
					out[i] = s.payOrderGroup(ctx, program, calls[i:i+1])[0]
				}
			}
		case err != nil:
			for i := range out {
				if !dropped[i] {
					out[i] = orderOutcome{Err: err}
				}
			}
		}
		return out
	}
}

// repeatedKey answers a command whose key an earlier command of the batch
// claimed, as a later call with that key would be answered: the same
// payload replays the first's response, another is refused.
func repeatedKey(first orderCall, firstOut orderOutcome, call orderCall) orderOutcome {
	if !bytes.Equal(first.c.Hash, call.c.Hash) {
		return orderOutcome{Err: keyUsedFault(call.c.Key)}
	}
	return orderOutcome{Reply: Reply{Body: firstOut.Body, Replayed: true}}
}
