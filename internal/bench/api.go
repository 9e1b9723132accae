package bench

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// rulesTemplate is every bench program's rules: 10% commission, one
// upline level (so an order also pays its partner's parent), every partner
// above a $10 minimum, no hold. The statements schedule ticks once a year
// in the month %d, months away, so the scheduler never closes a month the
// bench closes itself.
const rulesTemplate = `currency: USD
timezone: UTC
accrue_on: paid
hold: 0d
commission: {default: 10%%}
upline:
  - {level: 1, rate: 2%%, base: order_amount}
payout: {minimum: "10.00"}
statements: {schedule: "0 0 1 %d *", due_day: 15}
`

// orderLines are the two lines of every bench order.
func orderLines() []*accruev1.OrderLine {
	return []*accruev1.OrderLine{{Product: "bag", Amount: "120.00"}, {Product: "belt", Amount: "35.50"}}
}

// api is a set of Connect JSON clients over one connection pool.
type api struct {
	baseURL  string
	http     *http.Client
	programs accruev1connect.ProgramServiceClient
	partners accruev1connect.PartnerServiceClient
	tracking accruev1connect.TrackingServiceClient
	orders   accruev1connect.OrderServiceClient
	periods  accruev1connect.PeriodServiceClient
	ledger   accruev1connect.LedgerServiceClient
}

// newAPI returns clients sharing a pool of conns HTTP/1.1 connections.
func newAPI(baseURL string, conns int) *api {
	h := newHTTPClient(conns)
	o := connect.WithProtoJSON()
	return &api{
		baseURL: baseURL, http: h,
		programs: accruev1connect.NewProgramServiceClient(h, baseURL, o),
		partners: accruev1connect.NewPartnerServiceClient(h, baseURL, o),
		tracking: accruev1connect.NewTrackingServiceClient(h, baseURL, o),
		orders:   accruev1connect.NewOrderServiceClient(h, baseURL, o),
		periods:  accruev1connect.NewPeriodServiceClient(h, baseURL, o),
		ledger:   accruev1connect.NewLedgerServiceClient(h, baseURL, o),
	}
}

// withConns returns the same clients over a pool of conns connections.
func (a *api) withConns(conns int) *api { return newAPI(a.baseURL, conns) }

// monthStart is the first instant of t's month, UTC.
func monthStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// lastMonth is the month before now's: bench programs are created in it,
// so it can be closed.
func lastMonth(now time.Time) time.Time { return monthStart(now).AddDate(0, -1, 0) }

// createProgram puts the bench rules on program, dated at the start of
// last month.
func (r *run) createProgram(ctx context.Context, program string) error {
	tickMonth := int(r.now.AddDate(0, 6, 0).Month())
	_, err := r.api.programs.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{
		Program: program, IdempotencyKey: "bench:rules", At: timestamppb.New(lastMonth(r.now).Add(time.Hour)),
		Document: fmt.Sprintf(rulesTemplate, tickMonth),
	}))
	if err != nil {
		return fmt.Errorf("rules of %s: %w", program, err)
	}
	return nil
}

// partnerID is the i-th partner; partner i > 0 has parent (i-1)/2, a
// binary referral tree, so every order but the root's pays an upline.
func partnerID(i int) string { return fmt.Sprintf("p%d", i) }

// partnerCode is partner i's referral code.
func partnerCode(i int) string { return fmt.Sprintf("P%d", i) }

// registerPartners registers n partners of program in the tree shape,
// parents first (a partner's parent has a lower index and is registered in
// an earlier wave), with the setup concurrency.
func (r *run) registerPartners(ctx context.Context, program string, n int) error {
	at := timestamppb.New(lastMonth(r.now).Add(2 * time.Hour))
	// Wave w holds the indexes [2^w - 1, 2^(w+1) - 1): their parents are
	// all in wave w-1.
	for lo := 0; lo < n; lo = 2*lo + 1 {
		hi := min(2*lo+1, n)
		err := forEach(ctx, hi-lo, r.opts.SetupConns, func(ctx context.Context, k int) error {
			i := lo + k
			parent := ""
			if i > 0 {
				parent = partnerID((i - 1) / 2)
			}
			_, err := r.api.partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
				Program: program, IdempotencyKey: "bench:partner:" + partnerID(i), At: at,
				Partner: partnerID(i), Code: partnerCode(i), Parent: parent,
			}))
			return err
		}, func(done int) { r.logf("%s: partners %d of %d", program, lo+done, n) })
		if err != nil {
			return fmt.Errorf("registering partners of %s: %w", program, err)
		}
	}
	return nil
}

// payOrderRequest is the PayOrder of bench order id for the partner with
// code, without a time.
func payOrderRequest(program, id, code string) *accruev1.PayOrderRequest {
	return &accruev1.PayOrderRequest{
		Program: program, IdempotencyKey: "bench:order:" + id, Order: id,
		Customer: "c-" + id, PartnerCode: code, Lines: orderLines(),
	}
}

// payOrder pays bench order id for partner i; a zero at means now.
func (a *api) payOrder(ctx context.Context, program, id string, partner int, at time.Time) error {
	req := payOrderRequest(program, id, partnerCode(partner))
	if !at.IsZero() {
		req.At = timestamppb.New(at)
	}
	_, err := a.orders.PayOrder(ctx, connect.NewRequest(req))
	return err
}
