package server

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
)

// Readiness: accrued can serve when its database answers. The schema is
// migrated before a Server exists (database.Open), so a reachable database
// is a ready one.
const (
	// pingTimeout bounds one readiness probe of the database.
	pingTimeout = time.Second
	// readinessTTL is how long a probe's answer is reused, so that probes
	// from many checkers cost the database one ping a second.
	readinessTTL = time.Second
)

// readiness pings the database, at most once per readinessTTL.
type readiness struct {
	ping func(context.Context) error
	mu   sync.Mutex
	at   time.Time // of the last probe; zero before the first
	err  error
}

// ready returns nil when the database answered a ping within the last
// readinessTTL, else why not.
func (r *readiness) ready(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.at.IsZero() && time.Since(r.at) < readinessTTL {
		return r.err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pingTimeout)
	defer cancel()
	r.err = r.ping(ctx)
	r.at = time.Now()
	return r.err
}

// healthChecker answers grpc.health.v1 for the whole server ("") and for
// each named service: SERVING while the database is reachable, else
// NOT_SERVING.
type healthChecker struct {
	services []string
	ready    *readiness
}

// Check implements grpchealth.Checker.
func (c *healthChecker) Check(ctx context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	if req.Service != "" && !slices.Contains(c.services, req.Service) {
		return nil, connect.NewError(connect.CodeNotFound, nil)
	}
	if c.ready.ready(ctx) != nil {
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

// livez answers 200 while the process serves HTTP: Kubernetes restarts a
// process that fails it, so it does not depend on the database.
func livez(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz answers 200 while the database is reachable, else 503: Kubernetes
// sends no traffic to a process that fails it.
func (r *readiness) readyz(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := r.ready(req.Context()); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("database unreachable\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}
