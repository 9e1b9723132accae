package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/store"
)

// A payout is claimed once, filled in, listed by keyset and finished.
func TestPayoutRows(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	at := time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)
	for i, id := range []string{"p1", "p2", "p1"} {
		claimed, err := store.ClaimPayout(ctx, db.Pool, "prog", id, "bob", "pending", at.Add(time.Duration(i)*time.Hour))
		if err != nil || claimed != (i < 2) {
			t.Fatalf("claim %d (%s) = %v, %v", i, id, claimed, err)
		}
	}
	po := store.Payout{ID: "p1", Partner: "bob", Amount: decimal.RequireFromString("150.00"), Status: "pending",
		Method: "bank_transfer", Reference: "r", Advance: true, Bank: map[string]string{"bank_account": "DE00"}}
	if err := store.RecordPayout(ctx, db.Pool, "prog", po); err != nil {
		t.Fatal(err)
	}
	got, found, err := store.LockPayout(ctx, db.Pool, "prog", "p1")
	if err != nil || !found || !got.Amount.Equal(po.Amount) || got.Method != "bank_transfer" || !got.Advance ||
		got.Bank["bank_account"] != "DE00" || !got.CreatedAt.Equal(at) || got.FinishedAt != nil {
		t.Fatalf("LockPayout = %+v, %v, %v", got, found, err)
	}
	if _, found, err := store.LockPayout(ctx, db.Pool, "prog", "p9"); found || err != nil {
		t.Fatalf("LockPayout of an unknown payout = %v, %v", found, err)
	}

	done := at.Add(time.Hour)
	got.Status, got.Reference, got.FinishedAt = "settled", "bank-ref", &done
	if err := store.FinishPayout(ctx, db.Pool, "prog", got); err != nil {
		t.Fatal(err)
	}
	page, err := store.ListPayouts(ctx, db.Pool, "prog", store.PayoutFilter{Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != "p1" || page[0].Status != "settled" ||
		page[0].Reference != "bank-ref" || page[0].FinishedAt == nil || !page[0].FinishedAt.Equal(done) {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	page, err = store.ListPayouts(ctx, db.Pool, "prog", store.PayoutFilter{AfterAt: page[0].CreatedAt, AfterID: "p1", Limit: 5})
	if err != nil || len(page) != 1 || page[0].ID != "p2" || len(page[0].Bank) != 0 {
		t.Fatalf("second page = %+v, %v", page, err)
	}
	if page, err := store.ListPayouts(ctx, db.Pool, "prog", store.PayoutFilter{Partner: "dave", Limit: 5}); err != nil || len(page) != 0 {
		t.Fatalf("another partner's payouts = %+v, %v", page, err)
	}
}

// A spend is claimed once, its split recorded, and reversed.
func TestSpendRows(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	d := decimal.RequireFromString
	sp := store.Spend{ID: "s1", Partner: "frank", Order: "o1", Amount: d("170.00"), At: time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)}
	for i, want := range []bool{true, false} {
		claimed, err := store.ClaimSpend(ctx, db.Pool, "prog", sp)
		if err != nil || claimed != want {
			t.Fatalf("claim %d = %v, %v; want %v", i, claimed, err, want)
		}
	}
	sp.FromPayable, sp.FromAccrued = d("150.00"), d("20.00")
	if err := store.RecordSpendSplit(ctx, db.Pool, "prog", sp); err != nil {
		t.Fatal(err)
	}
	if err := store.MarkSpendReversed(ctx, db.Pool, "prog", "s1"); err != nil {
		t.Fatal(err)
	}
	got, found, err := store.LockSpend(ctx, db.Pool, "prog", "s1")
	if err != nil || !found || got.Order != "o1" || !got.Amount.Equal(sp.Amount) || !got.FromPayable.Equal(sp.FromPayable) ||
		!got.FromAccrued.Equal(sp.FromAccrued) || !got.Reversed || !got.At.Equal(sp.At) {
		t.Fatalf("LockSpend = %+v, %v, %v", got, found, err)
	}
	if _, found, err := store.LockSpend(ctx, db.Pool, "prog", "s9"); found || err != nil {
		t.Fatalf("LockSpend of an unknown spend = %v, %v", found, err)
	}
}
