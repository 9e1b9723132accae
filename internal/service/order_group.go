package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
)

// Group commit of PayOrder (issue 9): the PayOrder commands of one program
// that arrive together are paid in one transaction, in arrival order, each
// as it would run alone: its key claimed (the database's unique key keeps
// it once), its order attributed and accrued under the program's share
// lock, taken once for the batch. The responses are stored, and whatever
// else a batch appends for its commands, in one place at the end
// (writeOrderBatch). A command that fails rolls the attempt back and the
// batch runs again without it: it fails alone, with its own error, having
// written nothing, and the others commit. A serialization failure or
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
// outcome each; a fault of the whole batch (the program, the database) is
// each remaining command's outcome.
func (s *Service) payOrderGroup(ctx context.Context, program string, calls []orderCall) []orderOutcome {
	out := make([]orderOutcome, len(calls))
	dropped := make([]bool, len(calls))
	for live := len(calls); ; live-- {
		err := s.db.Run(ctx, func(tx pgx.Tx) error {
			return s.payOrders(ctx, tx, program, calls, dropped, out)
		})
		var d droppedCommand
		if errors.As(err, &d) {
			dropped[d.i], out[d.i] = true, orderOutcome{Err: d.err}
			if live > 1 {
				continue
			}
			return out
		}
		for i := range out {
			if err != nil && !dropped[i] {
				out[i] = orderOutcome{Err: err}
			}
		}
		return out
	}
}

// payOrders is one attempt of a batch in tx: every command not dropped,
// in order, then the batch's writes.
func (s *Service) payOrders(ctx context.Context, tx pgx.Tx, program string, calls []orderCall, dropped []bool, out []orderOutcome) error {
	journal, err := ledger.LockProgram(ctx, tx, program)
	if err != nil {
		return err
	}
	claimed := make(map[string]int, len(calls)) // key -> the command of the batch that claimed it
	for i, call := range calls {
		if dropped[i] {
			continue
		}
		if j, ok := claimed[call.c.Key]; ok {
			out[i] = repeatedKey(calls[j], out[j], call)
			continue
		}
		pc := PostingCommand{Program: journal.ID, Kind: affiliate.KindAccrual, At: call.in.At, Key: call.c.Key, Hash: call.c.Hash,
			Journal: journal, Recorded: s.clock.Now()}
		if out[i], err = s.payOrderOf(ctx, tx, pc, call); err != nil {
			return droppedCommand{i, err}
		}
		if out[i].Fresh {
			claimed[call.c.Key] = i
		}
	}
	return writeOrderBatch(ctx, tx, program, calls, out)
}

// payOrderOf runs one command of a batch: claims its key and pays the
// order, or answers as the key's record says (a replay, or a refusal that
// wrote nothing, in the outcome). Its response is stored by
// writeOrderBatch.
func (s *Service) payOrderOf(ctx context.Context, tx pgx.Tx, pc PostingCommand, call orderCall) (orderOutcome, error) {
	claimed, err := store.RecordCommand(ctx, tx, call.c.record(s.clock.Now()), []byte{})
	if err != nil {
		return orderOutcome{}, err
	}
	if !claimed {
		// The key was recorded (by a concurrent request this insert
		// waited for, or earlier): answer as it did.
		state, body, err := commandState(ctx, tx, call.c)
		if err == nil && state != commandDone {
			return orderOutcome{}, fmt.Errorf("service: key %q is claimed but has no record", call.c.Key)
		}
		return orderOutcome{Reply: Reply{Body: body, Replayed: true}, Err: err}, nil
	}
	view, err := s.payOrder(ctx, tx, pc, call.in)
	if err != nil {
		return orderOutcome{}, err
	}
	body, err := encodeResult(call.encode, view)
	return orderOutcome{Reply: Reply{Body: body}, Fresh: true, View: view}, err
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

// writeOrderBatch is the batch's own writes, set-based, after its commands
// ran: the responses of the commands it applied, stored under their keys.
// Whatever else is written for the batch's commands goes here, one
// statement for the batch, reading their outcomes.
func writeOrderBatch(ctx context.Context, tx pgx.Tx, program string, calls []orderCall, out []orderOutcome) error {
	var (
		keys   []string
		bodies [][]byte
	)
	for i, o := range out {
		if o.Fresh {
			keys, bodies = append(keys, calls[i].c.Key), append(bodies, o.Body)
		}
	}
	return store.SetCommandResponses(ctx, tx, program, keys, bodies)
}
