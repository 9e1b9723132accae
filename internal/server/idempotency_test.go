package server

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// TestReverseTransactionReplaysTheRequest: a reversal retried with its key
// and payload answers the first reversal, replayed, although `at` was
// omitted and the clock, and so the booking period, moved; another payload
// under the key is refused.
func TestReverseTransactionReplaysTheRequest(t *testing.T) {
	h := newHarness(t, "0d")
	ledgerAPI := &ledgerService{h.srv}
	posted, err := ledgerAPI.PostTransaction(h.ctx, connect.NewRequest(&accruev1.PostTransactionRequest{
		Program: testProgram, IdempotencyKey: "manual-1", Kind: "manual", At: timestamppb.New(day(time.January, 10)),
		Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, "5.00"), entry("platform:payout_clearing", cr, "5.00")},
	}))
	h.must(err)
	reverse := func(reason string) (*accruev1.ReverseTransactionResponse, error) {
		resp, err := ledgerAPI.ReverseTransaction(h.ctx, connect.NewRequest(&accruev1.ReverseTransactionRequest{
			Program: testProgram, IdempotencyKey: "undo-1", TransactionId: posted.Msg.GetTransaction().GetId(), Reason: reason,
		}))
		if err != nil {
			return nil, err
		}
		return resp.Msg, nil
	}
	h.clk.Set(day(time.January, 20))
	first, err := reverse("typo")
	h.must(err)
	if first.Replayed || first.GetTransaction().GetPeriod() != "2026-01" {
		t.Fatalf("first reversal: %v", first)
	}

	h.clk.Set(day(time.January, 21)) // the clock moved: another `at`
	again, err := reverse("typo")
	h.must(err)
	if !again.Replayed || again.GetTransaction().GetId() != first.GetTransaction().GetId() {
		t.Fatalf("retry a day later: %v, want transaction %d replayed", again, first.GetTransaction().GetId())
	}

	h.close("2026-01", day(time.February, 2)) // the booking period moved
	again, err = reverse("typo")
	h.must(err)
	if !again.Replayed || again.GetTransaction().GetId() != first.GetTransaction().GetId() || again.GetTransaction().GetPeriod() != "2026-01" {
		t.Fatalf("retry after the close: %v, want transaction %d replayed", again, first.GetTransaction().GetId())
	}

	if _, err := reverse("another reason"); fault.CodeOf(err) != fault.CodeAlreadyExists {
		t.Fatalf("same key, other payload: %v, want already_exists", err)
	}
	if n := len(h.journal()); n != 2 {
		t.Fatalf("journal has %d transactions, want the posting and its one reversal", n)
	}
}

// closeKeyed closes period through srv's RPC under key.
func (h *harness) closeKeyed(srv *Server, period, key string) (*accruev1.ClosePeriodResponse, error) {
	resp, err := (&periodService{srv}).ClosePeriod(h.ctx, connect.NewRequest(&accruev1.ClosePeriodRequest{
		Program: testProgram, IdempotencyKey: key, Period: period,
	}))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

// periodRows returns the periods table as period → status.
func (h *harness) periodRows() map[string]string {
	h.t.Helper()
	rows, err := h.db.Pool.Query(h.ctx, `SELECT period, status FROM periods WHERE program_id = $1`, testProgram)
	h.must(err)
	out := map[string]string{}
	for rows.Next() {
		var p, st string
		h.must(rows.Scan(&p, &st))
		out[p] = st
	}
	h.must(rows.Err())
	return out
}

func (h *harness) openFrom() time.Time {
	h.t.Helper()
	var t time.Time
	h.must(h.db.Pool.QueryRow(h.ctx, `SELECT open_from FROM programs WHERE id = $1`, testProgram).Scan(&t))
	return t.UTC()
}

// closeKeySetup is a program with January closed and an order in each of
// February and March.
func closeKeySetup(t *testing.T) *harness {
	h := newHarness(t, "0d")
	h.register("bob", "", day(time.January, 2))
	h.pay("o1", "bob", "2000.00", day(time.January, 5))
	h.pay("o2", "bob", "2000.00", day(time.February, 5))
	h.pay("o3", "bob", "2000.00", day(time.March, 5))
	h.close("2026-01", day(time.February, 2))
	h.clk.Set(day(time.April, 2))
	return h
}

// TestClosePeriodKeyClaimedFirst: a second close under a key that a close
// of another period is running with is refused at once and closes nothing:
// February's close, held mid-way, keeps its key; March's, under the same
// key, answers already_exists and leaves March open.
func TestClosePeriodKeyClaimedFirst(t *testing.T) {
	h := closeKeySetup(t)
	var second error
	h.srv.svc.CloseHooks().Partner = func(string) error {
		_, second = h.closeKeyed(h.sibling(), "2026-03", "K")
		return nil
	}
	first, err := h.closeKeyed(h.srv, "2026-02", "K")
	h.must(err)
	if first.Period != "2026-02" || first.Released != "200.00" {
		t.Fatalf("first close: %v", first)
	}
	if fault.CodeOf(second) != fault.CodeAlreadyExists {
		t.Fatalf("the same key for March during February's close: %v, want already_exists", second)
	}
	if got := h.periodRows(); len(got) != 2 || got["2026-02"] != "closed" {
		t.Fatalf("periods %v, want January and February closed and nothing of March", got)
	}
	if got, want := h.openFrom(), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("open from %v, want %v: the refused close moved the open period", got, want)
	}
	// A retry of the first answers it again; the other is still refused.
	again, err := h.closeKeyed(h.sibling(), "2026-02", "K")
	h.must(err)
	if !proto.Equal(again, first) {
		t.Errorf("retry: %v, want %v", again, first)
	}
	if _, err := h.closeKeyed(h.srv, "2026-03", "K"); fault.CodeOf(err) != fault.CodeAlreadyExists {
		t.Fatalf("March under K after February's close: %v, want already_exists", err)
	}
}

// TestClosePeriodKeyRace: two closes of two periods racing under one key:
// one closes, the other is refused, and nothing beyond the winner's close
// (its period and the earlier ones) is closed.
func TestClosePeriodKeyRace(t *testing.T) {
	h := closeKeySetup(t)
	periods := []string{"2026-02", "2026-03"}
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		resps = make([]*accruev1.ClosePeriodResponse, 2)
		errs  = make([]error, 2)
	)
	for i, p := range periods {
		srv := h.srv
		if i == 1 {
			srv = h.sibling()
		}
		wg.Go(func() {
			<-start
			resps[i], errs[i] = h.closeKeyed(srv, p, "K")
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			winner = i
		case fault.CodeOf(err) != fault.CodeAlreadyExists:
			t.Fatalf("close of %s: %v", periods[i], err)
		}
	}
	if winner < 0 || errs[1-winner] == nil {
		t.Fatalf("results %v: want one close and one already_exists", errs)
	}
	t.Logf("%s won", periods[winner])
	want := map[string]string{"2026-01": "closed", "2026-02": "closed"}
	if winner == 1 {
		want["2026-03"] = "closed"
	}
	if got := h.periodRows(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("periods %v, want %v", got, want)
	}
}

// TestClosePeriodKeyOfADeadClose: a key whose close died running (its
// claim left behind) is no permanent block: the same payload runs the
// close to completion and is answered from then on; another payload is
// refused.
func TestClosePeriodKeyOfADeadClose(t *testing.T) {
	h := closeKeySetup(t)
	h.srv.svc.CloseHooks().Partner = failAfter(0)
	if _, err := h.closeKeyed(h.srv, "2026-02", "K"); err == nil {
		t.Fatal("the hook did not stop the close")
	}
	h.srv.svc.CloseHooks().Partner = nil
	if _, err := h.closeKeyed(h.srv, "2026-03", "K"); fault.CodeOf(err) != fault.CodeAlreadyExists {
		t.Fatalf("another payload under the dead close's key: %v, want already_exists", err)
	}
	resumed, err := h.closeKeyed(h.sibling(), "2026-02", "K")
	h.must(err)
	if resumed.Period != "2026-02" || resumed.Released != "200.00" || resumed.AlreadyClosed {
		t.Fatalf("resumed close: %v", resumed)
	}
	again, err := h.closeKeyed(h.srv, "2026-02", "K")
	h.must(err)
	if !proto.Equal(again, resumed) {
		t.Errorf("retry: %v, want %v", again, resumed)
	}
	if got := h.periodRows(); got["2026-02"] != "closed" || len(got) != 2 {
		t.Fatalf("periods %v", got)
	}
}
