package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const testProgram = "shop"

// closeT0 is when test programs are created: the first period is 2026-01.
var closeT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// harnessNow is the harness clock between closes: after every event the
// tests send, since an event may not be dated after the server's clock.
var harnessNow = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

// closeRules is a program with a $100 minimum, 10% commission and a 2%
// upline bonus; hold is filled in.
const closeRules = `
currency: USD
timezone: UTC
accrue_on: paid
hold: %s
commission: {default: 10%%}
upline:
  - {level: 1, rate: 2%%, base: order_amount}
payout: {minimum: "100.00"}
statements: {schedule: "0 0 1 * *", due_day: 15}
`

// harness drives one program on its own database through the services.
type harness struct {
	t   testing.TB
	ctx context.Context
	db  *txn.DB
	srv *Server
	clk *clock.Sim
	n   int
}

func newHarness(t testing.TB, hold string) *harness {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.DatabaseURL(t))
	if err != nil {
		t.Fatalf("database.Open: %v", err)
	}
	t.Cleanup(db.Pool.Close)
	clk := clock.NewSim(harnessNow)
	h := &harness{t: t, ctx: ctx, db: db, srv: New(db, clk, nil), clk: clk}
	_, err = (&programService{h.srv}).PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{
		Program: testProgram, IdempotencyKey: h.key(), At: timestamppb.New(closeT0),
		Document: fmt.Sprintf(closeRules, hold),
	}))
	h.must(err)
	return h
}

// sibling is a second Server over the same database, with its own claim id.
func (h *harness) sibling() *Server { return New(h.db, h.clk, nil) }

func (h *harness) must(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) key() string { h.n++; return fmt.Sprintf("k%d", h.n) }

func day(month time.Month, d int) time.Time { return time.Date(2026, month, d, 12, 0, 0, 0, time.UTC) }

func (h *harness) register(id, parent string, at time.Time) {
	h.t.Helper()
	_, err := (&partnerService{h.srv}).RegisterPartner(h.ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
		Program: testProgram, IdempotencyKey: h.key(), At: timestamppb.New(at), Partner: id, Code: strings.ToUpper(id),
		Parent: parent, Private: &accruev1.PartnerPrivate{BankAccount: "DE00 " + id, BankName: "Bank of " + id},
	}))
	h.must(err)
}

func (h *harness) setStatus(id string, st accruev1.PartnerStatus, at time.Time) {
	h.t.Helper()
	_, err := (&partnerService{h.srv}).UpdatePartner(h.ctx, connect.NewRequest(&accruev1.UpdatePartnerRequest{
		Program: testProgram, IdempotencyKey: h.key(), At: timestamppb.New(at), Partner: id, Status: st,
	}))
	h.must(err)
}

// pay pays an order of one "bag" line attributed to partner's code.
func (h *harness) pay(order, partner, amount string, at time.Time) {
	h.t.Helper()
	_, err := (&orderService{h.srv}).PayOrder(h.ctx, connect.NewRequest(&accruev1.PayOrderRequest{
		Program: testProgram, IdempotencyKey: h.key(), At: timestamppb.New(at), Order: order,
		Customer: "c-" + order, PartnerCode: strings.ToUpper(partner),
		Lines: []*accruev1.OrderLine{{Product: "bag", Amount: amount}},
	}))
	h.must(err)
}

func (h *harness) refund(order, amount string, at time.Time) {
	h.t.Helper()
	_, err := (&orderService{h.srv}).RefundOrder(h.ctx, connect.NewRequest(&accruev1.RefundOrderRequest{
		Program: testProgram, IdempotencyKey: h.key(), At: timestamppb.New(at), Order: order,
		Lines: []*accruev1.OrderLine{{Product: "bag", Amount: amount}},
	}))
	h.must(err)
}

// closeWith closes period through srv's RPC with the clock at now, and
// puts the clock back to harnessNow after.
func (h *harness) closeWith(srv *Server, period string, now time.Time) (*accruev1.ClosePeriodResponse, error) {
	return h.closeCtx(h.ctx, srv, period, now)
}

// closeCtx is closeWith on ctx.
func (h *harness) closeCtx(ctx context.Context, srv *Server, period string, now time.Time) (*accruev1.ClosePeriodResponse, error) {
	h.clk.Set(now)
	defer h.clk.Set(harnessNow)
	resp, err := (&periodService{srv}).ClosePeriod(ctx, connect.NewRequest(&accruev1.ClosePeriodRequest{
		Program: testProgram, IdempotencyKey: h.key(), Period: period,
	}))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func (h *harness) close(period string, now time.Time) *accruev1.ClosePeriodResponse {
	h.t.Helper()
	resp, err := h.closeWith(h.srv, period, now)
	h.must(err)
	return resp
}

// balances returns every non-zero balance.
func (h *harness) balances() map[string]string {
	h.t.Helper()
	bs, err := ledger.Balances(h.ctx, h.db.Pool, testProgram, nil, time.Time{})
	h.must(err)
	out := map[string]string{}
	for _, b := range bs {
		if !b.Amount.IsZero() {
			out[b.Account] = b.Amount.StringFixed(2)
		}
	}
	return out
}

func (h *harness) statements(partner, period string) []*accruev1.Statement {
	h.t.Helper()
	resp, err := (&periodService{h.srv}).ListStatements(h.ctx, connect.NewRequest(&accruev1.ListStatementsRequest{
		Program: testProgram, Partner: partner, Period: period,
	}))
	h.must(err)
	return resp.Msg.Statements
}

func (h *harness) statement(partner, period string) *accruev1.Statement {
	h.t.Helper()
	sts := h.statements(partner, period)
	if len(sts) != 1 {
		h.t.Fatalf("statements of %s for %s: got %d, want 1", partner, period, len(sts))
	}
	return sts[0]
}

// journal renders every transaction (without ids and creation times) in id
// order, so two runs can be compared.
func (h *harness) journal() []string {
	h.t.Helper()
	var out []string
	after := int64(0)
	for {
		ts, err := ledger.ListTransactions(h.ctx, h.db.Pool, testProgram, ledger.TransactionFilter{AfterID: after, Limit: ledger.PageSizeMax})
		h.must(err)
		for _, t := range ts {
			var es []string
			for _, e := range t.Entries {
				es = append(es, e.Account+"="+e.Amount.StringFixed(2))
			}
			out = append(out, fmt.Sprintf("%s %s %s %s %v", t.Key, t.Kind, t.Period, t.At.Format(time.RFC3339), es))
			after = t.ID
		}
		if len(ts) < ledger.PageSizeMax {
			return out
		}
	}
}

// comparable strips what legitimately differs between two runs of the same
// close: issue times and transaction ids.
func comparable(sts []*accruev1.Statement) []*accruev1.Statement {
	out := make([]*accruev1.Statement, len(sts))
	for i, st := range sts {
		c := proto.Clone(st).(*accruev1.Statement)
		c.IssuedAt = nil
		for _, l := range c.Lines {
			l.TransactionId = 0
		}
		out[i] = c
	}
	return out
}

func wantBalances(t *testing.T, got *accruev1.StatementBalances, pending, accrued, payable string) {
	t.Helper()
	if got.GetPending() != pending || got.GetAccrued() != accrued || got.GetPayable() != payable {
		t.Errorf("balances %v, want pending %s accrued %s payable %s", got, pending, accrued, payable)
	}
}
