package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// Command is an idempotency record as written: the program and key it is
// recorded under, the method (the request's full protobuf name), the
// request hash, and when it was created (the caller's clock; the
// database's when zero), which its expiry compares with.
type Command struct {
	Program, Key, Method string
	Hash                 []byte
	At                   time.Time
}

// StoredCommand is an idempotency record as read.
type StoredCommand struct {
	Hash     []byte
	Response []byte
	Expired  bool
	Running  bool
}

// RecordCommand records c with a response body: empty while a one-
// transaction command runs (its response is set before commit); nil for a
// long command's claim, which is marked running until FinishCommand. It
// reports false, writing nothing, when the key is recorded already.
func RecordCommand(ctx context.Context, q ledger.Querier, c Command, body []byte) (bool, error) {
	var at *time.Time
	if !c.At.IsZero() {
		at = &c.At
	}
	tag, err := q.Exec(ctx, `INSERT INTO commands (program_id, idempotency_key, method, request_hash, response, running, created_at)
		VALUES ($1, $2, $3, $4, COALESCE($5, ''::bytea), $6, COALESCE($7, now())) ON CONFLICT DO NOTHING`,
		c.Program, c.Key, c.Method, c.Hash, body, body == nil, at)
	if err != nil {
		return false, fmt.Errorf("store: recording key %q: %w", c.Key, err)
	}
	return tag.RowsAffected() == 1, nil
}

// LoadCommand reads the record of key; found is false when there is none.
func LoadCommand(ctx context.Context, q ledger.Querier, program, key string) (c StoredCommand, found bool, err error) {
	err = q.QueryRow(ctx, `SELECT request_hash, response, expired, running FROM commands WHERE program_id = $1 AND idempotency_key = $2`,
		program, key).Scan(&c.Hash, &c.Response, &c.Expired, &c.Running)
	if errors.Is(err, pgx.ErrNoRows) {
		return StoredCommand{}, false, nil
	}
	if err != nil {
		return StoredCommand{}, false, fmt.Errorf("store: reading key %q: %w", key, err)
	}
	return c, true, nil
}

// SetCommandResponse stores the response of a command recorded in the
// same transaction.
func SetCommandResponse(ctx context.Context, q ledger.Querier, program, key string, body []byte) error {
	if _, err := q.Exec(ctx, `UPDATE commands SET response = $3 WHERE program_id = $1 AND idempotency_key = $2`,
		program, key, body); err != nil {
		return fmt.Errorf("store: storing the response of key %q: %w", key, err)
	}
	return nil
}

// SetCommandResponses is SetCommandResponse of many keys (keys[i]'s
// response bodies[i]) in one statement.
func SetCommandResponses(ctx context.Context, q ledger.Querier, program string, keys []string, bodies [][]byte) error {
	if len(keys) == 0 {
		return nil
	}
	if _, err := q.Exec(ctx, setCommandResponsesSQL, program, keys, bodies); err != nil {
		return fmt.Errorf("store: storing the responses of %d keys: %w", len(keys), err)
	}
	return nil
}

// The keys are index conditions (= ANY) and each row finds its body by
// position, with no join the planner could hash over the whole program's
// commands while its statistics are young.
const setCommandResponsesSQL = `UPDATE commands SET response = ($3::bytea[])[array_position($2::text[], idempotency_key)]
	WHERE program_id = $1 AND idempotency_key = ANY($2::text[])`

// FinishCommand stores the response of a running command and marks it
// done. It reports false, writing nothing, when the command is no longer
// running (a concurrent run finished first).
func FinishCommand(ctx context.Context, q ledger.Querier, program, key string, body []byte) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE commands SET response = $3, running = false
		WHERE program_id = $1 AND idempotency_key = $2 AND running`, program, key, body)
	if err != nil {
		return false, fmt.Errorf("store: storing the response of key %q: %w", key, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ExpireCommands drops the response bodies of at most limit records, the
// oldest, created before cutoff (on the clock their Command.At was read from),
// marks them expired, and returns how many it expired. The key and
// request hash stay, so a late retry is refused instead of run a second
// time. It reads the records in the order of commands_unexpired, which
// holds only those not expired yet: its cost does not grow with the
// records expired before, and no plan reads the table whole (a scan that
// stops at the limit would still walk every expired row before it).
func ExpireCommands(ctx context.Context, q ledger.Querier, cutoff time.Time, limit int) (int, error) {
	tag, err := q.Exec(ctx, expireCommandsSQL, cutoff, limit)
	if err != nil {
		return 0, fmt.Errorf("store: expiring idempotency records: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// expireCommandsSQL is ExpireCommands' statement.
const expireCommandsSQL = `UPDATE commands SET response = ''::bytea, expired = true
	WHERE (program_id, idempotency_key) IN (
		SELECT program_id, idempotency_key FROM commands
		WHERE NOT expired AND created_at < $1 ORDER BY created_at LIMIT $2)`
