package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
	"github.com/accrue/accrue/rules"
)

var orderT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// withProgram opens a database holding program "p".
func withProgram(t *testing.T) *txn.DB {
	t.Helper()
	db := open(t)
	err := db.Run(context.Background(), func(tx pgx.Tx) error {
		_, err := ledger.CreateProgram(context.Background(), tx, "p", "USD", "UTC", orderT0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// An order is recorded once; its state, JSON columns and all, reads back
// as saved.
func TestOrderRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := withProgram(t)
	d := decimal.RequireFromString
	o := affiliate.NewOrder("o1", "k1", "v1", []rules.Line{{Product: "shoe", Amount: d("100.50")}}, d("5"), orderT0)
	for i, want := range []bool{true, false} {
		if fresh, err := store.InsertOrder(ctx, db.Pool, "p", o); err != nil || fresh != want {
			t.Fatalf("insert %d = %v, %v; want %v", i, fresh, err, want)
		}
	}
	var tied int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM customer_visitors WHERE customer = 'k1' AND visitor = 'v1'`).Scan(&tied); err != nil || tied != 1 {
		t.Fatalf("visitor tied to customer: %d, %v", tied, err)
	}
	if _, found, err := store.LoadOrder(ctx, db.Pool, "p", "nope", store.NoLock); found || err != nil {
		t.Fatalf("LoadOrder of an unknown order = %v, %v", found, err)
	}
	o = o.Attribute(affiliate.Attribution{Partner: "rob", How: "last_click", ClickID: 9}, affiliate.Earner{}, false)
	o = o.Accrue(affiliate.Accrual{Version: 2, At: orderT0, Hold: time.Hour, State: rules.OrderState{Partner: "rob", Tier: "gold",
		Shipping: d("5"), Lines: []rules.LineState{{Product: "shoe", Amount: d("100.5"), Commission: d("10.05")}}}})
	if err := store.SaveOrder(ctx, db.Pool, "p", o); err != nil {
		t.Fatal(err)
	}
	got, found, err := store.LoadOrder(ctx, db.Pool, "p", "o1", store.NoLock)
	if err != nil || !found {
		t.Fatalf("LoadOrder = %v, %v", found, err)
	}
	if got.Partner != "rob" || *got.ClickID != 9 || got.Version != 2 || got.Matured || !got.MaturesAt.Equal(orderT0.Add(time.Hour)) ||
		got.State.Tier != "gold" || !got.State.Lines[0].Commission.Equal(d("10.05")) || !got.Lines[0].Amount.Equal(d("100.5")) ||
		!got.Shipping.Equal(d("5")) || !got.PaidAt.Equal(orderT0) {
		t.Fatalf("read back %+v, want %+v", got, o)
	}
}

// LoadOrder with ForUpdate locks the row until the transaction ends.
func TestLoadOrderForUpdateLocks(t *testing.T) {
	ctx := context.Background()
	db := withProgram(t)
	if _, err := store.InsertOrder(ctx, db.Pool, "p", affiliate.NewOrder("o1", "k1", "", nil, decimal.Zero, orderT0)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lock       store.Lock
		wantLocked bool
	}{{store.NoLock, false}, {store.ForUpdate, true}} {
		tx, err := db.Pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := store.LoadOrder(ctx, tx, "p", "o1", tc.lock); err != nil {
			t.Fatal(err)
		}
		_, err = db.Pool.Exec(ctx, `SELECT 1 FROM orders WHERE id = 'o1' FOR UPDATE NOWAIT`)
		var pgErr *pgconn.PgError
		locked := errors.As(err, &pgErr) && pgErr.Code == "55P03"
		if locked != tc.wantLocked || (err != nil && !locked) {
			t.Fatalf("lock %d: another transaction's NOWAIT lock got %v, want locked %v", tc.lock, err, tc.wantLocked)
		}
		_ = tx.Rollback(ctx)
	}
}

// Order events read back in the order they were appended, with their
// pinned version, tier and plan.
func TestOrderEvents(t *testing.T) {
	ctx := context.Background()
	db := withProgram(t)
	d := decimal.RequireFromString
	want := []store.OrderEvent{
		{Kind: affiliate.KindAccrual, At: orderT0, Version: 1, Tier: "gold", TransactionID: 42,
			Plan: rules.Plan{Sales: d("100"), Commission: d("10"), Upline: []rules.LevelPlan{{Level: 1, Partner: "amy", Amount: d("2"), Rate: d("0.02"), BaseAmount: d("100")}}}},
		{Kind: affiliate.KindAdjustment, At: orderT0.Add(time.Hour), Version: 1, Plan: rules.Plan{Sales: d("-10")}},
	}
	for _, ev := range want {
		if err := store.InsertOrderEvent(ctx, db.Pool, "p", "o1", ev); err != nil {
			t.Fatal(err)
		}
	}
	got, err := store.OrderEvents(ctx, db.Pool, "p", "o1")
	if err != nil || len(got) != len(want) {
		t.Fatalf("OrderEvents = %v, %v", got, err)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || !g.At.Equal(w.At) || g.Version != w.Version || g.Tier != w.Tier || g.TransactionID != w.TransactionID ||
			!g.Plan.Sales.Equal(w.Plan.Sales) || !g.Plan.Commission.Equal(w.Plan.Commission) || len(g.Plan.Upline) != len(w.Plan.Upline) {
			t.Fatalf("event %d = %+v, want %+v", i, g, w)
		}
	}
	if none, err := store.OrderEvents(ctx, db.Pool, "p", "other"); len(none) != 0 || err != nil {
		t.Fatalf("events of an order with none = %v, %v", none, err)
	}
}

// Rules versions are numbered 1, 2, ... per program and read back.
func TestRulesVersions(t *testing.T) {
	ctx := context.Background()
	db := withProgram(t)
	for i, doc := range []string{"a: 1", "a: 2"} {
		v, err := store.InsertRulesVersion(ctx, db.Pool, "p", orderT0.Add(time.Duration(i)*time.Hour), doc)
		if err != nil || v != int32(i+1) {
			t.Fatalf("version %d = %d, %v", i+1, v, err)
		}
	}
	got, found, err := store.LoadRulesVersion(ctx, db.Pool, "p", 2)
	if err != nil || !found || got.Document != "a: 2" || !got.EffectiveAt.Equal(orderT0.Add(time.Hour)) {
		t.Fatalf("LoadRulesVersion = %+v, %v, %v", got, found, err)
	}
	if _, found, err := store.LoadRulesVersion(ctx, db.Pool, "p", 3); found || err != nil {
		t.Fatalf("an unknown version = %v, %v", found, err)
	}
	all, err := store.ListRulesVersions(ctx, db.Pool, "p")
	if err != nil || len(all) != 2 || all[0].Version != 1 || all[1].Document != "a: 2" {
		t.Fatalf("ListRulesVersions = %+v, %v", all, err)
	}
	if none, err := store.ListRulesVersions(ctx, db.Pool, "q"); len(none) != 0 || err != nil {
		t.Fatalf("versions of an unknown program = %v, %v", none, err)
	}
}

// Attribution: a referral code in any case first, else the last (or
// first) click of the visitor or of a visitor tied to the customer within
// the window.
func TestAttribute(t *testing.T) {
	ctx := context.Background()
	db := withProgram(t)
	mustExec(t, db, `INSERT INTO partners (program_id, id, code, status, registered_at) VALUES
		('p', 'rob', 'RobCode', 'active', $1), ('p', 'amy', 'amy', 'active', $1)`, orderT0)
	mustExec(t, db, `INSERT INTO clicks (id, program_id, partner_id, visitor, at) VALUES
		(1, 'p', 'amy', 'v1', $1), (2, 'p', 'rob', 'v2', $2), (3, 'p', 'rob', 'v1', $3)`,
		orderT0.Add(-48*time.Hour), orderT0.Add(-2*time.Hour), orderT0.Add(time.Hour))
	mustExec(t, db, `INSERT INTO customer_visitors (program_id, customer, visitor) VALUES ('p', 'k1', 'v2')`)
	last := rules.Attribution{Model: rules.ModelLastClick, Window: 72 * time.Hour}
	first := rules.Attribution{Model: rules.ModelFirstClick, Window: 72 * time.Hour}
	for _, tc := range []struct {
		name              string
		a                 rules.Attribution
		code, visitor, by string
		want              affiliate.Attribution
	}{
		{name: "code", a: last, code: "robcode", want: affiliate.Attribution{Partner: "rob", How: "partner_code"}},
		{name: "unknown code falls back to clicks", a: last, code: "nobody", visitor: "v1",
			want: affiliate.Attribution{Partner: "amy", How: "last_click", ClickID: 1}},
		{name: "last click across the customer's visitors, none after at", a: last, visitor: "v1", by: "k1",
			want: affiliate.Attribution{Partner: "rob", How: "last_click", ClickID: 2}},
		{name: "first click", a: first, visitor: "v1", by: "k1",
			want: affiliate.Attribution{Partner: "amy", How: "first_click", ClickID: 1}},
		{name: "outside the window", a: rules.Attribution{Model: rules.ModelFirstClick, Window: time.Hour}, visitor: "v1"},
		{name: "no click", a: last, visitor: "v9", by: "k9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			customer := tc.by
			if customer == "" {
				customer = "k0"
			}
			got, err := store.Attribute(ctx, db.Pool, "p", tc.a, tc.code, tc.visitor, customer, orderT0)
			if err != nil || got != tc.want {
				t.Fatalf("Attribute = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// The upline walks the links active at t and stops at levels; a partner
// met twice (a cycle) is the last row (the service ends the chain there).
func TestUplineAt(t *testing.T) {
	ctx := context.Background()
	db := withProgram(t)
	mustExec(t, db, `INSERT INTO partners (program_id, id, code, status, registered_at) VALUES
		('p', 'a', 'a', 'active', $1), ('p', 'b', 'b', 'suspended', $1), ('p', 'c', 'c', 'active', $1)`, orderT0)
	mustExec(t, db, `INSERT INTO partner_links (program_id, partner_id, parent_id, valid_from, valid_until) VALUES
		('p', 'a', 'b', $1, NULL), ('p', 'b', 'c', $1, NULL), ('p', 'c', 'a', $1, NULL), ('p', 'a', 'c', $2, $1)`,
		orderT0, orderT0.Add(-time.Hour))
	for _, tc := range []struct {
		name   string
		at     time.Time
		levels int
		want   []store.Ancestor
	}{
		{name: "no levels", at: orderT0, levels: 0},
		{name: "a cycle ends the chain", at: orderT0, levels: 5,
			want: []store.Ancestor{{Partner: "b", Status: "suspended"}, {Partner: "c", Status: "active"}, {Partner: "a", Status: "active"}}},
		{name: "levels bound it", at: orderT0, levels: 1, want: []store.Ancestor{{Partner: "b", Status: "suspended"}}},
		{name: "the links of an earlier time", at: orderT0.Add(-30 * time.Minute), levels: 5,
			want: []store.Ancestor{{Partner: "c", Status: "active"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := store.UplineAt(ctx, db.Pool, "p", "a", tc.at, tc.levels)
			if err != nil || len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
				t.Fatalf("UplineAt = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// LoadPartner reads a partner, found false when there is none.
func TestLoadPartner(t *testing.T) {
	ctx := context.Background()
	db := withProgram(t)
	mustExec(t, db, `INSERT INTO partners (program_id, id, code, customer, status, private, registered_at) VALUES
		('p', 'rob', 'rob', 'k1', 'suspended', '{"tax": "x"}', $1)`, orderT0)
	p, found, err := store.LoadPartner(ctx, db.Pool, "p", "rob", store.NoLock)
	if err != nil || !found || p.Customer != "k1" || p.Status != "suspended" || p.Private["tax"] != "x" || !p.RegisteredAt.Equal(orderT0) {
		t.Fatalf("LoadPartner = %+v, %v, %v", p, found, err)
	}
	if _, found, err := store.LoadPartner(ctx, db.Pool, "p", "nobody", store.ForUpdate); found || err != nil {
		t.Fatalf("an unknown partner = %v, %v", found, err)
	}
}

func mustExec(t *testing.T, db *txn.DB, sql string, args ...any) {
	t.Helper()
	if _, err := db.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatal(err)
	}
}

// OrderWrites runs nothing before Send, then everything, the statements
// other writers queued through Exec last and in order; it reads nothing.
func TestOrderWritesQueueUntilSend(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	err := db.Run(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "CREATE TEMP TABLE queued_log (n int, v text) ON COMMIT DROP"); err != nil {
			return err
		}
		w := store.NewOrderWrites("shop")
		for i, v := range []string{"first", "second"} {
			if _, err := w.Exec(ctx, "INSERT INTO queued_log VALUES ($1, $2)", i, v); err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM queued_log").Scan(&n); err != nil || n != 0 {
			t.Errorf("before Send: %d rows (%v), want none", n, err)
		}
		if _, err := w.Query(ctx, "SELECT 1"); err == nil {
			t.Error("a read through OrderWrites succeeded")
		}
		if err := w.Send(ctx, tx); err != nil {
			return err
		}
		var got string
		if err := tx.QueryRow(ctx, "SELECT string_agg(v, ',' ORDER BY n) FROM queued_log").Scan(&got); err != nil || got != "first,second" {
			t.Errorf("after Send: %q (%v), want first,second", got, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
