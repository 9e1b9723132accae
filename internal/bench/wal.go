package bench

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// walMark is a point in the cluster's write-ahead log: its position in
// bytes and how many records the cluster had written by then. The log
// is the work PostgreSQL does for a write, whatever the machine's speed
// at that moment: a load case's WAL per unit, against the ceiling's per
// posting, says how much more each unit asks of the database, where the
// throughput ratios move with the machine's noise.
type walMark struct {
	bytes, records int64
	ok             bool
}

// readWAL reads the WAL position and record count of the cluster of the
// database at url; a failure gives a mark that is not ok (the figure is
// then left out, the case goes on).
func readWAL(ctx context.Context, url string) walMark {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return walMark{}
	}
	defer conn.Close(ctx)
	var m walMark
	err = conn.QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint, (SELECT wal_records FROM pg_stat_wal)`).
		Scan(&m.bytes, &m.records)
	m.ok = err == nil
	return m
}

// walUse is the WAL written between two marks, per unit of work.
type walUse struct {
	bytesPer, recordsPer float64
	ok                   bool
}

func walBetween(from, to walMark, units int64) walUse {
	if !from.ok || !to.ok || units <= 0 || to.bytes < from.bytes {
		return walUse{}
	}
	n := float64(units)
	return walUse{float64(to.bytes-from.bytes) / n, float64(to.records-from.records) / n, true}
}

// ceilingWALID is the figure of the WAL of one ceiling posting.
const ceilingWALID = "ceiling_wal_bytes"

// addWAL records the WAL per unit of a case as figure id+"_wal_bytes",
// compared with a ceiling posting's. It writes everything the cluster
// logged meanwhile: the requests' own writes and what runs beside them
// (the outbox publisher, the snapshot fold, autovacuum).
func (r *run) addWAL(id, name, unit string, w walUse) {
	if !w.ok {
		return
	}
	f := Figure{ID: id + "_wal_bytes", Name: fmt.Sprintf("WAL per %s, %s", unit, name), Unit: "bytes", Value: w.bytesPer,
		Note: fmt.Sprintf("%.1f records", w.recordsPer)}
	if c, ok := r.report.Get(ceilingWALID); ok && c.Value > 0 && f.ID != ceilingWALID {
		f.Note += fmt.Sprintf("; %.1f× a ceiling posting", w.bytesPer/c.Value)
	}
	r.report.add(f)
}
