package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/internal/store"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

func interruptedSetup(h *harness) {
	h.register("alice", "", day(time.January, 2))
	for i := range 6 {
		p := fmt.Sprintf("p%d", i)
		h.register(p, "alice", day(time.January, 2))
		h.pay("o"+p, p, fmt.Sprintf("%d.00", 500+200*i), day(time.January, 3+i))
	}
}

// wholeClose is interruptedSetup closed for January without interruption.
func wholeClose(t *testing.T) *harness {
	whole := newHarness(t, "14d")
	interruptedSetup(whole)
	whole.close("2026-01", day(time.February, 1))
	return whole
}

// failAfter is a close hook that lets n partners through, then fails.
func failAfter(n int) func(string) error {
	seen := 0
	return func(p string) error {
		if seen++; seen > n {
			return fmt.Errorf("crash before %s", p)
		}
		return nil
	}
}

// sameClose fails unless cut ended with whole's journal and statements.
func sameClose(t *testing.T, whole, cut *harness) {
	t.Helper()
	if a, b := whole.journal(), cut.journal(); !equal(a, b) {
		t.Errorf("journals differ:\n%s\n---\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	a, b := comparable(whole.statements("", "")), comparable(cut.statements("", ""))
	if len(a) != len(b) || len(a) != 7 {
		t.Fatalf("statements: %d and %d, want 7", len(a), len(b))
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			t.Errorf("statement %d differs:\n%v\n%v", i, a[i], b[i])
		}
	}
}

// setLease rewrites the lease on period as SQL sets it, by the database's
// clock: a process that crashed leaves its lease behind.
func (h *harness) setLease(period, holder, until string) {
	h.t.Helper()
	_, err := h.db.Pool.Exec(h.ctx, `UPDATE periods SET claimed_by = $3, claimed_until = `+until+`
		WHERE program_id = $1 AND period = $2 AND status = 'closing'`, testProgram, period, holder)
	h.must(err)
}

// leaseLeft is how long the lease on period has left by the database's
// clock (negative once it lapsed).
func (h *harness) leaseLeft(period string) time.Duration {
	h.t.Helper()
	var left time.Duration
	h.must(h.db.Pool.QueryRow(h.ctx, `SELECT claimed_until - clock_timestamp() FROM periods
		WHERE program_id = $1 AND period = $2`, testProgram, period).Scan(&left))
	return left
}

// TestCloseInterrupted: a close that stops with an error gives its lease
// up, so a retry by any process resumes it at once; a close whose process
// died leaves its lease, which blocks the period until it lapses (at most
// service.CloseLease after its last renewal), and then any process resumes it.
// Every way ends with the journal and statements of an uninterrupted close.
func TestCloseInterrupted(t *testing.T) {
	whole := wholeClose(t)
	cut := newHarness(t, "14d")
	interruptedSetup(cut)
	cut.srv.svc.CloseHooks().Batch = 2
	cut.srv.svc.CloseHooks().Partner = failAfter(2)
	if _, err := cut.closeWith(cut.srv, "2026-01", day(time.February, 1)); err == nil {
		t.Fatal("the hook did not stop the close")
	}
	if left := cut.leaseLeft("2026-01"); left > 0 {
		t.Fatalf("a failed close kept its lease for %v more", left)
	}
	// Another process resumes at once, and stops again further on.
	other := cut.sibling()
	other.svc.CloseHooks().Batch = 2
	other.svc.CloseHooks().Partner = failAfter(2)
	if _, err := cut.closeWith(other, "2026-01", day(time.February, 1)); err == nil || fault.CodeOf(err) == fault.CodeAborted {
		t.Fatalf("another process after a failed close: got %v, want it to resume and meet the hook", err)
	}

	// The process of a close dies just after renewing its lease.
	cut.setLease("2026-01", "dead-host:1:0", fmt.Sprintf("clock_timestamp() + interval '%d milliseconds'", service.CloseLease.Milliseconds()))
	cut.srv.svc.CloseHooks().Partner = nil
	// A close during its lease waits for it, as long as the request lets it.
	wait, cancel := context.WithTimeout(cut.ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := cut.closeCtx(wait, cut.srv, "2026-01", day(time.February, 1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("during the dead process's lease: got %v, want it to wait until the deadline", err)
	}
	// service.CloseLease later its lease has lapsed, and another process finishes.
	cut.setLease("2026-01", "dead-host:1:0", "clock_timestamp()")
	resp, err := cut.closeWith(cut.sibling(), "2026-01", day(time.February, 1))
	if err != nil || resp.AlreadyClosed {
		t.Fatalf("takeover: %v %v", resp, err)
	}
	sameClose(t, whole, cut)
}

// TestCloseLeaseRenewed: a working close renews its lease, so it never
// lapses while the close goes on.
func TestCloseLeaseRenewed(t *testing.T) {
	h := newHarness(t, "14d")
	interruptedSetup(h)
	h.srv.svc.CloseHooks().Heartbeat = time.Millisecond
	var lefts []time.Duration
	h.srv.svc.CloseHooks().Partner = func(string) error {
		// Age the lease, then wait (with a deadlock guard, not a speed
		// check) for the heartbeat to renew it.
		if _, err := h.db.Pool.Exec(h.ctx, `UPDATE periods SET claimed_until = clock_timestamp() + interval '1 second'
			WHERE program_id = $1 AND period = $2`, testProgram, "2026-01"); err != nil {
			return err
		}
		for guard := time.Now(); time.Since(guard) < time.Minute; time.Sleep(time.Millisecond) {
			if left := h.leaseLeft("2026-01"); left > time.Second {
				lefts = append(lefts, left)
				return nil
			}
		}
		return errors.New("the lease was never renewed")
	}
	h.close("2026-01", day(time.February, 1))
	if len(lefts) != 7 {
		t.Fatalf("renewed %d times, want once per partner (7)", len(lefts))
	}
	for _, left := range lefts {
		if left > service.CloseLease {
			t.Errorf("a renewal left %v, more than the lease %v", left, service.CloseLease)
		}
	}
}

// TestCloseStaleOwnerStops: a close paused past its lease (a long GC, a
// frozen VM) is taken over; when it wakes it writes nothing more and
// stops, and the close written once equals an uninterrupted one.
func TestCloseStaleOwnerStops(t *testing.T) {
	whole := wholeClose(t)
	cut := newHarness(t, "14d")
	interruptedSetup(cut)
	cut.srv.svc.CloseHooks().Heartbeat = time.Hour // the paused process renews nothing
	cut.srv.svc.CloseHooks().Batch = 1
	var takeover error
	seen := 0
	cut.srv.svc.CloseHooks().Partner = func(string) error {
		if seen++; seen == 3 {
			cut.setLease("2026-01", cut.holder("2026-01"), "clock_timestamp()")
			_, takeover = (&periodService{cut.sibling()}).ClosePeriod(cut.ctx, connect.NewRequest(&accruev1.ClosePeriodRequest{
				Program: testProgram, IdempotencyKey: "takeover", Period: "2026-01"}))
		}
		return nil
	}
	resp, err := cut.closeWith(cut.srv, "2026-01", day(time.February, 1))
	if takeover != nil {
		t.Fatalf("takeover: %v", takeover)
	}
	// It lost the lease, waited for the run that took over, and answers
	// the period as that run closed it.
	if err != nil || !resp.AlreadyClosed {
		t.Fatalf("the stale owner: got %v, %v; want already closed by the takeover", resp, err)
	}
	if seen != 3 {
		t.Errorf("the stale owner went on to %d partners, want it to stop at the third", seen)
	}
	sameClose(t, whole, cut)
}

// TestCloseReleasesWithStatements: a close that stops inside a batch,
// after its releases were posted and before its statements, leaves no
// partner released without its statement (the batch is rolled back whole),
// and the resumed close equals an uninterrupted one.
func TestCloseReleasesWithStatements(t *testing.T) {
	whole := wholeClose(t)
	cut := newHarness(t, "14d")
	interruptedSetup(cut)
	cut.srv.svc.CloseHooks().Batch = 3
	batches := 0
	cut.srv.svc.CloseHooks().AfterReleases = func(partners []string) error {
		if batches++; batches == 2 {
			return fmt.Errorf("crash after releasing %v", partners)
		}
		return nil
	}
	if _, err := cut.closeWith(cut.srv, "2026-01", day(time.February, 1)); err == nil {
		t.Fatal("the hook did not stop the close")
	}
	released, stated := cut.releasedAndStated("2026-01")
	if !equal(stated, []string{"alice", "p0", "p1"}) {
		t.Fatalf("statements of %v, want the first batch's", stated)
	}
	// alice (120.00 of upline bonuses) is released, p0 and p1 (50.00 and
	// 70.00) are below the minimum; p2 (90.00) and p3 (110.00) are in the
	// batch that was rolled back.
	if !equal(released, []string{"alice"}) {
		t.Fatalf("releases of %v, want alice's alone", released)
	}
	cut.srv.svc.CloseHooks().AfterReleases = nil
	if _, err := cut.closeWith(cut.sibling(), "2026-01", day(time.February, 1)); err != nil {
		t.Fatal(err)
	}
	sameClose(t, whole, cut)
}

// releasedAndStated lists the partners released in period and those with
// a statement for it, each sorted.
func (h *harness) releasedAndStated(period string) (released, stated []string) {
	h.t.Helper()
	rows, err := h.db.Pool.Query(h.ctx, `SELECT refs->>'partner' FROM transactions
		WHERE program_id = $1 AND kind = 'release' AND period = $2 ORDER BY 1`, testProgram, period)
	h.must(err)
	released, err = pgx.CollectRows(rows, pgx.RowTo[string])
	h.must(err)
	rows, err = h.db.Pool.Query(h.ctx, `SELECT partner_id FROM statements
		WHERE program_id = $1 AND period = $2 ORDER BY 1`, testProgram, period)
	h.must(err)
	stated, err = pgx.CollectRows(rows, pgx.RowTo[string])
	h.must(err)
	return released, stated
}

// holder is who holds the lease on period.
func (h *harness) holder(period string) string {
	h.t.Helper()
	var by string
	h.must(h.db.Pool.QueryRow(h.ctx, `SELECT claimed_by FROM periods WHERE program_id = $1 AND period = $2`,
		testProgram, period).Scan(&by))
	return by
}

// TestRunDueCloses: the scheduler closes the period before each tick once,
// in order, and keeps its cursor.
func TestRunDueCloses(t *testing.T) {
	h := newHarness(t, "0d")
	h.register("bob", "", day(time.January, 2))
	h.pay("o1", "bob", "600.00", day(time.January, 5))
	h.pay("o2", "bob", "600.00", day(time.February, 5))
	h.clk.Set(day(time.March, 2))
	h.must(h.srv.RunDueCloses(h.ctx, day(time.March, 2)))
	var closed []string
	rows, err := h.db.Pool.Query(h.ctx, `SELECT period FROM periods WHERE program_id = $1 AND status = 'closed' ORDER BY period`, testProgram)
	h.must(err)
	closed, err = pgx.CollectRows(rows, pgx.RowTo[string])
	h.must(err)
	if !equal(closed, []string{"2026-01", "2026-02"}) {
		t.Fatalf("closed %v", closed)
	}
	var cursor time.Time
	h.must(h.db.Pool.QueryRow(h.ctx, `SELECT statements_cursor FROM schedules WHERE program_id = $1`, testProgram).Scan(&cursor))
	if !cursor.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("cursor %v", cursor)
	}
	if st := h.statement("bob", "2026-02"); st.Released != "120.00" {
		t.Errorf("February: %v", st)
	}
	before := h.journal()
	h.must(h.srv.RunDueCloses(h.ctx, day(time.March, 20)))
	if !equal(before, h.journal()) {
		t.Error("a second run changed the journal")
	}
	periods := []string{}
	for _, st := range h.statements("bob", "") {
		periods = append(periods, st.Period)
	}
	sort.Strings(periods)
	if !equal(periods, []string{"2026-01", "2026-02"}) {
		t.Errorf("statement periods %v", periods)
	}
}

// TestCloseLeaseRenewedAfterItsOwnClose: a heartbeat that beats after the
// close marked its period closed (and before the run stopped its
// heartbeat) finds the lease still its own; it must not cancel the run,
// whose last statement may not have returned yet (found as a flaky
// TestCloseLeaseRenewed under load).
func TestCloseLeaseRenewedAfterItsOwnClose(t *testing.T) {
	h := newHarness(t, "14d")
	interruptedSetup(h)
	h.close("2026-01", day(time.February, 1))
	l := store.Lease{Program: testProgram, Period: "2026-01", Holder: h.holder("2026-01")}
	held, err := store.RenewLease(h.ctx, h.db.Pool, l, service.CloseLease)
	h.must(err)
	if !held {
		t.Fatal("the run that closed the period lost its lease to nobody")
	}
	other := store.Lease{Program: testProgram, Period: "2026-01", Holder: "someone-else"}
	if held, err := store.RenewLease(h.ctx, h.db.Pool, other, service.CloseLease); err != nil || held {
		t.Fatalf("another run renewed a lease it never held: held %v, err %v", held, err)
	}
}
