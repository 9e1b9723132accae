package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/ledger"
)

// counting is a ledger.Querier that counts the statements it runs.
type counting struct {
	q ledger.Querier
	n int
}

func (c *counting) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	c.n++
	return c.q.Exec(ctx, sql, args...)
}

func (c *counting) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.n++
	return c.q.Query(ctx, sql, args...)
}

func (c *counting) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	c.n++
	return c.q.QueryRow(ctx, sql, args...)
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// tree registers partners p0..p(n-1), each p(i) below p((i-1)/2) from t0
// (a binary tree), and one more link that ends: p(n-1) was below p0 until
// t0 and below its tree parent after.
func tree(t *testing.T, db *txn.DB, n int) {
	t.Helper()
	ctx := context.Background()
	err := db.Run(ctx, func(tx pgx.Tx) error {
		if _, err := ledger.CreateProgram(ctx, tx, "p", "USD", "UTC", t0.Add(-time.Hour)); err != nil {
			return err
		}
		for i := range n {
			id := fmt.Sprintf("p%02d", i)
			if _, err := store.InsertPartner(ctx, tx, "p", store.Partner{ID: id, Code: "C" + id, Status: "active",
				Private: map[string]string{"name": id}, RegisteredAt: t0.Add(-time.Hour)}); err != nil {
				return err
			}
			if i > 0 {
				if err := store.LinkParent(ctx, tx, "p", id, fmt.Sprintf("p%02d", (i-1)/2), t0, nil); err != nil {
					return err
				}
			}
		}
		until := t0
		return store.LinkParent(ctx, tx, "p", fmt.Sprintf("p%02d", n-1), "p00", t0.Add(-time.Hour), &until)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A ListPartners page is one query, with each partner's link at the time.
func TestListPartnersOneQueryPerPage(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	tree(t, db, 12)
	var got []string
	after := ""
	for {
		c := &counting{q: db.Pool}
		page, err := store.ListPartners(ctx, c, "p", after, 5, t0.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if c.n != 1 {
			t.Fatalf("a page took %d queries", c.n)
		}
		for _, r := range page {
			want, found, err := store.LoadPartner(ctx, db.Pool, "p", r.ID, store.NoLock)
			if err != nil || !found || r.Code != want.Code || r.Private["name"] != want.ID {
				t.Fatalf("listed %+v, loaded %+v", r.Partner, want)
			}
			parent, until, err := store.ParentAt(ctx, db.Pool, "p", r.ID, t0.Add(time.Minute))
			if err != nil || r.Parent != parent || (r.ParentUntil == nil) != (until == nil) {
				t.Fatalf("%s listed below %q, ParentAt says %q", r.ID, r.Parent, parent)
			}
			got = append(got, r.ID+"<"+r.Parent)
		}
		if len(page) < 5 {
			break
		}
		after = page[len(page)-1].ID
	}
	if len(got) != 12 || got[0] != "p00<" || got[11] != "p11<p05" {
		t.Fatalf("listed %v", got)
	}
}

// ReferralsAt pages breadth first by (depth, partner), one query a page,
// and the pages add up to the whole tree below.
func TestReferralsKeysetOneQueryPerPage(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	tree(t, db, 15)
	at := t0.Add(time.Minute)
	all, err := store.ReferralsAt(ctx, db.Pool, "p", "p00", at, 10, 0, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for d, lo := 1, 1; lo < 15; d, lo = d+1, 2*lo+1 {
		for i := lo; i < min(2*lo+1, 15); i++ {
			want = append(want, fmt.Sprintf("%d:p%02d<p%02d", d, i, (i-1)/2))
		}
	}
	show := func(rs []store.Referral) []string {
		var out []string
		for _, r := range rs {
			out = append(out, fmt.Sprintf("%d:%s<%s", r.Depth, r.Partner, r.Parent))
		}
		return out
	}
	if !slices.Equal(show(all), want) {
		t.Fatalf("referrals %v, want %v", show(all), want)
	}
	var paged []store.Referral
	afterDepth, afterID := 0, ""
	for {
		c := &counting{q: db.Pool}
		page, err := store.ReferralsAt(ctx, c, "p", "p00", at, 10, afterDepth, afterID, 4)
		if err != nil || c.n != 1 {
			t.Fatalf("a page: %v, %d queries", err, c.n)
		}
		paged = append(paged, page...)
		if len(page) < 4 {
			break
		}
		afterDepth, afterID = page[len(page)-1].Depth, page[len(page)-1].Partner
	}
	if !slices.Equal(show(paged), want) {
		t.Fatalf("paged %v, want %v", show(paged), want)
	}
	if two, _ := store.ReferralsAt(ctx, db.Pool, "p", "p00", at, 2, 0, "", 100); len(two) != 6 {
		t.Fatalf("two levels: %v", show(two))
	}
	// Before t0 only the ended link p14 < p00 was active.
	if early, _ := store.ReferralsAt(ctx, db.Pool, "p", "p00", t0.Add(-time.Minute), 10, 0, "", 100); !slices.Equal(show(early), []string{"1:p14<p00"}) {
		t.Fatalf("before t0: %v", show(early))
	}
}

// ChainAt and UplineAt read the chain above a partner in one query, and
// stop after the first partner met twice.
func TestChainOneQuery(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	tree(t, db, 15)
	at := t0.Add(time.Minute)
	c := &counting{q: db.Pool}
	chain, err := store.ChainAt(ctx, c, "p", "p14", at, 100)
	if err != nil || c.n != 1 || !slices.Equal(chain, []string{"p14", "p06", "p02", "p00"}) {
		t.Fatalf("chain above p14: %v, %v, %d queries", chain, err, c.n)
	}
	if chain, _ := store.ChainAt(ctx, db.Pool, "p", "p14", at, 2); !slices.Equal(chain, []string{"p14", "p06"}) {
		t.Fatalf("chain of 2: %v", chain)
	}
	up, err := store.UplineAt(ctx, db.Pool, "p", "p14", at, 2)
	if err != nil || len(up) != 2 || up[0].Partner != "p06" || up[1].Status != "active" {
		t.Fatalf("upline of p14: %v, %v", up, err)
	}
	// A cycle in the links (p00 below p14 later on) ends the walk after
	// the first repeat.
	later := at.Add(time.Hour)
	if err := store.LinkParent(ctx, db.Pool, "p", "p00", "p14", later, nil); err != nil {
		t.Fatal(err)
	}
	chain, err = store.ChainAt(ctx, db.Pool, "p", "p06", later, 100)
	if err != nil || !slices.Equal(chain, []string{"p06", "p02", "p00", "p14", "p06"}) {
		t.Fatalf("a looping chain: %v, %v", chain, err)
	}
}

// QueueUplinesAt answers many queries in one statement, each as UplineAt
// answers it alone: at its own time (the link of p14 that ended), through
// a cycle, and for a partner with no parent.
func TestQueueUplinesAtEqualsUplineAt(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	tree(t, db, 15)
	at, later := t0.Add(time.Minute), t0.Add(2*time.Hour)
	// p00 is below p14 (a cycle) from t0+1h to t0+3h only.
	until := t0.Add(3 * time.Hour)
	if err := store.LinkParent(ctx, db.Pool, "p", "p00", "p14", t0.Add(time.Hour), &until); err != nil {
		t.Fatal(err)
	}
	qs := []store.UplineQuery{{"p14", at}, {"p14", t0.Add(-time.Minute)}, {"p06", later}, {"p00", at},
		{"p14", at}, {"p09", later}, {"p06", until.Add(time.Minute)}}
	err := db.Run(ctx, func(tx pgx.Tx) error {
		c := &counting{q: tx}
		var (
			r   ledger.Pipeline
			got [][]store.Ancestor
		)
		store.QueueUplinesAt(&r, "p", qs, 5, &got)
		if err := r.Send(ctx, tx); err != nil {
			return err
		}
		for i, q := range qs {
			want, err := store.UplineAt(ctx, c, "p", q.Partner, q.At, 5)
			if err != nil {
				return err
			}
			if !slices.Equal(got[i], want) {
				t.Errorf("query %d (%s at %v): QueueUplinesAt %v, UplineAt %v", i, q.Partner, q.At, got[i], want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
