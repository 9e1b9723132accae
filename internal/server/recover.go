package server

import (
	"context"
	"errors"
	"net/http"
	"runtime/debug"

	"connectrpc.com/connect"
)

// recovered answers a handler's panic with internal, logging the procedure,
// the panic and its stack; the client learns nothing of it. Panics counts
// them (a fuzz test asserts there are none).
func (s *Server) recovered(_ context.Context, spec connect.Spec, _ http.Header, p any) error {
	s.panics.Add(1)
	s.log.Error("panic in handler", "procedure", spec.Procedure, "panic", p, "stack", string(debug.Stack()))
	return connect.NewError(connect.CodeInternal, errors.New("internal error"))
}

// Panics returns how many handler panics this Server recovered.
func (s *Server) Panics() int64 { return s.panics.Load() }
