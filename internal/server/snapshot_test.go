package server

import "testing"

// TestSnapshotFoldsTheJournal: Server.Snapshot (what the scheduler calls
// five times a second) moves the as-of cut to the journal's last entry, and a run
// with nothing new leaves it there.
func TestSnapshotFoldsTheJournal(t *testing.T) {
	h := newHarness(t, "0d")
	h.register("alice", "", day(1, 2))
	for i, amount := range []string{"10.00", "20.00", "30.00"} {
		h.pay("o"+string(rune('1'+i)), "alice", amount, day(1, 3+i))
	}
	for range 2 {
		h.must(h.srv.Snapshot(h.ctx))
		var cut, last int64
		if err := h.db.Pool.QueryRow(h.ctx, `SELECT (SELECT cut_id FROM snapshot_state), (SELECT max(id) FROM entries)`).
			Scan(&cut, &last); err != nil {
			t.Fatal(err)
		}
		if last == 0 || cut != last {
			t.Fatalf("snapshot cut at %d, want the last entry %d", cut, last)
		}
	}
}
