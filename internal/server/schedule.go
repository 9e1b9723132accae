package server

import (
	"context"
	"time"
)

// RunDueCloses closes the periods the programs' statements schedules made
// due by now (service.RunDueCloses); a replay calls it before each step.
func (s *Server) RunDueCloses(ctx context.Context, now time.Time) error {
	return s.svc.RunDueCloses(ctx, now)
}

// RunScheduled runs every scheduled job due at now (service.RunScheduled):
// the statement closes, sealing, and expiring idempotency records.
func (s *Server) RunScheduled(ctx context.Context, now time.Time) error {
	return s.svc.RunScheduled(ctx, now)
}

// Snapshot advances the as-of snapshots (service.Snapshot); the scheduler
// calls it five times a second, a replay before each step.
func (s *Server) Snapshot(ctx context.Context) error {
	_, err := s.svc.Snapshot(ctx)
	return err
}
