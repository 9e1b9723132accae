package server

import (
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/service"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// TestExpiredCommandsAreRefusedNotRerun: an idempotency record older than
// service.CommandRetention loses its response; a retry with its key, even with the
// same payload, is refused (it must not run again), while a recent key
// still replays.
func TestExpiredCommandsAreRefusedNotRerun(t *testing.T) {
	h := newHarness(t, "0d")
	h.register("bob", "", day(time.January, 2)) // key k2
	pay := func(key, order string) error {
		_, err := (&orderService{h.srv}).PayOrder(h.ctx, connect.NewRequest(&accruev1.PayOrderRequest{
			Program: testProgram, IdempotencyKey: key, At: timestamppb.New(day(time.January, 3)), Order: order,
			Customer: "c", PartnerCode: "BOB", Lines: []*accruev1.OrderLine{{Product: "bag", Amount: "100.00"}}}))
		return err
	}
	// The records are created at the service's clock, which expiry reads
	// too: a replay simulates retention by moving the clock.
	h.must(pay("old", "o1"))
	h.clk.Set(harnessNow.Add(service.CommandRetention))
	h.must(pay("new", "o2"))
	h.clk.Set(harnessNow.Add(service.CommandRetention + time.Hour))
	if _, err := h.srv.svc.ExpireCommands(h.ctx); err != nil {
		t.Fatal(err)
	}
	var expired int
	if err := h.db.Pool.QueryRow(h.ctx, `SELECT count(*) FROM commands WHERE expired AND response = ''::bytea AND idempotency_key IN ('old', 'new')`).Scan(&expired); err != nil || expired != 1 {
		t.Fatalf("%d expired records (%v), want the old one", expired, err)
	}
	before := h.balances()
	if err := pay("old", "o1"); fault.CodeOf(err) != fault.CodeAlreadyExists {
		t.Fatalf("a retry past retention: %v, want already_exists", err)
	}
	if err := pay("new", "o2"); err != nil {
		t.Fatalf("a retry within retention: %v, want the stored response", err)
	}
	if after := h.balances(); len(after) != len(before) || after["partner:bob:accrued"] != before["partner:bob:accrued"] {
		t.Fatalf("balances moved: %v -> %v", before, after)
	}
}

// One run of expiry expires every record past retention, not one batch a
// run: a program recording more keys a minute than a batch holds would
// otherwise never catch up.
func TestExpiryKeepsUpWithManyKeys(t *testing.T) {
	h := newHarness(t, "0d")
	const n = 25000 // two and a half batches
	if _, err := h.db.Pool.Exec(h.ctx, `INSERT INTO commands (program_id, idempotency_key, method, request_hash, response, running, created_at)
		SELECT $1, 'bulk-' || g, 'accrue.v1.X', '\x00', '\x01', false, $2 FROM generate_series(1, $3::int) g`,
		testProgram, harnessNow, n); err != nil {
		t.Fatal(err)
	}
	h.clk.Set(harnessNow.Add(service.CommandRetention + time.Hour))
	expired, err := h.srv.svc.ExpireCommands(h.ctx)
	if err != nil || expired < n {
		t.Fatalf("one run expired %d (%v), want all %d", expired, err, n)
	}
	var left int
	if err := h.db.Pool.QueryRow(h.ctx, `SELECT count(*) FROM commands WHERE NOT expired AND idempotency_key LIKE 'bulk-%'`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d records left unexpired (%v)", left, err)
	}
}
