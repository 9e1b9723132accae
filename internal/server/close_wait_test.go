package server

import (
	"context"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// TestCloseSameKeyWaits: two ClosePeriod calls with the same key, the
// second made while the first is working, both answer ok with the same
// response, one of them replayed, and the close ran once. The first call's
// client goes away mid-close (its context is cancelled): the close goes on.
// GetPeriod shows the progress while it works.
func TestCloseSameKeyWaits(t *testing.T) {
	h := newHarness(t, "14d")
	interruptedSetup(h)
	h.clk.Set(day(time.February, 1))
	h.srv.svc.CloseHooks().Batch = 2
	first, cancel := context.WithCancel(h.ctx)
	defer cancel()
	req := &accruev1.ClosePeriodRequest{Program: testProgram, IdempotencyKey: "same", Period: "2026-01"}
	var (
		wg       sync.WaitGroup
		second   *connect.Response[accruev1.ClosePeriodResponse]
		err2     error
		progress *accruev1.PeriodState
	)
	seen := 0
	h.srv.svc.CloseHooks().Partner = func(string) error {
		if seen++; seen == 3 { // the second batch: the first is done
			cancel()
			got, err := (&periodService{h.srv}).GetPeriod(h.ctx, connect.NewRequest(&accruev1.GetPeriodRequest{Program: testProgram, Period: "2026-01"}))
			h.must(err)
			progress = got.Msg.GetPeriod()
			wg.Add(1)
			go func() {
				defer wg.Done()
				second, err2 = (&periodService{h.sibling()}).ClosePeriod(h.ctx, connect.NewRequest(req))
			}()
		}
		return nil
	}
	resp1, err1 := (&periodService{h.srv}).ClosePeriod(first, connect.NewRequest(req))
	wg.Wait()
	if err1 != nil || err2 != nil {
		t.Fatalf("first %v, second %v; want both ok", err1, err2)
	}
	if !proto.Equal(resp1.Msg, second.Msg) || resp1.Msg.GetAlreadyClosed() {
		t.Errorf("responses differ or say already closed: %v / %v", resp1.Msg, second.Msg)
	}
	if seen != 7 {
		t.Errorf("the close walked %d partners, want 7 once", seen)
	}
	if progress.GetStatus() != accruev1.PeriodStatus_PERIOD_STATUS_CLOSING || progress.GetPartnersDone() != 2 || progress.GetPartnersTotal() != 7 {
		t.Errorf("progress mid-close: %v, want closing, 2 of 7 done", progress)
	}
	got, err := (&periodService{h.srv}).GetPeriod(h.ctx, connect.NewRequest(&accruev1.GetPeriodRequest{Program: testProgram, Period: "2026-01"}))
	h.must(err)
	p := got.Msg.GetPeriod()
	if p.GetStatus() != accruev1.PeriodStatus_PERIOD_STATUS_CLOSED || p.GetPartnersDone() != 7 || p.GetReleased() != resp1.Msg.GetReleased() ||
		p.GetStatements() != resp1.Msg.GetStatements() || p.GetStartedAt() == nil || p.GetClosedAt() == nil {
		t.Errorf("closed period: %v, want closed, 7 of 7, as the close answered %v", p, resp1.Msg)
	}
}
