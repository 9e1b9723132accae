package server

import (
	"testing"
	"time"
)

// TestPruneCommandsKeepsTheRetentionWindow: an idempotency record older
// than CommandRetention is pruned, a recent one stays.
func TestPruneCommandsKeepsTheRetentionWindow(t *testing.T) {
	h := newHarness(t, "0d")
	h.register("old", "", day(time.January, 2))
	h.register("new", "", day(time.January, 2))
	// Age the first registration's record (the key is k2: k1 put the rules).
	if _, err := h.db.Pool.Exec(h.ctx, `UPDATE commands SET created_at = now() - $1::interval WHERE idempotency_key = 'k2'`,
		CommandRetention+time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.pruneCommands(h.ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := h.db.Pool.Query(h.ctx, `SELECT idempotency_key FROM commands ORDER BY idempotency_key`)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0] != "k1" || keys[1] != "k3" {
		t.Fatalf("records after pruning: %v, want k1 and k3 (k2 was past retention)", keys)
	}
}
