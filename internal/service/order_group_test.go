package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/pgtest"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const groupProgram = "shop"

// groupT0 dates the program; orders are paid days after it.
var groupT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const groupRules = `
currency: USD
timezone: UTC
accrue_on: paid
hold: 14d
commission: {default: 10%}
tiers:
  - {name: Bronze, min_volume: "0", rate: 5%}
  - {name: Silver, min_volume: "1000.00", rate: 7%}
upline:
  - {level: 1, rate: 2%, base: order_amount}
payout: {minimum: "100.00"}
statements: {schedule: "0 0 1 * *", due_day: 15}
`

// groupService is a Service on a fresh database with a program whose
// partner "child" (code "child") has the parent "parent".
func groupService(t *testing.T) *Service {
	return groupServiceWith(t, database.Options{})
}

// groupServiceWith is groupService on a database opened with opts (its
// MigrateURL a fresh test database unless set).
func groupServiceWith(t *testing.T, opts database.Options) *Service {
	t.Helper()
	ctx := context.Background()
	if opts.MigrateURL == "" {
		opts.MigrateURL = pgtest.DatabaseURL(t)
	}
	db, err := database.OpenWith(ctx, opts)
	if err != nil {
		t.Fatalf("database.OpenWith: %v", err)
	}
	t.Cleanup(db.Pool.Close)
	s := New(db, clock.NewSim(groupT0.AddDate(1, 0, 0)), nil)
	_, err = s.PutRules(ctx, testCommand("rules", "rules"), PutRulesInput{Program: groupProgram, Document: groupRules, At: groupT0}, encodeAny[store.RulesVersion])
	must(t, err)
	for _, p := range []NewPartner{{Partner: "parent", Code: "parent"}, {Partner: "child", Code: "child", Parent: "parent"}} {
		p.Program, p.At = groupProgram, groupT0
		_, err := s.RegisterPartner(ctx, testCommand("reg-"+p.Partner, p.Partner), p, encodeAny[PartnerView])
		must(t, err)
	}
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// testCommand is a command of the test program whose request hash is
// payload's.
func testCommand(key, payload string) Command {
	return Command{Program: groupProgram, Key: key, Method: "test", Hash: []byte(payload)}
}

func encodeAny[T any](T) ([]byte, error) { return []byte("ok"), nil }

// encodeOrder encodes an order as "id partner commission".
func encodeOrder(v OrderView) ([]byte, error) {
	commission := "-"
	if v.Order.State != nil {
		commission = v.Order.State.Commission().StringFixed(v.Scale)
	}
	return fmt.Appendf(nil, "%s %s %s", v.Order.ID, v.Order.Partner, commission), nil
}

// orderOf is the PayOrder of order id (its key "key-"+id, unless key is
// set) for the child's code, of one line of amount.
func orderOf(id, key, amount string) orderCall {
	if key == "" {
		key = "key-" + id
	}
	in := PayOrderInput{Order: id, Customer: "c-" + id, CodeKey: "child", Lines: []OrderLine{{Product: "p", Amount: amount}}, At: groupT0.AddDate(0, 0, 3)}
	return orderCall{c: testCommand(key, id+amount), in: in, encode: encodeOrder}
}

// verifyJournal fails t unless the program's journal verifies.
func verifyJournal(t *testing.T, s *Service) {
	t.Helper()
	r, err := ledger.Verify(context.Background(), s.db.Pool, groupProgram)
	must(t, err)
	if !r.OK() {
		t.Fatalf("journal does not verify: %v", r.Problems)
	}
}

// countOrders is how many orders and accrual transactions the program has.
func countOrders(t *testing.T, s *Service) (orders, accruals int) {
	t.Helper()
	ctx := context.Background()
	must(t, s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM orders WHERE program_id = $1`, groupProgram).Scan(&orders))
	must(t, s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM transactions WHERE program_id = $1 AND kind = 'order.accrual'`, groupProgram).Scan(&accruals))
	return orders, accruals
}

func wantCode(t *testing.T, what string, err error, code fault.Code, field string) {
	t.Helper()
	var f *fault.Error
	if !errors.As(err, &f) || f.Code != code || f.Field != field {
		t.Errorf("%s: got %v, want code %d on field %q", what, err, code, field)
	}
}

// One batch with a bad amount and an order paid twice under another key:
// those two fail alone with their own errors, having written nothing; the
// others commit, each once.
func TestPayOrderBatchIsolatesFailures(t *testing.T) {
	s := groupService(t)
	calls := []orderCall{orderOf("o1", "", "100.00"), orderOf("o2", "", "not-money"), orderOf("o3", "", "50.00"),
		orderOf("o1", "other-key", "100.00"), orderOf("o4", "", "20.00")}
	out := s.payOrderGroup(context.Background(), groupProgram, calls)
	for _, i := range []int{0, 2, 4} {
		if out[i].Err != nil || out[i].Replayed || !out[i].Fresh {
			t.Errorf("order %d: %+v, want applied", i, out[i])
		}
	}
	if got, want := string(out[0].Body), "o1 child 5.00"; got != want {
		t.Errorf("o1's response %q, want %q", got, want)
	}
	wantSequential(t, calls, out)
	wantCode(t, "bad amount", out[1].Err, fault.CodeInvalidArgument, "lines[0].amount")
	wantCode(t, "paid twice", out[3].Err, fault.CodeFailedPrecondition, "order")
	if orders, accruals := countOrders(t, s); orders != 3 || accruals != 3 {
		t.Errorf("%d orders, %d accruals; want 3 and 3", orders, accruals)
	}
	for _, key := range []string{"key-o2", "other-key"} {
		if _, found, err := store.LoadCommand(context.Background(), s.db.Pool, groupProgram, key); err != nil || found {
			t.Errorf("refused command's key %q recorded (%v)", key, err)
		}
	}
	// Each applied command replays as a sequential retry would.
	again := s.payOrderGroup(context.Background(), groupProgram, calls[:1])
	if !again[0].Replayed || string(again[0].Body) != string(out[0].Body) {
		t.Errorf("retry of o1: %+v, want a replay of %q", again[0], out[0].Body)
	}
	verifyJournal(t, s)
}

// describe is an outcome as compared between a batch and sequential calls.
func describe(o orderOutcome) string {
	if o.Err != nil {
		var f *fault.Error
		if errors.As(o.Err, &f) {
			return fmt.Sprintf("fault %d on %s", f.Code, f.Field)
		}
		return "error " + o.Err.Error()
	}
	return fmt.Sprintf("%q replayed=%v", o.Body, o.Replayed)
}

// wantSequential fails t unless out, the outcomes of calls paid as one
// batch, are those of the same calls paid one after the other, each alone,
// on a fresh database.
func wantSequential(t *testing.T, calls []orderCall, out []orderOutcome) {
	t.Helper()
	seq := groupService(t)
	for i, c := range calls {
		want := seq.payOrderGroup(context.Background(), groupProgram, []orderCall{c})[0]
		if got, want := describe(out[i]), describe(want); got != want {
			t.Errorf("command %d (%s): batch %s, sequential %s", i, c.c.Key, got, want)
		}
	}
}

// The same key twice in one batch answers as sequential calls would: the
// same payload replays the first's response, another payload is refused;
// a partner's later orders of the batch see the tier its earlier ones
// reached (Silver from 1,000.00 of sales).
func TestPayOrderBatchSameKeyTwice(t *testing.T) {
	s := groupService(t)
	calls := []orderCall{orderOf("o1", "", "600.00"), orderOf("o1", "", "600.00"), orderOf("o2", "", "400.00"),
		orderOf("o3", "key-o2", "10.00"), orderOf("o4", "", "100.00")}
	out := s.payOrderGroup(context.Background(), groupProgram, calls)
	wantSequential(t, calls, out)
	if !out[1].Replayed || string(out[1].Body) != string(out[0].Body) {
		t.Errorf("same key and payload: %s, want a replay of %q", describe(out[1]), out[0].Body)
	}
	wantCode(t, "same key, other payload", out[3].Err, fault.CodeAlreadyExists, "idempotency_key")
	if got, want := string(out[4].Body), "o4 child 7.00"; got != want {
		t.Errorf("o4 after 1,000.00 of sales: %q, want %q (Silver)", got, want)
	}
	if orders, accruals := countOrders(t, s); orders != 3 || accruals != 3 {
		t.Errorf("%d orders, %d accruals; want 3 and 3", orders, accruals)
	}
	verifyJournal(t, s)
}

// A batch whose transaction fails with a serialization failure is run
// again whole by internal/txn, and each command is applied once.
func TestPayOrderBatchRetriedAfterSerializationFailure(t *testing.T) {
	s := groupService(t)
	attempts := 0
	s.orderHook = func() error {
		if attempts++; attempts == 1 {
			return &pgconn.PgError{Code: "40001", Message: "could not serialize access (test)"}
		}
		return nil
	}
	calls := []orderCall{orderOf("o1", "", "100.00"), orderOf("o2", "", "200.00"), orderOf("o3", "", "300.00")}
	out := s.payOrderGroup(context.Background(), groupProgram, calls)
	if attempts != 2 {
		t.Errorf("%d attempts, want 2", attempts)
	}
	for i, o := range out {
		if o.Err != nil || o.Replayed {
			t.Errorf("command %d: %s, want applied", i, describe(o))
		}
	}
	if orders, accruals := countOrders(t, s); orders != 3 || accruals != 3 {
		t.Errorf("%d orders, %d accruals; want 3 and 3", orders, accruals)
	}
	verifyJournal(t, s)
}

// Concurrent PayOrder calls, whichever batches they form: the bad one
// fails alone with its own error, every other commits once.
func TestPayOrderConcurrentWithOneBad(t *testing.T) {
	s := groupService(t)
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		amount := "10.00"
		if i == 7 {
			amount = "-1.00"
		}
		c := orderOf(fmt.Sprintf("o%d", i), "", amount)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.PayOrder(context.Background(), c.c, c.in, c.encode)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i == 7 {
			wantCode(t, "bad amount", err, fault.CodeInvalidArgument, "lines[0].amount")
		} else if err != nil {
			t.Errorf("order %d: %v", i, err)
		}
	}
	if orders, accruals := countOrders(t, s); orders != n-1 || accruals != n-1 {
		t.Errorf("%d orders, %d accruals; want %d each", orders, accruals, n-1)
	}
	verifyJournal(t, s)
}

// An order paid by an earlier batch, paid again under another key in a
// later one, is refused as already paid, having written nothing, and the
// batch's other orders commit.
func TestPayOrderBatchOrderPaidBefore(t *testing.T) {
	s := groupService(t)
	if out := s.payOrderGroup(context.Background(), groupProgram, []orderCall{orderOf("o1", "", "100.00")}); out[0].Err != nil {
		t.Fatal(out[0].Err)
	}
	out := s.payOrderGroup(context.Background(), groupProgram,
		[]orderCall{orderOf("o2", "", "30.00"), orderOf("o1", "again", "100.00"), orderOf("o3", "", "40.00")})
	wantCode(t, "paid before", out[1].Err, fault.CodeFailedPrecondition, "order")
	for _, i := range []int{0, 2} {
		if out[i].Err != nil || !out[i].Fresh {
			t.Errorf("order %d: %+v, want applied", i, out[i])
		}
	}
	if orders, accruals := countOrders(t, s); orders != 3 || accruals != 3 {
		t.Errorf("%d orders, %d accruals; want 3 and 3", orders, accruals)
	}
	if _, found, err := store.LoadCommand(context.Background(), s.db.Pool, groupProgram, "again"); err != nil || found {
		t.Errorf("refused command's key recorded (%v)", err)
	}
	verifyJournal(t, s)
}

// A batch for a program that does not exist fails each of its orders with
// the program's fault (the program's lock goes in the batch's first round
// trip with its other reads).
func TestPayOrderBatchUnknownProgram(t *testing.T) {
	s := groupService(t)
	out := s.payOrderGroup(context.Background(), "nope", []orderCall{orderOf("o1", "", "10.00"), orderOf("o2", "", "20.00")})
	for i, o := range out {
		wantCode(t, fmt.Sprintf("order %d", i), o.Err, fault.CodeNotFound, "program")
	}
}
