package server

import (
	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/service"
)

// UseOuterInterceptors sets interceptors that run before all others, the
// strict decoding check included, so that they see every call, refused or
// not: the request log and the RPC metrics. They must not read a
// request's fields beyond its program (its body may not have decoded).
// Call it before Handler.
func (s *Server) UseOuterInterceptors(interceptors ...connect.Interceptor) {
	s.outer = interceptors
}

// Observe tells o what the service commits: postings and period closes
// (service.Observer; the metrics). Call it before serving.
func (s *Server) Observe(o service.Observer) { s.svc.ObserveWith(o) }
