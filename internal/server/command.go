package server

import (
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
	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/ledger"
)

// querier is a pgx.Tx or a pool.
type querier = ledger.Querier

// MaxKeyLen bounds idempotency keys.
const MaxKeyLen = service.KeyLenMax

// CommandRetention is how long an idempotency record keeps its response
// (service.CommandRetention).
const CommandRetention = service.CommandRetention

// command is a write request: it names its program and idempotency key.
type command interface {
	proto.Message
	GetProgram() string
	GetIdempotencyKey() string
}

// commandOf names req for the service: its program, key, method and
// request hash.
func commandOf(req command) service.Command {
	return service.Command{
		Program: req.GetProgram(), Key: req.GetIdempotencyKey(),
		Method: string(req.ProtoReflect().Descriptor().FullName()), Hash: requestHash(req),
	}
}

// encodeProto is the service.Encode of a response: the bytes stored under
// a command's key, replayed byte for byte.
func encodeProto(resp proto.Message) ([]byte, error) { return proto.Marshal(resp) }

// replyTo decodes a service.Reply into resp when it is a replay (a fresh
// resp is the one its handler filled).
func replyTo(reply service.Reply, resp proto.Message) (bool, error) {
	if !reply.Replayed {
		return false, nil
	}
	return true, proto.Unmarshal(reply.Body, resp)
}

// exec runs one write command through service.Exec: fn fills resp, which
// is stored as the command's response; a replay decodes the stored one
// into resp and reports true.
//
// Temporary (issue 8): handlers not yet moved to internal/service use it;
// a moved handler calls service.Exec through its use case instead.
func (s *Server) exec(ctx context.Context, req command, resp proto.Message, fn func(tx pgx.Tx, hash []byte) error) (bool, error) {
	c := commandOf(req)
	reply, err := service.Exec(ctx, s.svc, c, func(proto.Message) ([]byte, error) { return encodeProto(resp) },
		func(tx pgx.Tx) (proto.Message, error) { return resp, fn(tx, c.Hash) })
	if err != nil {
		return false, err
	}
	return replyTo(reply, resp)
}

// execIdempotent is exec through service.ExecIdempotent, for a command
// that runs many transactions of its own (a period close). Temporary, as
// exec.
func (s *Server) execIdempotent(ctx context.Context, req command, resp proto.Message, fn func() error) (bool, error) {
	reply, err := service.ExecIdempotent(ctx, s.svc, commandOf(req), func(proto.Message) ([]byte, error) { return encodeProto(resp) },
		func() (proto.Message, error) { return resp, fn() })
	if err != nil {
		return false, err
	}
	return replyTo(reply, resp)
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
