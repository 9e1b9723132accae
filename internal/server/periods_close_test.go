package server

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

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
	if _, err := h.closeWith(h.srv, "2026-02", day(time.February, 28)); fault.CodeOf(err) != fault.CodeFailedPrecondition {
		t.Fatalf("closing an open period: got %v, want failed_precondition", err)
	}
	if _, err := h.closeWith(h.srv, "2025-12", day(time.February, 28)); fault.CodeOf(err) != fault.CodeInvalidArgument {
		t.Fatalf("closing a period before the program: got %v, want invalid_argument", err)
	}
	if _, err := h.closeWith(h.srv, "2026-1", day(time.February, 28)); fault.CodeOf(err) != fault.CodeInvalidArgument {
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
	errs := raceCloses(h, []*Server{h.srv, h.sibling(), h.sibling()}, "2026-02", day(time.March, 2))
	t.Logf("close results: %v", errs)
	ok, held := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case fault.CodeOf(err) == fault.CodeAborted: // another process held the claim
			held++
		default:
			t.Fatalf("close: %v", err)
		}
	}
	if ok != 1 || held != len(errs)-1 {
		t.Fatalf("close results %v: %d succeeded and %d met a claim, want 1 and %d", errs, ok, held, len(errs)-1)
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

// raceCloses runs the close of period on every server at once and returns
// each one's error. Whichever racer takes the claim holds still
// before its first partner until the others have returned, so they meet a
// live claim mid-close rather than (if scheduled late) a period already
// closed.
func raceCloses(h *harness, servers []*Server, period string, now time.Time) []error {
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
			_, errs[i] = srv.svc.ClosePeriodAt(h.ctx, testProgram, period, now)
			returned <- struct{}{}
		})
	}
	wg.Wait()
	return errs
}

// interruptedSetup is the program TestCloseInterrupted and its kin close:
// alice and six partners under her, each with one January order.
