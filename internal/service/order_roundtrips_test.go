package service

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/database"
)

// roundTrips counts a pool's round trips: each statement sent alone and
// each batch of statements.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// A batch of orders attributed by code takes the same few round trips
// whatever its size: BEGIN; the program's lock with the rules versions,
// keys, paid orders and codes; the partners with their volumes and
// uplines; the journal; the other writes; COMMIT. The accounts are read
// by the first batch that posts to them and remembered once it commits
// (ledger.AccountCache): the later batches, to the same partner, read
// none.
func TestPayOrderBatchRoundTrips(t *testing.T) {
	ctx := context.Background()
	trips := &roundTrips{}
	s := groupServiceWith(t, database.Options{Tracer: trips})
	// The first batch reads the rules version and the accounts into the
	// caches.
	if out := s.payOrderGroup(ctx, groupProgram, []orderCall{orderOf("o0", "", "10.00")}); out[0].Err != nil {
		t.Fatal(out[0].Err)
	}
	want := int64(6)
	if s.db.CockroachPath {
		want += 2 // cockroach-go's SAVEPOINT and RELEASE
	}
	for _, n := range []int{1, 8} {
		calls := make([]orderCall, n)
		for i := range calls {
			calls[i] = orderOf(fmt.Sprintf("o%d-%d", n, i), "", "25.00")
		}
		trips.n.Store(0)
		for i, o := range s.payOrderGroup(ctx, groupProgram, calls) {
			if o.Err != nil || o.Replayed {
				t.Fatalf("order %d of %d: %v replayed=%v", i, n, o.Err, o.Replayed)
			}
		}
		if got := trips.n.Load(); got > want {
			t.Errorf("a batch of %d orders took %d round trips, want at most %d", n, got, want)
		}
	}
	verifyJournal(t, s)
}
