package server

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
	"github.com/accrue/accrue/ledger"
)

// A close holds its period through a lease in the periods row: claimed_by
// names the run (host, process id and a random part, so an operator can
// tell whose it is), claimed_until is when it lapses by the database's clock
// (so the hosts' clocks need not agree). A heartbeat renews it every
// closeHeartbeat while the close works; a run that stops with an error
// gives it up at once; a run whose process died leaves it to lapse, at most
// closeLease after its last renewal, and then any process resumes the close.
// Every write of a close first checks, in its own transaction and under a
// share lock on the periods row, that the run still holds the lease: a
// takeover (an UPDATE of that row) waits for the write in flight, and the
// stale run stops before its next one.
const (
	// closeLease is how long a claim lasts without renewal.
	closeLease = 20 * time.Second
	// closeHeartbeat is how often a working close renews its lease.
	closeHeartbeat = closeLease / 4
	// leaseReleaseTimeout bounds giving a lease up after a failed close.
	leaseReleaseTimeout = 5 * time.Second
)

// closeState holds test hooks and knobs of the period close.
type closeState struct {
	// hook, when set, runs for each partner before the transaction of its
	// batch; an error stops the close there (tests simulate a crash with it).
	hook func(partner string) error
	// afterReleases, when set, runs inside a batch's transaction between
	// its releases and its statements; an error rolls the batch back.
	afterReleases func(partners []string) error
	// batch, when set, replaces closeBatchMax.
	batch int
	// heartbeat, when set, replaces closeHeartbeat (tests stop renewals
	// with a long one).
	heartbeat time.Duration
}

// lease is one close run's claim on a period.
type lease struct {
	program, period string
	holder          string
}

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
	return lease{program: program, period: period, holder: processTag() + ":" + hex.EncodeToString(b[:])}
}

// errLeaseLost stops a close whose lease another run took over.
func errLeaseLost(period string) error {
	return fault.Busy("period", "the close of %s was taken over by another process; retry to see it finish", period)
}

// claim takes the lease on closing period when the period is new to the
// periods table or its last claim lapsed, and moves the program's open
// period past it (end is when the period ends). closed is true when the
// period is closed already; a live claim of another run fails Aborted.
func (l lease) claim(ctx context.Context, tx pgx.Tx, prog *ledger.Program, end time.Time) (closed bool, err error) {
	var status string
	err = tx.QueryRow(ctx, `
		INSERT INTO periods (program_id, period, status, claimed_by, claimed_until)
		VALUES ($1, $2, 'closing', $3, clock_timestamp() + $4::interval)
		ON CONFLICT (program_id, period) DO UPDATE
		SET claimed_by = excluded.claimed_by, claimed_until = excluded.claimed_until
		WHERE periods.status = 'closing' AND periods.claimed_until <= clock_timestamp()
		RETURNING status`, l.program, l.period, l.holder, closeLease).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		var (
			by    string
			until time.Time
		)
		if err := tx.QueryRow(ctx, `SELECT status, claimed_by, claimed_until FROM periods
			WHERE program_id = $1 AND period = $2`, l.program, l.period).Scan(&status, &by, &until); err != nil {
			return false, fmt.Errorf("server: reading period %s: %w", l.period, err)
		}
		if status == "closed" {
			return true, nil
		}
		return false, fault.Busy("period", "the close of %s is in progress in %s (lease until %s); retry",
			l.period, by, until.UTC().Format(time.RFC3339))
	}
	if err != nil {
		return false, fmt.Errorf("server: claiming period %s: %w", l.period, err)
	}
	// Waits for commands holding the program row FOR SHARE (they decide a
	// booking period); every later one sees the new open period.
	_, err = tx.Exec(ctx, `UPDATE programs SET open_from = $2
		WHERE id = $1 AND (open_from IS NULL OR open_from < $2)`, prog.ID, end)
	if err != nil {
		return false, fmt.Errorf("server: moving the open period of %s: %w", prog.ID, err)
	}
	return false, nil
}

// check fails with errLeaseLost unless this run still holds the lease. It
// share-locks the periods row until tx ends, so no takeover commits while
// tx writes.
func (l lease) check(ctx context.Context, tx pgx.Tx) error {
	var holds bool
	err := tx.QueryRow(ctx, `SELECT claimed_by = $3 FROM periods
		WHERE program_id = $1 AND period = $2 AND status = 'closing' FOR SHARE`,
		l.program, l.period, l.holder).Scan(&holds)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !holds) {
		return errLeaseLost(l.period)
	}
	if err != nil {
		return fmt.Errorf("server: checking the lease on %s: %w", l.period, err)
	}
	return nil
}

// renew extends the lease by closeLease from now; held is false when
// another run took it over. A period this run has closed stays its own (the
// row is left as it is): the run may still be finishing its last statement.
func (l lease) renew(ctx context.Context, q querier) (held bool, err error) {
	tag, err := q.Exec(ctx, `UPDATE periods SET claimed_until = CASE WHEN status = 'closing'
			THEN clock_timestamp() + $4::interval ELSE claimed_until END
		WHERE program_id = $1 AND period = $2 AND claimed_by = $3`,
		l.program, l.period, l.holder, closeLease)
	if err != nil {
		return false, fmt.Errorf("server: renewing the lease on %s: %w", l.period, err)
	}
	return tag.RowsAffected() == 1, nil
}

// release gives the lease up, so the close can be resumed at once.
func (l lease) release(ctx context.Context, q querier) error {
	_, err := q.Exec(ctx, `UPDATE periods SET claimed_until = clock_timestamp()
		WHERE program_id = $1 AND period = $2 AND status = 'closing' AND claimed_by = $3`,
		l.program, l.period, l.holder)
	if err != nil {
		return fmt.Errorf("server: releasing the lease on %s: %w", l.period, err)
	}
	return nil
}

// keepLease renews l every heartbeat until stop is called, in a goroutine.
// The returned context is cancelled, with errLeaseLost as its cause, when a
// renewal finds the lease taken over; a renewal that fails (the database
// is unreachable) is logged and tried again at the next beat, and the
// per-write check stops the close if another run took over meanwhile. stop
// returns once the goroutine has ended.
func (s *Server) keepLease(ctx context.Context, l lease) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	every := closeHeartbeat
	if s.close.heartbeat > 0 {
		every = s.close.heartbeat
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
			held, err := l.renew(ctx, s.db.Pool)
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.Warn("period close: renewing the lease failed", "program", l.program, "period", l.period, "err", err)
			case err == nil && !held:
				cancel(errLeaseLost(l.period))
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
