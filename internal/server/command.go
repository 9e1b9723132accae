package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/ledger"
)

// querier is a pgx.Tx or a pool.
type querier = ledger.Querier

// MaxKeyLen bounds idempotency keys.
const MaxKeyLen = ledger.MaxKeyLen

// command is a write request: it names its program and idempotency key.
type command interface {
	proto.Message
	GetProgram() string
	GetIdempotencyKey() string
}

// exec runs one write command in a retried transaction, exactly once per
// idempotency key: the same key and payload returns the stored response (and
// replayed = true) without running fn; the same key with another payload
// fails AlreadyExists. The payload is the request without its key and `at`.
// fn fills resp; on any error nothing is written.
func (s *Server) exec(ctx context.Context, req command, resp proto.Message, fn func(tx pgx.Tx, hash []byte) error) (bool, error) {
	key := req.GetIdempotencyKey()
	if err := checkKey(key); err != nil {
		return false, err
	}
	if req.GetProgram() == "" {
		return false, fault.Invalid("program", "required")
	}
	hash := requestHash(req)
	replayed := false
	err := s.db.Run(ctx, func(tx pgx.Tx) error {
		replayed = false
		claimed, err := recordCommand(ctx, tx, req, hash, []byte{})
		if err != nil {
			return err
		}
		if !claimed {
			// The key was recorded (by a concurrent request this insert
			// waited for, or earlier): answer as it did.
			found, err := storedResponse(ctx, tx, req.GetProgram(), key, hash, resp)
			if err == nil && !found {
				err = fmt.Errorf("server: key %q is claimed but has no record", key)
			}
			replayed = found
			return err
		}
		if err := fn(tx, hash); err != nil {
			return err
		}
		body, err := proto.Marshal(resp)
		if err != nil {
			return fmt.Errorf("server: encoding response: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE commands SET response = $3 WHERE program_id = $1 AND idempotency_key = $2`,
			req.GetProgram(), key, body); err != nil {
			return fmt.Errorf("server: storing the response of key %q: %w", key, err)
		}
		return nil
	})
	return replayed, err
}

// execIdempotent is exec for a command that runs many transactions of its
// own and is idempotent by construction (a period close). The key is
// claimed first, in a transaction of its own: recorded with the request
// hash and marked running. The same key with another payload then fails
// AlreadyExists at once, having done nothing. The same key and payload
// replays the stored response once the command is done; while the key is
// marked running (the command is in progress elsewhere, or its process
// died) fn runs again, resuming the work, and the first response stored is
// the answer.
func (s *Server) execIdempotent(ctx context.Context, req command, resp proto.Message, fn func() error) (bool, error) {
	key := req.GetIdempotencyKey()
	if err := checkKey(key); err != nil {
		return false, err
	}
	hash := requestHash(req)
	if _, err := recordCommand(ctx, s.db.Pool, req, hash, nil); err != nil {
		return false, err
	}
	state, err := commandState(ctx, s.db.Pool, req.GetProgram(), key, hash, resp)
	if err != nil || state == commandDone {
		return state == commandDone, err
	}
	if err := fn(); err != nil {
		return false, err
	}
	body, err := proto.Marshal(resp)
	if err != nil {
		return false, fmt.Errorf("server: encoding response: %w", err)
	}
	tag, err := s.db.Pool.Exec(ctx, `UPDATE commands SET response = $3, running = false
		WHERE program_id = $1 AND idempotency_key = $2 AND running`, req.GetProgram(), key, body)
	if err != nil {
		return false, fmt.Errorf("server: storing the response of key %q: %w", key, err)
	}
	if tag.RowsAffected() == 0 {
		// A concurrent run finished first; answer as it did.
		return storedResponse(ctx, s.db.Pool, req.GetProgram(), key, hash, resp)
	}
	return false, nil
}

// checkKey validates an idempotency key.
func checkKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fault.Invalid("idempotency_key", "required, at most %d characters", MaxKeyLen)
	}
	return nil
}

// recordCommand records req's idempotency key with its request hash and
// response body: empty while exec's command runs, filled in after; nil for
// execIdempotent's claim, marked running until it is done. It reports
// false, writing nothing, when the key is recorded already.
func recordCommand(ctx context.Context, q querier, req command, hash, body []byte) (bool, error) {
	method := string(req.ProtoReflect().Descriptor().FullName())
	tag, err := q.Exec(ctx, `INSERT INTO commands (program_id, idempotency_key, method, request_hash, response, running)
		VALUES ($1, $2, $3, $4, COALESCE($5, ''::bytea), $6) ON CONFLICT DO NOTHING`,
		req.GetProgram(), req.GetIdempotencyKey(), method, hash, body, body == nil)
	if err != nil {
		return false, fmt.Errorf("server: recording key %q: %w", req.GetIdempotencyKey(), err)
	}
	return tag.RowsAffected() == 1, nil
}

// A recorded key's state, as commandState reads it.
const (
	commandAbsent  = iota // not recorded
	commandRunning        // claimed by execIdempotent, not done
	commandDone           // done: its response is stored
)

// storedResponse loads the response recorded for key, if any; see
// commandState.
func storedResponse(ctx context.Context, q querier, program, key string, hash []byte, resp proto.Message) (bool, error) {
	state, err := commandState(ctx, q, program, key, hash, resp)
	return state == commandDone, err
}

// commandState reads what is recorded for key and, when the command is
// done, loads its response into resp. A key recorded with another request
// hash is refused, and so is a key past CommandRetention whatever the
// payload: its response is gone, and running the command again could
// repeat its effects.
func commandState(ctx context.Context, q querier, program, key string, hash []byte, resp proto.Message) (int, error) {
	var (
		stored, body     []byte
		expired, running bool
	)
	err := q.QueryRow(ctx, `SELECT request_hash, response, expired, running FROM commands WHERE program_id = $1 AND idempotency_key = $2`,
		program, key).Scan(&stored, &body, &expired, &running)
	if errors.Is(err, pgx.ErrNoRows) {
		return commandAbsent, nil
	}
	if err != nil {
		return commandAbsent, fmt.Errorf("server: reading key %q: %w", key, err)
	}
	if expired {
		return commandAbsent, fault.Exists("idempotency_key", "key %q was used more than %d days ago and has expired; use a new key",
			key, int(CommandRetention.Hours()/24))
	}
	if !bytes.Equal(stored, hash) {
		return commandAbsent, fault.Exists("idempotency_key", "key %q was used for another request", key)
	}
	if running {
		return commandRunning, nil
	}
	return commandDone, proto.Unmarshal(body, resp)
}

// requestHash is SHA-256 of the deterministic encoding of req without its
// idempotency key and time.
func requestHash(req proto.Message) []byte {
	c := proto.Clone(req)
	m := c.ProtoReflect()
	for _, name := range []protoreflect.Name{"idempotency_key", "at"} {
		if f := m.Descriptor().Fields().ByName(name); f != nil {
			m.Clear(f)
		}
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("server: hashing request: %v", err))
	}
	sum := sha256.Sum256(append([]byte(m.Descriptor().FullName()), b...))
	return sum[:]
}

// at returns the event time of a write command (eventTime, times.go).
func (s *Server) at(ts *timestamppb.Timestamp) (time.Time, error) {
	return s.eventTime(ts)
}

func stamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// errorInterceptor turns domain faults into Connect errors and hides
// internal ones behind a logged, generic message.
func (s *Server) errorInterceptor() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			resp, err := next(ctx, req)
			if err == nil {
				return resp, nil
			}
			return nil, s.connectError(req.Spec().Procedure, err)
		}
	}
}

var connectCodes = map[fault.Code]connect.Code{
	fault.InvalidArgument:    connect.CodeInvalidArgument,
	fault.NotFound:           connect.CodeNotFound,
	fault.AlreadyExists:      connect.CodeAlreadyExists,
	fault.FailedPrecondition: connect.CodeFailedPrecondition,
	fault.Unimplemented:      connect.CodeUnimplemented,
	fault.Aborted:            connect.CodeAborted,
}

func (s *Server) connectError(procedure string, err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return err
	}
	var f *fault.Error
	if errors.As(err, &f) {
		if code, ok := connectCodes[f.Code]; ok {
			return faultError(code, f)
		}
	}
	if errors.Is(err, context.Canceled) {
		return connect.NewError(connect.CodeCanceled, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	}
	if databaseUnavailable(err) {
		s.log.Warn("database unavailable", "procedure", procedure, "err", err)
		return connect.NewError(connect.CodeUnavailable, errUnavailable)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01") {
		return connect.NewError(connect.CodeAborted, errors.New("too much contention; retry the request"))
	}
	s.log.Error("internal error", "procedure", procedure, "err", err)
	return connect.NewError(connect.CodeInternal, errors.New("internal error"))
}

// event is a posting command in progress: the program as the journal sees
// it (share-locked), the command's time and journal kind, and the key and
// request hash that make its posting idempotent.
type event struct {
	program string
	kind    string
	at      time.Time
	key     string
	hash    []byte
	journal *ledger.Program
}

// postingCommand is a write request that may post to the journal.
type postingCommand interface {
	command
	GetAt() *timestamppb.Timestamp
}

// execPosting is exec for a command that posts: it reads the request's
// time and, inside the transaction, takes the program's share lock, so a
// period close cannot move the open period between choosing this posting's
// booking period and committing it. kind is the journal kind of its posting.
func (s *Server) execPosting(ctx context.Context, req postingCommand, kind string, resp proto.Message, fn func(tx pgx.Tx, ev event) error) (bool, error) {
	at, err := s.at(req.GetAt())
	if err != nil {
		return false, err
	}
	return s.exec(ctx, req, resp, func(tx pgx.Tx, hash []byte) error {
		journal, err := ledger.LockProgram(ctx, tx, req.GetProgram())
		if err != nil {
			return err
		}
		return fn(tx, event{program: journal.ID, kind: kind, at: at, key: req.GetIdempotencyKey(), hash: hash, journal: journal})
	})
}

// post writes legs as the event's journal transaction: keyed "cmd:" + the
// command's key (so the command's idempotency covers it), booked in the
// period the event falls in, or the open one.
func (ev event) post(ctx context.Context, tx pgx.Tx, refs, meta map[string]string, legs []ledger.Leg) (ledger.Transaction, error) {
	t, replayed, err := ledger.Post(ctx, tx, ledger.Posting{
		Program: ev.program, Key: "cmd:" + ev.key, Kind: ev.kind, At: ev.at, Period: ev.journal.BookingPeriod(ev.at),
		Refs: refs, Metadata: meta, Legs: legs, RequestHash: ev.hash,
	})
	if err == nil && replayed {
		// The command's key was just claimed, so the journal cannot hold its
		// posting already; if it does, the two disagree: stop.
		return ledger.Transaction{}, fmt.Errorf("server: the journal already holds the posting of key %q", ev.key)
	}
	return t, err
}
