package service

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
)

// CommandRetention is how long a write command's idempotency record keeps
// its response: a retry with the same key within it replays the first
// response; after it, the key is refused (already_exists). Far longer than
// any client retries.
const CommandRetention = 90 * 24 * time.Hour

// KeyLenMax bounds idempotency keys.
const KeyLenMax = ledger.KeyLenMax

// expireBatch bounds how many idempotency records one statement of
// expiry expires.
const expireBatch = 10000

// expireBudget bounds how long one run of expiry goes on, a batch after
// another, before it leaves the rest to the next run: long enough to keep
// up with far more keys a minute than one batch, short enough that the
// scheduler's other jobs are not held back.
const expireBudget = 20 * time.Second

// Command names one write command: its program and idempotency key, its
// method (the request's full protobuf name) and the hash of its payload
// (computed by the caller, which knows the wire form).
type Command struct {
	Program, Key, Method string
	Hash                 []byte
}

// Reply is a command's encoded response: the one just stored, or, when
// Replayed, the one stored by the first run of its key.
type Reply struct {
	Body     []byte
	Replayed bool

	// kind and posted count the journal postings the command wrote, for
	// the observer once it commits.
	kind   string
	posted int
}

// Encode turns a use case's result into the response bytes stored under
// its key; the caller supplies it (it owns the wire form).
type Encode[T any] func(T) ([]byte, error)

// record is c's idempotency record, created at `at` (the service's clock,
// so that expiry, which reads the same clock, can be simulated).
func (c Command) record(at time.Time) store.Command {
	return store.Command{Program: c.Program, Key: c.Key, Method: c.Method, Hash: c.Hash, At: at}
}

// CheckKey validates an idempotency key.
func CheckKey(key string) error {
	if key == "" || len(key) > KeyLenMax {
		return fault.InvalidArgument("idempotency_key", "required, at most %d characters", KeyLenMax)
	}
	return nil
}

// check validates the command's key and program.
func (c Command) check() error {
	if err := CheckKey(c.Key); err != nil {
		return err
	}
	if c.Program == "" {
		return fault.InvalidArgument("program", "required")
	}
	return nil
}

// Exec runs fn in one retried transaction, exactly once per idempotency
// key: the same key and payload replays the stored response without
// running fn; the same key with another payload fails AlreadyExists. fn's
// result is encoded and stored in the same transaction; on any error
// nothing is written.
func Exec[T any](ctx context.Context, s *Service, c Command, encode Encode[T], fn func(tx pgx.Tx) (T, error)) (Reply, error) {
	return s.inTx(ctx, c, func(tx pgx.Tx) (Reply, error) { return execIn(ctx, tx, s, c, encode, fn) })
}

// execIn is Exec's body in tx, the transaction of the caller (Exec's own,
// or an import's holding many commands): claim the key, run fn, store its
// encoded result; a claimed key answers its stored response.
func execIn[T any](ctx context.Context, tx pgx.Tx, s *Service, c Command, encode Encode[T], fn func(tx pgx.Tx) (T, error)) (Reply, error) {
	claimed, err := store.RecordCommand(ctx, tx, c.record(s.clock.Now()), []byte{})
	if err != nil {
		return Reply{}, err
	}
	if !claimed {
		// The key was recorded (by a concurrent request this insert
		// waited for, or earlier): answer as it did.
		state, body, err := commandState(ctx, tx, c)
		if err == nil && state != commandDone {
			err = fmt.Errorf("service: key %q is claimed but has no record", c.Key)
		}
		return Reply{Body: body, Replayed: true}, err
	}
	result, err := fn(tx)
	if err != nil {
		return Reply{}, err
	}
	body, err := encodeResult(encode, result)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Body: body}, store.SetCommandResponse(ctx, tx, c.Program, c.Key, body)
}

// ExecIdempotent is Exec for a command that runs many transactions of its
// own and is idempotent by construction (a period close). The key is
// claimed first, in a transaction of its own: recorded with the request
// hash and marked running. The same key with another payload then fails
// AlreadyExists at once, having done nothing. The same key and payload
// replays the stored response once the command is done. While the key is
// marked running and busy reports the work live in another run, the call
// waits for that run (polling every idempotentPoll, bounded by ctx) and
// answers its response; when no run is live (its process died) fn runs
// again, resuming the work, and the first response stored is the answer.
// fn runs on ctx without its cancellation (a client that goes away does
// not stop the work); an Aborted from fn (another run took the work) is
// waited out the same way.
func ExecIdempotent[T any](ctx context.Context, s *Service, c Command, encode Encode[T], busy func(context.Context) (bool, error), fn func(context.Context) (T, error)) (Reply, error) {
	if err := CheckKey(c.Key); err != nil {
		return Reply{}, err
	}
	if _, err := store.RecordCommand(ctx, s.db.Pool, c.record(s.clock.Now()), nil); err != nil {
		return Reply{}, err
	}
	for {
		state, body, err := commandState(ctx, s.db.Pool, c)
		if err != nil || state == commandDone {
			return Reply{Body: body, Replayed: state == commandDone}, err
		}
		live, err := busy(ctx)
		if err != nil {
			return Reply{}, err
		}
		if !live {
			reply, err := runIdempotent(context.WithoutCancel(ctx), s, c, encode, fn)
			if err == nil || fault.CodeOf(err) != fault.CodeAborted {
				return reply, err
			}
		}
		if err := txn.Sleep(ctx, idempotentPoll); err != nil {
			return Reply{}, fmt.Errorf("service: waiting for the command of key %q: %w", c.Key, err)
		}
	}
}

// idempotentPoll is how often a call waiting for the same key's command in
// another run looks again.
const idempotentPoll = 150 * time.Millisecond

// runIdempotent runs fn for ExecIdempotent and stores its response.
func runIdempotent[T any](ctx context.Context, s *Service, c Command, encode Encode[T], fn func(context.Context) (T, error)) (Reply, error) {
	result, err := fn(ctx)
	if err != nil {
		return Reply{}, err
	}
	body, err := encodeResult(encode, result)
	if err != nil {
		return Reply{}, err
	}
	finished, err := store.FinishCommand(ctx, s.db.Pool, c.Program, c.Key, body)
	if err != nil {
		return Reply{}, err
	}
	if !finished {
		// A concurrent run finished first; answer as it did.
		state, body, err := commandState(ctx, s.db.Pool, c)
		return Reply{Body: body, Replayed: state == commandDone}, err
	}
	return Reply{Body: body}, nil
}

func encodeResult[T any](encode Encode[T], result T) ([]byte, error) {
	body, err := encode(result)
	if err != nil {
		return nil, fmt.Errorf("service: encoding response: %w", err)
	}
	return body, nil
}

// A recorded key's state, as commandState reads it.
const (
	commandAbsent  = iota // not recorded
	commandRunning        // claimed by ExecIdempotent, not done
	commandDone           // done: its response is stored
)

// commandState reads what is recorded for c's key and, when the command
// is done, its response. A key recorded with another request hash is
// refused, and so is a key past CommandRetention whatever the payload: its
// response is gone, and running the command again could repeat its
// effects.
func commandState(ctx context.Context, q ledger.Querier, c Command) (int, []byte, error) {
	rec, found, err := store.LoadCommand(ctx, q, c.Program, c.Key)
	if err != nil || !found {
		return commandAbsent, nil, err
	}
	return recordState(rec, c)
}

// recordState is commandState of the record rec read for c's key.
func recordState(rec store.StoredCommand, c Command) (int, []byte, error) {
	if rec.Expired {
		return commandAbsent, nil, fault.AlreadyExists("idempotency_key", "key %q was used more than %d days ago and has expired; use a new key",
			c.Key, int(CommandRetention.Hours()/24))
	}
	if !bytes.Equal(rec.Hash, c.Hash) {
		return commandAbsent, nil, keyUsedFault(c.Key)
	}
	if rec.Running {
		return commandRunning, nil, nil
	}
	return commandDone, rec.Response, nil
}

// keyUsedFault refuses a key recorded for another request.
func keyUsedFault(key string) error {
	return fault.AlreadyExists("idempotency_key", "key %q was used for another request", key)
}

// ExpireCommands expires the idempotency records older than
// CommandRetention by the service's clock (store.ExpireCommands), a batch
// at a time until none is left or expireBudget has passed, and returns
// how many it expired.
func (s *Service) ExpireCommands(ctx context.Context) (int, error) {
	cutoff := s.clock.Now().Add(-CommandRetention)
	deadline := time.Now().Add(expireBudget)
	total := 0
	for {
		n, err := store.ExpireCommands(ctx, s.db.Pool, cutoff, expireBatch)
		total += n
		if err != nil || n < expireBatch || time.Now().After(deadline) {
			return total, err
		}
	}
}
