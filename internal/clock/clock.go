// Package clock is the one place accrue reads the time. Everything else is
// given a Clock, so a whole program history can be replayed with a simulated
// one (SPEC §1, §9). Only Real may call time.Now.
package clock

import (
	"sync"
	"time"
)

// Clock tells the current time.
type Clock interface {
	Now() time.Time
}

// Real is the wall clock.
type Real struct{}

// Now returns the wall-clock time in UTC, truncated to microseconds (the
// database's resolution), so a value read back compares equal.
func (Real) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Sim is a simulated clock that only moves when told to. It is safe for
// concurrent use.
type Sim struct {
	mu  sync.Mutex
	now time.Time
}

// NewSim returns a simulated clock reading start.
func NewSim(start time.Time) *Sim { return &Sim{now: start.UTC()} }

// Now returns the simulated time.
func (s *Sim) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Set moves the clock to t. Moving it backwards is allowed: a replay may
// carry late events whose own time is earlier than the last step's.
func (s *Sim) Set(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = t.UTC()
}
