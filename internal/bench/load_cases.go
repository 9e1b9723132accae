package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// loadProgram is the program the order and click cases load.
const loadProgram = "bench-load"

// orderCases pays fresh two-line orders, attributed by code to random
// partners of a referral tree (an upline level on each, every one touching
// the hot platform accounts), at each connection count.
func (r *run) orderCases(ctx context.Context) {
	setupErr := r.setUpLoadProgram(ctx)
	for run, conns := range r.opts.OrderConns {
		id := func(s string) string { return fmt.Sprintf("orders_%d_%s", conns, s) }
		name := func(s string) string {
			return fmt.Sprintf("PayOrder%s, 2 lines, an upline level, %d connections", s, conns)
		}
		rate := Figure{ID: id("per_s"), Name: name(""), Unit: "orders/s"}
		p50 := Figure{ID: id("p50_ms"), Name: name(" p50"), Unit: "ms"}
		p99 := Figure{ID: id("p99_ms"), Name: name(" p99"), Unit: "ms"}
		// Issue 9's targets: latency at low load, throughput at high.
		if conns >= 32 {
			rate.Target = "≥ 0.5 of the ceiling"
		} else {
			p99.Target = "≤ 25 ms"
		}
		if setupErr != nil {
			r.failAll(setupErr, rate, p50, p99)
			continue
		}
		c := r.api.withConns(conns)
		r.logf("PayOrder at %d connections for %v", conns, r.opts.Duration)
		req := wrkRequest{procedure: accruev1connect.OrderServicePayOrderProcedure, body: wrkOrderBody}
		from := readWAL(ctx, r.owner)
		res := r.singleLoad(ctx, conns, req, fmt.Sprintf("w%d-%d-", run, conns), func(ctx context.Context, seq int64) error {
			id := fmt.Sprintf("o%d-%d-%d", run, conns, seq)
			return c.post(ctx, accruev1connect.OrderServicePayOrderProcedure, payOrderBody(loadProgram, id, partnerCode(rand.IntN(r.opts.Partners))))
		})
		if err := res.err(); err != nil {
			r.failAll(err, rate, p50, p99)
			continue
		}
		wal := walBetween(from, readWAL(ctx, r.owner), res.ok)
		rate.Value, rate.Ratio = res.perSecond(), r.ratio(res.perSecond())
		rate.Note = fmt.Sprintf("%d orders in %v (%s)", res.ok, res.elapsed.Round(time.Millisecond), res.client)
		p50.Value, p99.Value = res.quantile(0.50), res.quantile(0.99)
		r.report.add(rate)
		r.report.add(p50)
		r.report.add(p99)
		r.addWAL(fmt.Sprintf("orders_%d", conns), fmt.Sprintf("PayOrder at %d connections", conns), "order", wal)
		r.logf("PayOrder at %d connections: %.0f orders/s, p50 %.1f ms, p99 %.1f ms", conns, rate.Value, p50.Value, p99.Value)
	}
}

// setUpLoadProgram creates the load program and its partners, once a
// run: the order and click cases share them.
func (r *run) setUpLoadProgram(ctx context.Context) error {
	if r.loadReady {
		return nil
	}
	r.logf("setting up %s with %d partners", loadProgram, r.opts.Partners)
	if err := r.createProgram(ctx, loadProgram); err != nil {
		return err
	}
	if err := r.registerPartners(ctx, loadProgram, r.opts.Partners); err != nil {
		return err
	}
	r.loadReady = true
	return nil
}

// failAll records err on every figure of a case.
func (r *run) failAll(err error, figs ...Figure) {
	for _, f := range figs {
		f.Error = err.Error()
		r.report.add(f)
	}
	r.logf("%s: %v", figs[0].Name, err)
}

// clickCases records clicks one per call, then in batches when the server
// has RecordClicks.
func (r *run) clickCases(ctx context.Context) {
	conns := r.opts.ClickConns
	single := Figure{ID: "clicks_per_s", Name: fmt.Sprintf("RecordClick, %d connections", conns),
		Unit: "clicks/s", Target: "≥ 1.0 of the ceiling"}
	if err := r.setUpLoadProgram(ctx); err != nil {
		r.failAll(err, single)
		return
	}
	c := r.api.withConns(conns)
	r.logf("RecordClick at %d connections for %v", conns, r.opts.Duration)
	req := wrkRequest{procedure: accruev1connect.TrackingServiceRecordClickProcedure, body: wrkClickBody}
	from := readWAL(ctx, r.owner)
	res := r.singleLoad(ctx, conns, req, "", func(ctx context.Context, seq int64) error {
		return c.post(ctx, accruev1connect.TrackingServiceRecordClickProcedure, clickBody(seq, partnerCode(rand.IntN(r.opts.Partners))))
	})
	if err := res.err(); err != nil {
		r.failAll(err, single)
	} else {
		single.Value, single.Ratio = res.perSecond(), r.ratio(res.perSecond())
		single.Note = fmt.Sprintf("%d clicks in %v (%s)", res.ok, res.elapsed.Round(time.Millisecond), res.client)
		r.report.add(single)
		r.addWAL("clicks", "RecordClick", "click", walBetween(from, readWAL(ctx, r.owner), res.ok))
		r.logf("RecordClick: %.0f clicks/s", single.Value)
	}
	r.batchClickCase(ctx, c, single.Value)
}

// clickRequest is the seq-th bench click, to the partner with code.
func clickRequest(seq int64, code string) *accruev1.RecordClickRequest {
	return &accruev1.RecordClickRequest{
		Program: loadProgram, IdempotencyKey: fmt.Sprintf("bench:click:%d", seq),
		Partner: code, Visitor: fmt.Sprintf("v%d", seq),
		Landing: "https://shop.example/bags", UtmSource: "bench",
	}
}
