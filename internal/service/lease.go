package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
)

// A close holds its period through a lease in the periods row: claimed_by
// names the run (host, process id and a random part, so an operator can
// tell whose it is), claimed_until is when it lapses by the database's clock
// (so the hosts' clocks need not agree). A heartbeat renews it every
// closeHeartbeat while the close works; a run that stops with an error
// gives it up at once; a run whose process died leaves it to lapse, at most
// CloseLease after its last renewal, and then any process resumes the close.
// Every write of a close first checks, in its own transaction and under a
// share lock on the periods row, that the run still holds the lease: a
// takeover (an UPDATE of that row) waits for the write in flight, and the
// stale run stops before its next one.
const (
	// CloseLease is how long a claim lasts without renewal.
	CloseLease = 20 * time.Second
	// closeHeartbeat is how often a working close renews its lease.
	closeHeartbeat = CloseLease / 4
	// leaseReleaseTimeout bounds giving a lease up after a failed close.
	leaseReleaseTimeout = 5 * time.Second
)

// CloseHooks are test hooks and knobs of the period close; the zero value
// is production behaviour.
type CloseHooks struct {
	// Partner, when set, runs for each partner before the transaction of
	// its batch; an error stops the close there (tests simulate a crash).
	Partner func(partner string) error
	// AfterReleases, when set, runs inside a batch's transaction between
	// its releases and its statements; an error rolls the batch back.
	AfterReleases func(partners []string) error
	// Batch, when set, replaces closeBatchMax.
	Batch int
	// Heartbeat, when set, replaces closeHeartbeat (tests stop renewals
	// with a long one).
	Heartbeat time.Duration
}

// CloseHooks returns the service's close hooks, for tests to set before
// the service runs a close.
func (s *Service) CloseHooks() *CloseHooks { return &s.close }

// lease is one close run's claim on a period.
type lease struct{ store.Lease }

// processTag names this process in lease holders.
var processTag = sync.OnceValue(func() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return fmt.Sprintf("%s:%d", host, os.Getpid())
})

// newLease names a new close run of period.
func newLease(program, period string) lease {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return lease{store.Lease{Program: program, Period: period, Holder: processTag() + ":" + hex.EncodeToString(b[:])}}
}

// errLeaseLost stops a close whose lease another run took over.
func errLeaseLost(period string) error {
	return fault.Aborted("period", "the close of %s was taken over by another process; retry to see it finish", period)
}

// claim takes the lease on closing the period when it is new to the
// periods table or its last claim lapsed, and moves the program's open
// period past it (end is when the period ends). closed is true when the
// period is closed already; a live claim of another run fails Aborted.
func (l lease) claim(ctx context.Context, tx pgx.Tx, journal *ledger.Program, end time.Time) (closed bool, err error) {
	claimed, row, err := store.ClaimPeriod(ctx, tx, l.Lease, CloseLease)
	if err != nil {
		return false, err
	}
	if !claimed {
		if row.Status == "closed" {
			return true, nil
		}
		return false, fault.Aborted("period", "the close of %s is in progress in %s (lease until %s); retry",
			l.Period, row.By, row.Until.UTC().Format(time.RFC3339))
	}
	return false, ledger.MoveOpenPeriod(ctx, tx, journal.ID, end)
}

// check fails with errLeaseLost unless this run still holds the lease; it
// share-locks the periods row until tx ends (store.HoldsLease).
func (l lease) check(ctx context.Context, tx pgx.Tx) error {
	holds, err := store.HoldsLease(ctx, tx, l.Lease)
	if err == nil && !holds {
		return errLeaseLost(l.Period)
	}
	return err
}

// keepLease renews l every heartbeat until stop is called, in a goroutine.
// The returned context is cancelled, with errLeaseLost as its cause, when a
// renewal finds the lease taken over; a renewal that fails (the database
// is unreachable) is logged and tried again at the next beat, and the
// per-write check stops the close if another run took over meanwhile. stop
// returns once the goroutine has ended.
func (s *Service) keepLease(ctx context.Context, l lease) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	every := closeHeartbeat
	if s.close.Heartbeat > 0 {
		every = s.close.Heartbeat
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			held, err := store.RenewLease(ctx, s.db.Pool, l.Lease, CloseLease)
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.Warn("period close: renewing the lease failed", "program", l.Program, "period", l.Period, "err", err)
			case err == nil && !held:
				cancel(errLeaseLost(l.Period))
				return
			}
		}
	}()
	return ctx, func() {
		cancel(nil)
		<-done
	}
}

// leaseErr is the error a close run stopped with: the lease's loss when
// that cancelled it, else err.
func leaseErr(ctx context.Context, err error) error {
	var lost *fault.Error
	if errors.As(context.Cause(ctx), &lost) {
		return lost
	}
	return err
}
