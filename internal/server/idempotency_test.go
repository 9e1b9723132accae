package server

import (
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
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

	if _, err := reverse("another reason"); fault.CodeOf(err) != fault.AlreadyExists {
		t.Fatalf("same key, other payload: %v, want already_exists", err)
	}
	if n := len(h.journal()); n != 2 {
		t.Fatalf("journal has %d transactions, want the posting and its one reversal", n)
	}
}
