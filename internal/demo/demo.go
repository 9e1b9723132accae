// Package demo loads a small demo program through the public API, so a
// fresh `make run` shows partners, orders, an upline bonus and a closed month
// with one final and one preliminary statement. It is a client of the API
// only: it never touches the database.
package demo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// Program is the demo program's id.
const Program = "demo"

// Rules is the demo program's rules document.
const Rules = `currency: USD
timezone: UTC
accrue_on: paid
hold: 0d
attribution: {model: last_click, window: 60d, allow_self_referral: false}
commission:
  default: 10%
  rules:
    - {match: {product: belt}, rate: 15%}
    - {match: {product: gift-card}, participates: false}
upline:
  - {level: 1, rate: 2%, base: order_amount}
payout: {minimum: "100.00"}
statements: {schedule: "0 0 1 * *", due_day: 15}
`

// Load creates the demo program with last month's history and closes last
// month, unless the program exists. now is the server clock's time.
func Load(ctx context.Context, baseURL string, now time.Time) error {
	h := http.DefaultClient
	programs := accruev1connect.NewProgramServiceClient(h, baseURL)
	if _, err := programs.GetRules(ctx, connect.NewRequest(&accruev1.GetRulesRequest{Program: Program})); err == nil {
		return nil
	} else if connect.CodeOf(err) != connect.CodeNotFound {
		return fmt.Errorf("demo: %w", err)
	}
	thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	lastMonth := thisMonth.AddDate(0, -1, 0)
	day := func(d, h int) *timestamppb.Timestamp {
		return timestamppb.New(lastMonth.AddDate(0, 0, d-1).Add(time.Duration(h) * time.Hour))
	}

	partners := accruev1connect.NewPartnerServiceClient(h, baseURL)
	tracking := accruev1connect.NewTrackingServiceClient(h, baseURL)
	orders := accruev1connect.NewOrderServiceClient(h, baseURL)
	periods := accruev1connect.NewPeriodServiceClient(h, baseURL)
	line := func(product, amount string) *accruev1.OrderLine {
		return &accruev1.OrderLine{Product: product, Amount: amount}
	}
	steps := []func() error{
		func() error {
			_, err := programs.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{Program: Program, IdempotencyKey: "demo:rules", At: day(1, 0), Document: Rules}))
			return err
		},
		func() error {
			_, err := partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{Program: Program, IdempotencyKey: "demo:alice", At: day(1, 9),
				Partner: "alice", Code: "ALICE", Private: &accruev1.PartnerPrivate{Email: "alice@example.com", BankAccount: "DE89 3704 0044 0532 0130 00"}}))
			return err
		},
		func() error {
			_, err := partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{Program: Program, IdempotencyKey: "demo:bob", At: day(2, 9),
				Partner: "bob", Code: "BOB", Parent: "alice"}))
			return err
		},
		func() error {
			_, err := tracking.RecordClick(ctx, connect.NewRequest(&accruev1.RecordClickRequest{Program: Program, IdempotencyKey: "demo:click1", At: day(3, 12),
				Partner: "BOB", Visitor: "v-1", Landing: "https://shop.example/bags", UtmSource: "blog", UtmCampaign: "spring"}))
			return err
		},
		func() error {
			_, err := orders.PayOrder(ctx, connect.NewRequest(&accruev1.PayOrderRequest{Program: Program, IdempotencyKey: "demo:o1", At: day(4, 12),
				Order: "o-1001", Customer: "c-1", Visitor: "v-1", Lines: []*accruev1.OrderLine{line("bag", "1100.00"), line("belt", "200.00")}, Shipping: "10.00"}))
			return err
		},
		func() error {
			_, err := orders.PayOrder(ctx, connect.NewRequest(&accruev1.PayOrderRequest{Program: Program, IdempotencyKey: "demo:o2", At: day(9, 15),
				Order: "o-1002", Customer: "c-2", PartnerCode: "ALICE", Lines: []*accruev1.OrderLine{line("wallet", "300.00"), line("gift-card", "50.00")}}))
			return err
		},
		func() error {
			_, err := orders.RefundOrder(ctx, connect.NewRequest(&accruev1.RefundOrderRequest{Program: Program, IdempotencyKey: "demo:o1-refund", At: day(12, 10),
				Order: "o-1001", Lines: []*accruev1.OrderLine{line("belt", "200.00")}}))
			return err
		},
		func() error {
			_, err := periods.ClosePeriod(ctx, connect.NewRequest(&accruev1.ClosePeriodRequest{Program: Program, IdempotencyKey: "demo:close", Period: lastMonth.Format("2006-01")}))
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("demo: step %d: %w", i, err)
		}
	}
	return nil
}
