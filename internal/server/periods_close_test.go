package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
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
	h.clk.Set(now)
	defer h.clk.Set(harnessNow)
	resp, err := (&periodService{srv}).ClosePeriod(h.ctx, connect.NewRequest(&accruev1.ClosePeriodRequest{
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
		ts, err := ledger.ListTransactions(h.ctx, h.db.Pool, testProgram, ledger.TransactionFilter{AfterID: after, Limit: ledger.MaxPageSize})
		h.must(err)
		for _, t := range ts {
			var es []string
			for _, e := range t.Entries {
				es = append(es, e.Account+"="+e.Amount.StringFixed(2))
			}
			out = append(out, fmt.Sprintf("%s %s %s %s %v", t.Key, t.Kind, t.Period, t.At.Format(time.RFC3339), es))
			after = t.ID
		}
		if len(ts) < ledger.MaxPageSize {
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

func TestCloseNothingToDo(t *testing.T) {
	h := newHarness(t, "0d")
	resp := h.close("2026-01", day(time.February, 2))
	if resp.AlreadyClosed || resp.Statements != 0 || resp.Released != "0.00" || resp.Period != "2026-01" {
		t.Fatalf("first close: %v", resp)
	}
	resp = h.close("2026-01", day(time.February, 3))
	if !resp.AlreadyClosed || resp.Statements != 0 {
		t.Fatalf("second close: %v", resp)
	}
	if _, err := h.closeWith(h.srv, "2026-02", day(time.February, 28)); fault.CodeOf(err) != fault.FailedPrecondition {
		t.Fatalf("closing an open period: got %v, want failed_precondition", err)
	}
	if _, err := h.closeWith(h.srv, "2025-12", day(time.February, 28)); fault.CodeOf(err) != fault.InvalidArgument {
		t.Fatalf("closing a period before the program: got %v, want invalid_argument", err)
	}
	if _, err := h.closeWith(h.srv, "2026-1", day(time.February, 28)); fault.CodeOf(err) != fault.InvalidArgument {
		t.Fatalf("closing a malformed period: got %v, want invalid_argument", err)
	}
	if j := h.journal(); len(j) != 0 {
		t.Fatalf("journal: %v", j)
	}
}

// TestCloseReleaseThreshold covers the minimum exactly, one cent below, a
// suspended partner, upline lines, statement fields and a re-run.
func TestCloseReleaseThreshold(t *testing.T) {
	h := newHarness(t, "0d")
	h.register("alice", "", day(time.January, 2))
	h.register("bob", "alice", day(time.January, 2))   // exactly the minimum: 100.00
	h.register("carol", "alice", day(time.January, 2)) // one cent below: 99.99
	h.register("dave", "", day(time.January, 2))       // suspended: no release
	h.pay("o1", "bob", "1000.00", day(time.January, 5))
	h.pay("o2", "carol", "999.90", day(time.January, 6))
	h.pay("o3", "dave", "5000.00", day(time.January, 7))
	h.setStatus("dave", accruev1.PartnerStatus_PARTNER_STATUS_SUSPENDED, day(time.January, 20))

	resp := h.close("2026-01", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	if resp.Statements != 4 || resp.Released != "100.00" {
		t.Fatalf("close: %v", resp)
	}
	bob := h.statement("bob", "2026-01")
	if bob.Status != affiliate.StatementFinal || bob.Released != "100.00" || bob.DueDate != "2026-02-15" {
		t.Errorf("bob: %v", bob)
	}
	wantBalances(t, bob.Opening, "0.00", "0.00", "0.00")
	wantBalances(t, bob.Closing, "0.00", "0.00", "100.00")
	wantLines := []string{
		"accrual accrued 100.00 Commission on order o1 (customer c-o1)",
		"release accrued -100.00 Released to payable",
		"release payable 100.00 Released to payable",
	}
	if got := lineSummary(bob); !equal(got, wantLines) {
		t.Errorf("bob lines:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantLines, "\n"))
	}
	carol := h.statement("carol", "2026-01")
	if carol.Status != affiliate.StatementPreliminary || carol.Released != "0.00" {
		t.Errorf("carol: %v", carol)
	}
	wantBalances(t, carol.Closing, "0.00", "99.99", "0.00")
	dave := h.statement("dave", "2026-01")
	if dave.Status != affiliate.StatementPreliminary || dave.Released != "0.00" {
		t.Errorf("dave: %v", dave)
	}
	wantBalances(t, dave.Closing, "0.00", "500.00", "0.00")
	alice := h.statement("alice", "2026-01") // 20.00 + 20.00 (2% of 999.90 = 19.998)
	wantBalances(t, alice.Closing, "0.00", "40.00", "0.00")
	if got := lineSummary(alice); len(got) != 2 || got[0] != "upline accrued 20.00 Income from referral program from bob" {
		t.Errorf("alice lines: %v", got)
	}

	before := h.journal()
	again := h.close("2026-01", day(time.March, 1))
	if !again.AlreadyClosed || again.Statements != 4 || again.Released != "100.00" {
		t.Errorf("re-run: %v", again)
	}
	if after := h.journal(); !equal(before, after) {
		t.Errorf("a re-run changed the journal")
	}

	// February: nothing happened; carol's 99.99 carries, dave stays
	// suspended. A late January event is booked in February.
	h.pay("o4", "carol", "0.10", day(time.January, 31))
	h.close("2026-02", day(time.March, 1))
	carol = h.statement("carol", "2026-02")
	if carol.Status != affiliate.StatementFinal || carol.Released != "100.00" {
		t.Errorf("carol in February: %v", carol)
	}
	wantBalances(t, carol.Opening, "0.00", "99.99", "0.00")
	wantBalances(t, carol.Closing, "0.00", "0.00", "100.00")
	if got := h.balances()["partner:dave:accrued"]; got != "500.00" {
		t.Errorf("dave accrued %s, want 500.00", got)
	}
}

func lineSummary(st *accruev1.Statement) []string {
	var out []string
	for _, l := range st.Lines {
		acct := l.Account[strings.LastIndex(l.Account, ":")+1:]
		out = append(out, fmt.Sprintf("%s %s %s %s", l.Kind, acct, l.Amount, l.Description))
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCloseMaturing: with a hold, an accrual matures at the first close
// after its hold ended, net of refunds inside the hold; a later one stays
// pending. Closing February first closes January.
func TestCloseMaturing(t *testing.T) {
	h := newHarness(t, "14d")
	h.register("judy", "", day(time.January, 2))
	h.register("kim", "judy", day(time.January, 2))
	h.pay("u1", "kim", "1000.00", day(time.January, 11)) // kim 100, judy 20: pending
	h.refund("u1", "100.00", day(time.January, 20))      // kim -10, judy -2: inside the hold
	h.pay("u2", "kim", "200.00", day(time.January, 25))  // matures 02-08
	h.pay("u3", "kim", "500.00", day(time.February, 20)) // matures 03-06

	resp := h.close("2026-02", day(time.March, 2))
	if resp.Period != "2026-02" || resp.Released != "110.00" {
		t.Fatalf("close: %v", resp)
	}
	jan := h.statement("kim", "2026-01")
	wantBalances(t, jan.Closing, "20.00", "90.00", "0.00")
	feb := h.statement("kim", "2026-02")
	wantBalances(t, feb.Opening, "20.00", "90.00", "0.00")
	wantBalances(t, feb.Closing, "50.00", "0.00", "110.00")
	if feb.Status != affiliate.StatementFinal {
		t.Errorf("kim February: %v", feb)
	}
	judy := h.statement("judy", "2026-02")
	wantBalances(t, judy.Closing, "10.00", "22.00", "0.00")
	want := map[string]string{
		"partner:kim:pending": "50.00", "partner:kim:payable": "110.00",
		"partner:judy:pending": "10.00", "partner:judy:accrued": "22.00",
		"partner:kim:sales": "1600.00", "platform:attributed_sales": "1600.00",
		"platform:commission_expense": "160.00", "platform:upline_expense": "32.00",
	}
	if got := h.balances(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("balances\n got %v\nwant %v", got, want)
	}
}

// TestCloseConcurrent: two processes closing the same periods at once
// write statements and postings once.
func TestCloseConcurrent(t *testing.T) {
	h := newHarness(t, "14d")
	h.register("alice", "", day(time.January, 2))
	for i := range 12 {
		p := fmt.Sprintf("p%02d", i)
		h.register(p, "alice", day(time.January, 2))
		h.pay("o"+p, p, fmt.Sprintf("%d.00", 1000+20*i), day(time.January, 3+i))
	}
	h.clk.Set(day(time.March, 2))
	servers := []*Server{h.srv, h.sibling(), h.sibling()}
	// Whichever racer takes the claim holds still before its first partner
	// until the others have returned, so they meet a live claim mid-close
	// rather than (if scheduled late) a period already closed.
	var (
		wg       sync.WaitGroup
		errs     = make([]error, len(servers))
		returned = make(chan struct{}, len(servers))
		others   = make(chan struct{})
	)
	go func() {
		for range len(servers) - 1 {
			<-returned
		}
		close(others)
	}()
	for _, srv := range servers {
		srv.svc.CloseHooks().Partner = func(string) error {
			select {
			case <-others:
				return nil
			case <-time.After(time.Minute): // a deadlock guard, not a speed check
				return errors.New("the other closers never returned: did two of them hold the claim?")
			}
		}
	}
	for i, srv := range servers {
		wg.Go(func() {
			_, errs[i] = srv.svc.ClosePeriodAt(h.ctx, testProgram, "2026-02", day(time.March, 2))
			returned <- struct{}{}
		})
	}
	wg.Wait()
	t.Logf("close results: %v", errs)
	ok, held := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case fault.CodeOf(err) == fault.Aborted: // another process held the claim
			held++
		default:
			t.Fatalf("close: %v", err)
		}
	}
	if ok != 1 || held != len(servers)-1 {
		t.Fatalf("close results %v: %d succeeded and %d met a claim, want 1 and %d", errs, ok, held, len(servers)-1)
	}
	resp := h.close("2026-02", day(time.March, 2))
	if !resp.AlreadyClosed {
		t.Fatalf("period not closed after the race: %v", resp)
	}
	var kinds = map[string]int{}
	for _, line := range h.journal() {
		kinds[strings.Fields(line)[1]]++
	}
	// Every partner's January accrual matures and is released, alice's
	// upline bonuses too; February has nothing to release.
	if kinds["maturing"] != 12 || kinds["release"] != 13 {
		t.Errorf("postings by kind: %v, want 12 maturing and 13 releases", kinds)
	}
	if n := len(h.statements("", "")); n != 13*2 {
		t.Errorf("statements: %d, want 26", n)
	}
}

// interruptedSetup is the program TestCloseInterrupted and its kin close:
// alice and six partners under her, each with one January order.
func interruptedSetup(h *harness) {
	h.register("alice", "", day(time.January, 2))
	for i := range 6 {
		p := fmt.Sprintf("p%d", i)
		h.register(p, "alice", day(time.January, 2))
		h.pay("o"+p, p, fmt.Sprintf("%d.00", 500+200*i), day(time.January, 3+i))
	}
}

// wholeClose is interruptedSetup closed for January without interruption.
func wholeClose(t *testing.T) *harness {
	whole := newHarness(t, "14d")
	interruptedSetup(whole)
	whole.close("2026-01", day(time.February, 1))
	return whole
}

// failAfter is a close hook that lets n partners through, then fails.
func failAfter(n int) func(string) error {
	seen := 0
	return func(p string) error {
		if seen++; seen > n {
			return fmt.Errorf("crash before %s", p)
		}
		return nil
	}
}

// sameClose fails unless cut ended with whole's journal and statements.
func sameClose(t *testing.T, whole, cut *harness) {
	t.Helper()
	if a, b := whole.journal(), cut.journal(); !equal(a, b) {
		t.Errorf("journals differ:\n%s\n---\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	a, b := comparable(whole.statements("", "")), comparable(cut.statements("", ""))
	if len(a) != len(b) || len(a) != 7 {
		t.Fatalf("statements: %d and %d, want 7", len(a), len(b))
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			t.Errorf("statement %d differs:\n%v\n%v", i, a[i], b[i])
		}
	}
}

// setLease rewrites the lease on period as SQL sets it, by the database's
// clock: a process that crashed leaves its lease behind.
func (h *harness) setLease(period, holder, until string) {
	h.t.Helper()
	_, err := h.db.Pool.Exec(h.ctx, `UPDATE periods SET claimed_by = $3, claimed_until = `+until+`
		WHERE program_id = $1 AND period = $2 AND status = 'closing'`, testProgram, period, holder)
	h.must(err)
}

// leaseLeft is how long the lease on period has left by the database's
// clock (negative once it lapsed).
func (h *harness) leaseLeft(period string) time.Duration {
	h.t.Helper()
	var left time.Duration
	h.must(h.db.Pool.QueryRow(h.ctx, `SELECT claimed_until - clock_timestamp() FROM periods
		WHERE program_id = $1 AND period = $2`, testProgram, period).Scan(&left))
	return left
}

// TestCloseInterrupted: a close that stops with an error gives its lease
// up, so a retry by any process resumes it at once; a close whose process
// died leaves its lease, which blocks the period until it lapses (at most
// service.CloseLease after its last renewal), and then any process resumes it.
// Every way ends with the journal and statements of an uninterrupted close.
func TestCloseInterrupted(t *testing.T) {
	whole := wholeClose(t)
	cut := newHarness(t, "14d")
	interruptedSetup(cut)
	cut.srv.svc.CloseHooks().Batch = 2
	cut.srv.svc.CloseHooks().Partner = failAfter(2)
	if _, err := cut.closeWith(cut.srv, "2026-01", day(time.February, 1)); err == nil {
		t.Fatal("the hook did not stop the close")
	}
	if left := cut.leaseLeft("2026-01"); left > 0 {
		t.Fatalf("a failed close kept its lease for %v more", left)
	}
	// Another process resumes at once, and stops again further on.
	other := cut.sibling()
	other.svc.CloseHooks().Batch = 2
	other.svc.CloseHooks().Partner = failAfter(2)
	if _, err := cut.closeWith(other, "2026-01", day(time.February, 1)); err == nil || fault.CodeOf(err) == fault.Aborted {
		t.Fatalf("another process after a failed close: got %v, want it to resume and meet the hook", err)
	}

	// The process of a close dies just after renewing its lease.
	cut.setLease("2026-01", "dead-host:1:0", fmt.Sprintf("clock_timestamp() + interval '%d milliseconds'", service.CloseLease.Milliseconds()))
	cut.srv.svc.CloseHooks().Partner = nil
	if _, err := cut.closeWith(cut.srv, "2026-01", day(time.February, 1)); fault.CodeOf(err) != fault.Aborted {
		t.Fatalf("during the dead process's lease: got %v, want aborted", err)
	}
	// service.CloseLease later its lease has lapsed, and another process finishes.
	cut.setLease("2026-01", "dead-host:1:0", "clock_timestamp()")
	resp, err := cut.closeWith(cut.sibling(), "2026-01", day(time.February, 1))
	if err != nil || resp.AlreadyClosed {
		t.Fatalf("takeover: %v %v", resp, err)
	}
	sameClose(t, whole, cut)
}

// TestCloseLeaseRenewed: a working close renews its lease, so it never
// lapses while the close goes on.
func TestCloseLeaseRenewed(t *testing.T) {
	h := newHarness(t, "14d")
	interruptedSetup(h)
	h.srv.svc.CloseHooks().Heartbeat = time.Millisecond
	var lefts []time.Duration
	h.srv.svc.CloseHooks().Partner = func(string) error {
		// Age the lease, then wait (with a deadlock guard, not a speed
		// check) for the heartbeat to renew it.
		if _, err := h.db.Pool.Exec(h.ctx, `UPDATE periods SET claimed_until = clock_timestamp() + interval '1 second'
			WHERE program_id = $1 AND period = $2`, testProgram, "2026-01"); err != nil {
			return err
		}
		for guard := time.Now(); time.Since(guard) < time.Minute; time.Sleep(time.Millisecond) {
			if left := h.leaseLeft("2026-01"); left > time.Second {
				lefts = append(lefts, left)
				return nil
			}
		}
		return errors.New("the lease was never renewed")
	}
	h.close("2026-01", day(time.February, 1))
	if len(lefts) != 7 {
		t.Fatalf("renewed %d times, want once per partner (7)", len(lefts))
	}
	for _, left := range lefts {
		if left > service.CloseLease {
			t.Errorf("a renewal left %v, more than the lease %v", left, service.CloseLease)
		}
	}
}

// TestCloseStaleOwnerStops: a close paused past its lease (a long GC, a
// frozen VM) is taken over; when it wakes it writes nothing more and
// stops, and the close written once equals an uninterrupted one.
func TestCloseStaleOwnerStops(t *testing.T) {
	whole := wholeClose(t)
	cut := newHarness(t, "14d")
	interruptedSetup(cut)
	cut.srv.svc.CloseHooks().Heartbeat = time.Hour // the paused process renews nothing
	cut.srv.svc.CloseHooks().Batch = 1
	var takeover error
	seen := 0
	cut.srv.svc.CloseHooks().Partner = func(string) error {
		if seen++; seen == 3 {
			cut.setLease("2026-01", cut.holder("2026-01"), "clock_timestamp()")
			_, takeover = (&periodService{cut.sibling()}).ClosePeriod(cut.ctx, connect.NewRequest(&accruev1.ClosePeriodRequest{
				Program: testProgram, IdempotencyKey: "takeover", Period: "2026-01"}))
		}
		return nil
	}
	_, err := cut.closeWith(cut.srv, "2026-01", day(time.February, 1))
	if takeover != nil {
		t.Fatalf("takeover: %v", takeover)
	}
	if fault.CodeOf(err) != fault.Aborted {
		t.Fatalf("the stale owner: got %v, want aborted (lease lost)", err)
	}
	if seen != 3 {
		t.Errorf("the stale owner went on to %d partners, want it to stop at the third", seen)
	}
	sameClose(t, whole, cut)
}

// TestCloseReleasesWithStatements: a close that stops inside a batch,
// after its releases were posted and before its statements, leaves no
// partner released without its statement (the batch is rolled back whole),
// and the resumed close equals an uninterrupted one.
func TestCloseReleasesWithStatements(t *testing.T) {
	whole := wholeClose(t)
	cut := newHarness(t, "14d")
	interruptedSetup(cut)
	cut.srv.svc.CloseHooks().Batch = 3
	batches := 0
	cut.srv.svc.CloseHooks().AfterReleases = func(partners []string) error {
		if batches++; batches == 2 {
			return fmt.Errorf("crash after releasing %v", partners)
		}
		return nil
	}
	if _, err := cut.closeWith(cut.srv, "2026-01", day(time.February, 1)); err == nil {
		t.Fatal("the hook did not stop the close")
	}
	released, stated := cut.releasedAndStated("2026-01")
	if !equal(stated, []string{"alice", "p0", "p1"}) {
		t.Fatalf("statements of %v, want the first batch's", stated)
	}
	// alice (120.00 of upline bonuses) is released, p0 and p1 (50.00 and
	// 70.00) are below the minimum; p2 (90.00) and p3 (110.00) are in the
	// batch that was rolled back.
	if !equal(released, []string{"alice"}) {
		t.Fatalf("releases of %v, want alice's alone", released)
	}
	cut.srv.svc.CloseHooks().AfterReleases = nil
	if _, err := cut.closeWith(cut.sibling(), "2026-01", day(time.February, 1)); err != nil {
		t.Fatal(err)
	}
	sameClose(t, whole, cut)
}

// releasedAndStated lists the partners released in period and those with
// a statement for it, each sorted.
func (h *harness) releasedAndStated(period string) (released, stated []string) {
	h.t.Helper()
	rows, err := h.db.Pool.Query(h.ctx, `SELECT refs->>'partner' FROM transactions
		WHERE program_id = $1 AND kind = 'release' AND period = $2 ORDER BY 1`, testProgram, period)
	h.must(err)
	released, err = pgx.CollectRows(rows, pgx.RowTo[string])
	h.must(err)
	rows, err = h.db.Pool.Query(h.ctx, `SELECT partner_id FROM statements
		WHERE program_id = $1 AND period = $2 ORDER BY 1`, testProgram, period)
	h.must(err)
	stated, err = pgx.CollectRows(rows, pgx.RowTo[string])
	h.must(err)
	return released, stated
}

// holder is who holds the lease on period.
func (h *harness) holder(period string) string {
	h.t.Helper()
	var by string
	h.must(h.db.Pool.QueryRow(h.ctx, `SELECT claimed_by FROM periods WHERE program_id = $1 AND period = $2`,
		testProgram, period).Scan(&by))
	return by
}

// TestRunDueCloses: the scheduler closes the period before each tick once,
// in order, and keeps its cursor.
func TestRunDueCloses(t *testing.T) {
	h := newHarness(t, "0d")
	h.register("bob", "", day(time.January, 2))
	h.pay("o1", "bob", "600.00", day(time.January, 5))
	h.pay("o2", "bob", "600.00", day(time.February, 5))
	h.clk.Set(day(time.March, 2))
	h.must(h.srv.RunDueCloses(h.ctx, day(time.March, 2)))
	var closed []string
	rows, err := h.db.Pool.Query(h.ctx, `SELECT period FROM periods WHERE program_id = $1 AND status = 'closed' ORDER BY period`, testProgram)
	h.must(err)
	closed, err = pgx.CollectRows(rows, pgx.RowTo[string])
	h.must(err)
	if !equal(closed, []string{"2026-01", "2026-02"}) {
		t.Fatalf("closed %v", closed)
	}
	var cursor time.Time
	h.must(h.db.Pool.QueryRow(h.ctx, `SELECT statements_cursor FROM schedules WHERE program_id = $1`, testProgram).Scan(&cursor))
	if !cursor.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("cursor %v", cursor)
	}
	if st := h.statement("bob", "2026-02"); st.Released != "120.00" {
		t.Errorf("February: %v", st)
	}
	before := h.journal()
	h.must(h.srv.RunDueCloses(h.ctx, day(time.March, 20)))
	if !equal(before, h.journal()) {
		t.Error("a second run changed the journal")
	}
	periods := []string{}
	for _, st := range h.statements("bob", "") {
		periods = append(periods, st.Period)
	}
	sort.Strings(periods)
	if !equal(periods, []string{"2026-01", "2026-02"}) {
		t.Errorf("statement periods %v", periods)
	}
}

// TestCloseLeaseRenewedAfterItsOwnClose: a heartbeat that beats after the
// close marked its period closed (and before the run stopped its
// heartbeat) finds the lease still its own; it must not cancel the run,
// whose last statement may not have returned yet (found as a flaky
// TestCloseLeaseRenewed under load).
func TestCloseLeaseRenewedAfterItsOwnClose(t *testing.T) {
	h := newHarness(t, "14d")
	interruptedSetup(h)
	h.close("2026-01", day(time.February, 1))
	l := store.Lease{Program: testProgram, Period: "2026-01", Holder: h.holder("2026-01")}
	held, err := store.RenewLease(h.ctx, h.db.Pool, l, service.CloseLease)
	h.must(err)
	if !held {
		t.Fatal("the run that closed the period lost its lease to nobody")
	}
	other := store.Lease{Program: testProgram, Period: "2026-01", Holder: "someone-else"}
	if held, err := store.RenewLease(h.ctx, h.db.Pool, other, service.CloseLease); err != nil || held {
		t.Fatalf("another run renewed a lease it never held: held %v, err %v", held, err)
	}
}
