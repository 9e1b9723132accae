package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/internal/txn"
)

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
	fault.CodeInvalidArgument:    connect.CodeInvalidArgument,
	fault.CodeNotFound:           connect.CodeNotFound,
	fault.CodeAlreadyExists:      connect.CodeAlreadyExists,
	fault.CodeFailedPrecondition: connect.CodeFailedPrecondition,
	fault.CodeAborted:            connect.CodeAborted,
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
	if txn.Unavailable(err) {
		s.log.Warn("database unavailable", "procedure", procedure, "err", err)
		return connect.NewError(connect.CodeUnavailable, errUnavailable)
	}
	if txn.Retryable(err) { // retries exhausted: a serialization failure or deadlock
		return connect.NewError(connect.CodeAborted, errors.New("too much contention; retry the request"))
	}
	s.log.Error("internal error", "procedure", procedure, "err", err)
	return connect.NewError(connect.CodeInternal, errors.New("internal error"))
}

// postingCommand is a write request that may post to the journal.
type postingCommand interface {
	command
	GetAt() *timestamppb.Timestamp
}
