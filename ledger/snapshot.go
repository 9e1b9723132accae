package ledger

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// As-of balances by snapshot (docs/journal.md "As-of reads"). An enrolled
// account's folded entries are summed per time bucket at several levels;
// an as-of read adds up at most a few hundred bucket rows, the entries in
// the as-of instant's own second, and the entries not folded yet.

// SnapshotBatch bounds the new entries one Snapshot call folds; a full
// batch means more may be waiting (Snapshotted.Full).
const SnapshotBatch = 50000

// SnapshotMinEntries is how many entries an account needs before Snapshot
// enrolls it: below that, summing its entries is as fast as the buckets.
const SnapshotMinEntries = 1000

// The limits Snapshot uses; tests lower them (export_test.go).
var (
	snapshotBatch      = SnapshotBatch
	snapshotMinEntries = SnapshotMinEntries
)

// snapshotLevels are the bucket widths in seconds, finest first: second,
// minute, hour, day, 32 days, 1024 days. Each divides the next, so every
// bucket nests in one bucket of the level above.
var snapshotLevels = []int64{1, 60, 3600, 86400, 32 * 86400, 1024 * 86400}

// levelArgs are the snapshotLevels as the SQL arrays of levels and sizes.
func levelArgs() ([]int16, []int64) {
	levels := make([]int16, len(snapshotLevels))
	for i := range snapshotLevels {
		levels[i] = int16(i)
	}
	return levels, snapshotLevels
}

// bucketSQL is the bucket of entry e at level l (joined from the level
// arrays): its `at` in Unix seconds, floored, divided by the width.
const bucketSQL = `floor(extract(epoch FROM e.at) / l.size)::bigint`

// Snapshotted is what one Snapshot call did.
type Snapshotted struct {
	// Entries is how many new entries (above the old cut) it read.
	Entries int
	// Cut is the new cut: entries up to it are folded, but for Holes.
	Cut int64
	// Holes counts the id ranges at or below the cut still invisible.
	Holes int
	// Enrolled counts the accounts it started to snapshot.
	Enrolled int
}

// Full reports whether the batch was full, so more entries may be waiting.
func (s Snapshotted) Full() bool { return s.Entries >= snapshotBatch }

// hole is an id range at or below the cut whose entries were not visible
// (in flight or rolled back) when last looked at.
type hole struct {
	lo, hi int64
	seenAt time.Time
}

// Snapshot advances the as-of snapshots of every program by up to
// SnapshotBatch entries, in tx (read committed is enough). It folds the
// entries above the cut, and those of earlier holes that became visible,
// into the buckets of enrolled accounts; enrolls the accounts touched that
// reached SnapshotMinEntries, folding their history; and moves the cut to
// the highest id it saw. Ids below that it could not see are kept as holes
// and looked at again by every run, until they are older than SealLag (then
// they are taken as rolled back, as the sealer does). Concurrent calls
// queue on the state row. Call it every second or so, again at once while
// Full.
func Snapshot(ctx context.Context, tx pgx.Tx) (Snapshotted, error) {
	var old int64
	if err := tx.QueryRow(ctx, `SELECT cut_id FROM snapshot_state FOR UPDATE`).Scan(&old); err != nil {
		return Snapshotted{}, fmt.Errorf("ledger: locking the snapshot state: %w", err)
	}
	var (
		out Snapshotted
		top *int64
	)
	if err := tx.QueryRow(ctx, `SELECT count(*), max(id) FROM (SELECT id FROM entries WHERE id > $1 ORDER BY id LIMIT $2) x`,
		old, snapshotBatch).Scan(&out.Entries, &top); err != nil {
		return Snapshotted{}, fmt.Errorf("ledger: reading new entries: %w", err)
	}
	out.Cut = old
	if top != nil {
		out.Cut = *top
	}
	var err error
	if out.Enrolled, err = enroll(ctx, tx, old, out.Cut); err != nil {
		return Snapshotted{}, err
	}
	holes, err := fold(ctx, tx, old, out.Cut)
	if err != nil {
		return Snapshotted{}, err
	}
	out.Holes = len(holes)
	return out, saveCut(ctx, tx, out.Cut, holes)
}

// enroll starts snapshotting the accounts with entries in (old, cut] that
// have SnapshotMinEntries or more, folding their entries up to old (those
// above are fold's) outside the holes.
func enroll(ctx context.Context, tx pgx.Tx, old, cut int64) (int, error) {
	levels, sizes := levelArgs()
	var n int
	err := tx.QueryRow(ctx, `
		WITH cand AS (
			SELECT t.account_id FROM (SELECT DISTINCT account_id FROM entries WHERE id > $1 AND id <= $2) t
			WHERE NOT EXISTS (SELECT 1 FROM snapshot_accounts s WHERE s.account_id = t.account_id)
				AND (SELECT sum(b.entries) FROM balances b WHERE b.account_id = t.account_id) >= $3),
		enrolled AS (
			INSERT INTO snapshot_accounts (account_id) SELECT account_id FROM cand RETURNING account_id),
		backfill AS (
			INSERT INTO snapshot_buckets (account_id, level, bucket, amount, entries)
			SELECT e.account_id, l.level, `+bucketSQL+`, sum(e.amount), count(*)
			FROM cand c JOIN entries e ON e.account_id = c.account_id
			CROSS JOIN unnest($4::smallint[], $5::bigint[]) AS l(level, size)
			WHERE e.id <= $1 AND NOT EXISTS (SELECT 1 FROM snapshot_holes h WHERE e.id BETWEEN h.lo AND h.hi)
			GROUP BY 1, 2, 3)
		SELECT count(*) FROM enrolled`,
		old, cut, snapshotMinEntries, levels, sizes).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("ledger: enrolling accounts in snapshots: %w", err)
	}
	return n, nil
}

// fold adds to the enrolled accounts' buckets the entries visible in the
// holes and in (old, cut], in one statement so what it folds and the holes
// it returns (what it could not see, but for holes older than SealLag)
// come from one view of the journal.
func fold(ctx context.Context, tx pgx.Tx, old, cut int64) ([]hole, error) {
	levels, sizes := levelArgs()
	rows, err := tx.Query(ctx, `
		WITH ranges AS (
			SELECT lo, hi, seen_at FROM snapshot_holes
			UNION ALL
			SELECT $1::bigint + 1, $2::bigint, now() WHERE $2::bigint > $1::bigint),
		found AS (
			SELECT r.lo AS range_lo, e.id, e.account_id, e.at, e.amount
			FROM ranges r JOIN entries e ON e.id BETWEEN r.lo AND r.hi),
		folded AS (
			INSERT INTO snapshot_buckets AS b (account_id, level, bucket, amount, entries)
			SELECT e.account_id, l.level, `+bucketSQL+`, sum(e.amount), count(*)
			FROM found e JOIN snapshot_accounts s ON s.account_id = e.account_id
			CROSS JOIN unnest($3::smallint[], $4::bigint[]) AS l(level, size)
			GROUP BY 1, 2, 3
			ON CONFLICT (account_id, level, bucket) DO UPDATE
			SET amount = b.amount + excluded.amount, entries = b.entries + excluded.entries
			RETURNING 1),
		points AS (
			SELECT lo AS range_lo, lo - 1 AS p FROM ranges
			UNION ALL SELECT lo, hi + 1 FROM ranges WHERE hi < 9223372036854775807
			UNION ALL SELECT range_lo, id FROM found),
		gaps AS (
			SELECT range_lo, p + 1 AS lo, lead(p) OVER (PARTITION BY range_lo ORDER BY p) - 1 AS hi FROM points)
		SELECT g.lo, g.hi, r.seen_at, (SELECT count(*) FROM folded)
		FROM gaps g JOIN ranges r ON r.lo = g.range_lo
		WHERE g.hi >= g.lo AND r.seen_at >= now() - $5::interval
		ORDER BY g.lo`, old, cut, levels, sizes, SealLag)
	if err != nil {
		return nil, fmt.Errorf("ledger: folding entries into snapshots: %w", err)
	}
	holes, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (hole, error) {
		var (
			h hole
			n int64
		)
		err := row.Scan(&h.lo, &h.hi, &h.seenAt, &n)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: folding entries into snapshots: %w", err)
	}
	return holes, nil
}

// saveCut replaces the holes and moves the cut.
func saveCut(ctx context.Context, tx pgx.Tx, cut int64, holes []hole) error {
	los, his, seen := make([]int64, len(holes)), make([]int64, len(holes)), make([]time.Time, len(holes))
	for i, h := range holes {
		los[i], his[i], seen[i] = h.lo, h.hi, h.seenAt
	}
	if _, err := tx.Exec(ctx, `DELETE FROM snapshot_holes`); err != nil {
		return fmt.Errorf("ledger: replacing snapshot holes: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO snapshot_holes (lo, hi, seen_at)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[])`, los, his, seen); err != nil {
		return fmt.Errorf("ledger: replacing snapshot holes: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE snapshot_state SET cut_id = $1`, cut); err != nil {
		return fmt.Errorf("ledger: moving the snapshot cut: %w", err)
	}
	return nil
}

// bucketRanges returns, per level, the half-open range [lo, hi) of buckets
// an as-of read at second sec adds up: at each level the buckets before
// sec's inside the same bucket of the level above, at the top level every
// bucket before sec's. Together they cover every second before sec once.
func bucketRanges(sec int64) (lo, hi []int64) {
	lo, hi = make([]int64, len(snapshotLevels)), make([]int64, len(snapshotLevels))
	for k, size := range snapshotLevels {
		hi[k] = floorDiv(sec, size)
		if k+1 < len(snapshotLevels) {
			ratio := snapshotLevels[k+1] / size
			lo[k] = floorDiv(hi[k], ratio) * ratio
		} else {
			lo[k] = math.MinInt64
		}
	}
	return lo, hi
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// asOfRow is one account of an as-of read: its id, code, normal side and
// whether Snapshot enrolled it.
type asOfRow struct {
	id       int64
	code     string
	side     int16
	enrolled bool
}

// sumSQL is the old path: the signed sum of the entries of the accounts $1
// with at at or before $2.
const sumSQL = `SELECT a, COALESCE((SELECT SUM(e.amount) FROM entries e WHERE e.account_id = a AND e.at <= $2), 0)::text
	FROM unnest($1::bigint[]) AS a`

// snapSQL is the snapshot path for the enrolled accounts $1 as of $2, $3
// being the start of $2's second, $4 the cut the caller read and
// $5..$16 bucketRanges of $3 (lo, hi per level): the buckets before $3,
// the entries in [$3, $2], and the entries before $3 not folded yet (above
// the cut or in a hole). No row comes back when the cut moved since the
// caller read it. The cut is a parameter, not a subquery, so the planner
// sees how few entries lie above it.
const snapSQL = `SELECT a, (
		COALESCE((SELECT SUM(b.amount) FROM snapshot_buckets b WHERE b.account_id = a AND (
			(b.level = 0 AND b.bucket >= $5 AND b.bucket < $6) OR (b.level = 1 AND b.bucket >= $7 AND b.bucket < $8) OR
			(b.level = 2 AND b.bucket >= $9 AND b.bucket < $10) OR (b.level = 3 AND b.bucket >= $11 AND b.bucket < $12) OR
			(b.level = 4 AND b.bucket >= $13 AND b.bucket < $14) OR (b.level = 5 AND b.bucket >= $15 AND b.bucket < $16))), 0)
		+ COALESCE((SELECT SUM(e.amount) FROM entries e WHERE e.account_id = a AND e.at >= $3 AND e.at <= $2), 0)
		+ COALESCE((SELECT SUM(e.amount) FROM entries e WHERE e.id > $4 AND e.account_id = a AND e.at < $3), 0)
		+ COALESCE((SELECT SUM(x.amount) FROM snapshot_holes h, LATERAL (SELECT SUM(e.amount) AS amount FROM entries e
			WHERE e.id >= h.lo AND e.id <= h.hi AND e.account_id = a AND e.at < $3) x), 0))::text
	FROM unnest($1::bigint[]) AS a WHERE (SELECT cut_id FROM snapshot_state) = $4`

// asOfBalances returns the signed balance as of asOf of each account in
// rows, keyed by account id: summed for accounts not enrolled, from the
// snapshot for the others.
func asOfBalances(ctx context.Context, q Querier, rows []asOfRow, asOf time.Time) (map[int64]string, error) {
	var plain, snap []int64
	for _, r := range rows {
		if r.enrolled {
			snap = append(snap, r.id)
		} else {
			plain = append(plain, r.id)
		}
	}
	asOf = asOf.UTC().Truncate(time.Microsecond)
	out := map[int64]string{}
	if len(plain) > 0 {
		if err := collectSums(ctx, q, out, sumSQL, plain, asOf); err != nil {
			return nil, err
		}
	}
	if len(snap) == 0 {
		return out, nil
	}
	sec := asOf.Unix()
	lo, hi := bucketRanges(sec)
	for attempt := 0; len(out) < len(rows); attempt++ {
		if attempt == 10 {
			return nil, fmt.Errorf("ledger: the snapshot cut kept moving during an as-of read")
		}
		var cut int64
		if err := q.QueryRow(ctx, `SELECT cut_id FROM snapshot_state`).Scan(&cut); err != nil {
			return nil, fmt.Errorf("ledger: reading the snapshot cut: %w", err)
		}
		args := []any{asOf, time.Unix(sec, 0).UTC(), cut}
		for k := range lo {
			args = append(args, lo[k], hi[k])
		}
		if err := collectSums(ctx, q, out, snapSQL, snap, args...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// collectSums runs sql (rows of account id and signed sum) for ids and
// adds its rows to out.
func collectSums(ctx context.Context, q Querier, out map[int64]string, sql string, ids []int64, args ...any) error {
	rows, err := q.Query(ctx, sql, append([]any{ids}, args...)...)
	if err != nil {
		return fmt.Errorf("ledger: reading balances as of: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id  int64
			sum string
		)
		if err := rows.Scan(&id, &sum); err != nil {
			return fmt.Errorf("ledger: scanning a balance as of: %w", err)
		}
		out[id] = sum
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ledger: reading balances as of: %w", err)
	}
	return nil
}

// verifySnapshots recomputes the buckets of the program's enrolled
// accounts from their entries up to the cut outside the holes, in one
// statement (one view of the journal and the snapshots), and reports each
// account whose buckets differ.
func verifySnapshots(ctx context.Context, q Querier, program string, r *Report) error {
	levels, sizes := levelArgs()
	rows, err := q.Query(ctx, `
		WITH acct AS (
			SELECT a.id, a.code FROM accounts a JOIN snapshot_accounts s ON s.account_id = a.id WHERE a.program_id = $1),
		want AS (
			SELECT e.account_id, l.level, `+bucketSQL+` AS bucket, sum(e.amount) AS amount, count(*) AS entries
			FROM acct JOIN entries e ON e.account_id = acct.id
			CROSS JOIN unnest($2::smallint[], $3::bigint[]) AS l(level, size)
			WHERE e.id <= (SELECT cut_id FROM snapshot_state)
				AND NOT EXISTS (SELECT 1 FROM snapshot_holes h WHERE e.id BETWEEN h.lo AND h.hi)
			GROUP BY 1, 2, 3),
		have AS (
			SELECT b.account_id, b.level, b.bucket, b.amount, b.entries FROM snapshot_buckets b JOIN acct ON acct.id = b.account_id)
		SELECT acct.code, count(*), min(COALESCE(w.level, h.level)), min(COALESCE(w.bucket, h.bucket))
		FROM want w FULL JOIN have h ON h.account_id = w.account_id AND h.level = w.level AND h.bucket = w.bucket
		JOIN acct ON acct.id = COALESCE(w.account_id, h.account_id)
		WHERE w.amount IS DISTINCT FROM h.amount OR w.entries IS DISTINCT FROM h.entries
		GROUP BY acct.code ORDER BY acct.code`, program, levels, sizes)
	if err != nil {
		return fmt.Errorf("ledger: verifying snapshots: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			code      string
			n, bucket int64
			level     int16
		)
		if err := rows.Scan(&code, &n, &level, &bucket); err != nil {
			return fmt.Errorf("ledger: verifying snapshots: %w", err)
		}
		r.problem("account %s: %d as-of snapshot buckets differ from its entries (the first at level %d, bucket %d)", code, n, level, bucket)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ledger: verifying snapshots: %w", err)
	}
	return nil
}
