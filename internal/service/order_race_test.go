package service

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/accrue/accrue/internal/fault"
)

// An order paid by another batch, under another key, after this batch
// looked and before it wrote: this batch's insert of the order finds it,
// the command is dropped and refused as already paid, and the rest of the
// batch commits once.
func TestPayOrderBatchLosesARaceForTheOrder(t *testing.T) {
	s := groupService(t)
	looked, release, done := pauseFirstBatch(s, []orderCall{orderOf("o1", "a-o1", "100.00"), orderOf("o3", "", "30.00")})
	<-looked
	// The other batch pays o1 and o2 for the parent (no partner lock in
	// common with the first, which holds the child's).
	rival, other := orderOf("o1", "b-o1", "100.00"), orderOf("o2", "", "20.00")
	rival.in.CodeKey, other.in.CodeKey = "parent", "parent"
	if out := s.payOrderGroup(context.Background(), groupProgram, []orderCall{rival, other}); out[0].Err != nil || out[1].Err != nil {
		t.Fatalf("the rival batch: %s, %s", describe(out[0]), describe(out[1]))
	}
	close(release)
	out := <-done
	wantCode(t, "the order paid meanwhile", out[0].Err, fault.CodeFailedPrecondition, "order")
	if out[1].Err != nil || out[1].Replayed {
		t.Errorf("o3: %s, want applied", describe(out[1]))
	}
	if orders, accruals := countOrders(t, s); orders != 3 || accruals != 3 {
		t.Errorf("%d orders, %d accruals; want 3 and 3", orders, accruals)
	}
	verifyJournal(t, s)
}

// A key recorded by another batch after this batch looked it up: this
// batch's record of it comes back short, the batch runs again, and that
// run replays the other's response; the order is paid once.
func TestPayOrderBatchLosesARaceForTheKey(t *testing.T) {
	s := groupService(t)
	looked, release, done := pauseFirstBatch(s, []orderCall{orderOf("o1", "k", "100.00"), orderOf("o3", "", "30.00")})
	<-looked
	rival := orderOf("o1", "k", "100.00")
	rival.in.CodeKey = "parent"
	first := s.payOrderGroup(context.Background(), groupProgram, []orderCall{rival})[0]
	if first.Err != nil || first.Replayed {
		t.Fatalf("the rival: %s", describe(first))
	}
	close(release)
	out := <-done
	if out[0].Err != nil || !out[0].Replayed || string(out[0].Body) != string(first.Body) {
		t.Errorf("the raced key: %s, want a replay of %q", describe(out[0]), first.Body)
	}
	if out[1].Err != nil || out[1].Replayed {
		t.Errorf("o3: %s, want applied", describe(out[1]))
	}
	if orders, accruals := countOrders(t, s); orders != 2 || accruals != 2 {
		t.Errorf("%d orders, %d accruals; want 2 and 2", orders, accruals)
	}
	verifyJournal(t, s)
}

// pauseFirstBatch runs calls as one batch in the background, paused after
// its reads and decisions until release is closed; looked is closed when
// it pauses, and done receives its outcomes. Later batches do not pause.
func pauseFirstBatch(s *Service, calls []orderCall) (looked, release chan struct{}, done chan []orderOutcome) {
	looked, release, done = make(chan struct{}), make(chan struct{}), make(chan []orderOutcome)
	var paused atomic.Bool
	s.orderHook = func() error {
		if paused.CompareAndSwap(false, true) {
			close(looked)
			<-release
		}
		return nil
	}
	go func() { done <- s.payOrderGroup(context.Background(), groupProgram, calls) }()
	return looked, release, done
}
