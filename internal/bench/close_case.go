package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// closePollInterval is how often the close case looks for the period's
// closed row while the close runs.
const closePollInterval = 250 * time.Millisecond

// closeCase creates a program of n partners, each with an order last
// month, and times the close of last month: from the ClosePeriod call to
// the first of its answer and the period's row reading closed. The row is
// watched as the owner as well, so the figure holds against an accrued
// built before ClosePeriod was exempt from the server's write timeout.
func (r *run) closeCase(ctx context.Context, n int) {
	program := fmt.Sprintf("bench-close-%d", n)
	f := Figure{ID: fmt.Sprintf("close_%d_s", n), Unit: "s",
		Name: fmt.Sprintf("month close, %d partners each with an order", n)}
	per := Figure{ID: fmt.Sprintf("close_%d_ms_per_partner", n), Unit: "ms",
		Name: fmt.Sprintf("month close per partner, %d partners", n)}
	if n >= 100_000 {
		f.Target = "< 60 s"
	}
	if err := r.setUpCloseProgram(ctx, program, n); err != nil {
		r.failAll(err, f, per)
		return
	}
	took, note, err := r.timeClose(ctx, program)
	if err != nil {
		r.failAll(err, f, per)
		return
	}
	f.Value, f.Note = took.Seconds(), note
	per.Value = float64(took) / float64(time.Millisecond) / float64(n)
	r.report.add(f)
	r.report.add(per)
	r.logf("close of %d partners: %v (%s)", n, took.Round(time.Millisecond), note)
}

// setUpCloseProgram registers n partners of program and pays one order
// for each, dated last month.
func (r *run) setUpCloseProgram(ctx context.Context, program string, n int) error {
	r.logf("setting up %s: %d partners and orders", program, n)
	t0 := time.Now()
	if err := r.createProgram(ctx, program); err != nil {
		return err
	}
	if err := r.registerPartners(ctx, program, n); err != nil {
		return err
	}
	at := lastMonth(r.now).Add(3 * time.Hour)
	err := forEach(ctx, n, r.opts.SetupConns, func(ctx context.Context, i int) error {
		return r.api.payOrder(ctx, program, fmt.Sprintf("c%d", i), i, at)
	}, func(done int) { r.logf("%s: orders %d of %d", program, done, n) })
	if err != nil {
		return fmt.Errorf("paying orders of %s: %w", program, err)
	}
	r.logf("%s set up in %v", program, time.Since(t0).Round(time.Second))
	return nil
}

// timeClose closes last month of program and returns how long it took.
func (r *run) timeClose(ctx context.Context, program string) (time.Duration, string, error) {
	period := lastMonth(r.now).Format("2006-01")
	conn, err := pgx.Connect(ctx, r.owner)
	if err != nil {
		return 0, "", fmt.Errorf("watching the close: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	ctx, cancel := context.WithTimeout(ctx, r.opts.CloseTimeout)
	defer cancel()

	type answer struct {
		resp *accruev1.ClosePeriodResponse
		err  error
	}
	answered := make(chan answer, 1)
	t0 := time.Now()
	go func() {
		resp, err := r.api.periods.ClosePeriod(ctx, connect.NewRequest(&accruev1.ClosePeriodRequest{
			Program: program, IdempotencyKey: "bench:close", Period: period,
		}))
		if err != nil {
			answered <- answer{err: err}
			return
		}
		answered <- answer{resp: resp.Msg}
	}()
	tick := time.NewTicker(closePollInterval)
	defer tick.Stop()
	lastLog, cut := time.Now(), ""
	for {
		select {
		case a := <-answered:
			if a.err == nil {
				return time.Since(t0), fmt.Sprintf("%d statements, by the RPC's answer", a.resp.Statements), nil
			}
			if connect.CodeOf(a.err) != connect.CodeUnavailable && connect.CodeOf(a.err) != connect.CodeUnknown &&
				connect.CodeOf(a.err) != connect.CodeDeadlineExceeded {
				return 0, "", fmt.Errorf("ClosePeriod: %w", a.err)
			}
			cut = fmt.Sprintf("the RPC was cut after %v (%v); ", time.Since(t0).Round(time.Second), a.err)
			r.logf("%s: %swatching the period row", program, cut)
			answered = nil
		case <-tick.C:
			closed, statements, err := periodClosed(ctx, conn, program, period)
			if err != nil {
				return 0, "", err
			}
			if closed {
				return time.Since(t0), fmt.Sprintf("%s%d statements, by the period row", cut, statements), nil
			}
			if time.Since(lastLog) > 10*time.Second {
				lastLog = time.Now()
				r.logf("%s: closing for %v, %d statements so far", program, time.Since(t0).Round(time.Second), statements)
			}
		case <-ctx.Done():
			return 0, "", fmt.Errorf("close not done after %v: %w", r.opts.CloseTimeout, ctx.Err())
		}
	}
}

// periodClosed reads the period's status and its statements so far.
func periodClosed(ctx context.Context, conn *pgx.Conn, program, period string) (bool, int, error) {
	var status string
	var statements int
	err := conn.QueryRow(ctx, `SELECT COALESCE((SELECT status FROM periods WHERE program_id = $1 AND period = $2), ''),
		(SELECT count(*) FROM statements WHERE program_id = $1 AND period = $2)`, program, period).Scan(&status, &statements)
	if err != nil && !errors.Is(err, context.Canceled) {
		return false, 0, fmt.Errorf("watching the close: %w", err)
	}
	return status == "closed", statements, err
}

// closeLinearity compares the per-partner cost of the largest close with
// the smallest's: issue 9 wants it within 1.5×.
func (r *run) closeLinearity() {
	sizes := r.opts.ClosePartners
	if len(sizes) < 2 {
		return
	}
	lo, hi := sizes[0], sizes[0]
	for _, n := range sizes {
		lo, hi = min(lo, n), max(hi, n)
	}
	small, ok1 := r.report.Get(fmt.Sprintf("close_%d_ms_per_partner", lo))
	large, ok2 := r.report.Get(fmt.Sprintf("close_%d_ms_per_partner", hi))
	if lo == hi || !ok1 || !ok2 || small.Value <= 0 || large.Value <= 0 {
		return
	}
	r.report.add(Figure{ID: "close_linearity", Unit: "×", Value: large.Value / small.Value,
		Name:   fmt.Sprintf("close per-partner cost at %d ÷ at %d", hi, lo),
		Target: "≤ 1.5"})
}
