package accruev1_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// rules is the example program: 10% commission, paid out from 100.00.
const rules = `
currency: USD
timezone: UTC
accrue_on: paid
hold: 0d
commission: {default: 10%}
payout: {minimum: "100.00"}
statements: {schedule: "0 0 1 * *", due_day: 15}
`

// The client of a program: set its rules, register a partner, pay an order
// the partner referred, close the month and read the partner's statement.
// baseURL is where accrued serves, such as "http://127.0.0.1:7070".
func Example() {
	ctx := context.Background()
	programs := accruev1connect.NewProgramServiceClient(http.DefaultClient, baseURL)
	partners := accruev1connect.NewPartnerServiceClient(http.DefaultClient, baseURL)
	orders := accruev1connect.NewOrderServiceClient(http.DefaultClient, baseURL)
	periods := accruev1connect.NewPeriodServiceClient(http.DefaultClient, baseURL)
	jan := func(day int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(2026, 1, day, 12, 0, 0, 0, time.UTC))
	}

	// Every write carries an idempotency key: sending it again is safe.
	if _, err := programs.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{
		Program: "shop", IdempotencyKey: "rules-1", At: jan(1), Document: rules,
	})); err != nil {
		log.Fatal(err)
	}
	reg, err := partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
		Program: "shop", IdempotencyKey: "partner-alice", At: jan(2), Partner: "alice", Code: "ALICE",
	}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("registered", reg.Msg.Partner.Id, "with code", reg.Msg.Partner.Code)

	paid, err := orders.PayOrder(ctx, connect.NewRequest(&accruev1.PayOrderRequest{
		Program: "shop", IdempotencyKey: "order-1001", At: jan(10), Order: "o-1001", Customer: "c-1",
		PartnerCode: "ALICE", Lines: []*accruev1.OrderLine{{Product: "bag", Amount: "1250.00"}},
	}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("order", paid.Msg.Order.Id, "attributed to", paid.Msg.Order.Partner)

	closed, err := periods.ClosePeriod(ctx, connect.NewRequest(&accruev1.ClosePeriodRequest{
		Program: "shop", IdempotencyKey: "close-2026-01", Period: "2026-01",
	}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("closed", closed.Msg.Period, "released", closed.Msg.Released)

	got, err := periods.GetStatement(ctx, connect.NewRequest(&accruev1.GetStatementRequest{
		Program: "shop", Partner: "alice", Period: "2026-01",
	}))
	if err != nil {
		log.Fatal(err)
	}
	st := got.Msg.Statement
	fmt.Printf("statement %s %s: %s, payable %s, due %s\n",
		st.Partner, st.Period, st.Status, st.Closing.Payable, st.DueDate)
	// Output:
	// registered alice with code ALICE
	// order o-1001 attributed to alice
	// closed 2026-01 released 125.00
	// statement alice 2026-01: final, payable 125.00, due 2026-02-15
}
