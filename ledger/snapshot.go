package ledger

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// As-of balances by snapshot (docs/journal.md "As-of reads"). An enrolled
// account's folded entries are summed per time bucket at several levels;
// an as-of read adds up at most a few hundred bucket rows, the entries in
// the as-of instant's own second, and the entries not folded yet.

// SnapshotBatchMax bounds the new entries one Snapshot call folds; a full
// batch means more may be waiting (Snapshotted.Full).
const SnapshotBatchMax = 50000

// SnapshotEntriesMin is how many entries an account needs before Snapshot
// enrolls it: below that, summing its entries is as fast as the buckets.
const SnapshotEntriesMin = 1000

// The limits Snapshot uses; tests lower them (export_test.go).
var (
	snapshotBatchMax   = SnapshotBatchMax
	snapshotEntriesMin = SnapshotEntriesMin
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
func (s Snapshotted) Full() bool { return s.Entries >= snapshotBatchMax }

// hole is an id range at or below the cut whose entries were not visible
// (in flight or rolled back) when last looked at.
type hole struct {
	lo, hi int64
	seenAt time.Time
}

// Snapshot advances the as-of snapshots of every program by up to
// SnapshotBatchMax entries, in tx (read committed is enough). In one
// statement, so everything it reads comes from one view of the journal, it
// enrolls the accounts with entries in the batch that reached
// SnapshotEntriesMin, adds to the buckets of the enrolled accounts the
// entries above the old cut and those of earlier holes that became
// visible (and the history of the accounts it enrolls), and finds the ids
// it could not see. The cut moves to the highest id of the batch; the ids
// below it it could not see are kept as holes and looked at again by every
// run, until they are older than SealLag (then they are taken as rolled
// back, as the sealer does). Concurrent calls queue on the state row. Call
// it five times a second or so, again at once while Full.
func Snapshot(ctx context.Context, tx pgx.Tx) (Snapshotted, error) {
	var (
		old int64
		jit *string
	)
	if err := tx.QueryRow(ctx, `SELECT cut_id, current_setting('jit', true) FROM snapshot_state FOR UPDATE`).Scan(&old, &jit); err != nil {
		return Snapshotted{}, fmt.Errorf("ledger: locking the snapshot state: %w", err)
	}
	if err := noJIT(ctx, tx, jit); err != nil {
		return Snapshotted{}, err
	}
	var (
		out Snapshotted
		top *int64
	)
	if err := tx.QueryRow(ctx, `SELECT count(*), max(id) FROM (SELECT id FROM entries WHERE id > $1 ORDER BY id LIMIT $2) x`,
		old, snapshotBatchMax).Scan(&out.Entries, &top); err != nil {
		return Snapshotted{}, fmt.Errorf("ledger: reading new entries: %w", err)
	}
	out.Cut = old
	if top != nil {
		out.Cut = *top
	}
	holes, enrolled, err := fold(ctx, tx, old, out.Cut)
	if err != nil {
		return Snapshotted{}, err
	}
	out.Holes, out.Enrolled = len(holes), enrolled
	return out, saveCut(ctx, tx, out.Cut, holes)
}

// noJIT turns PostgreSQL's JIT compilation off for the rest of tx when the
// server has it (jit, the setting's value, is nil on CockroachDB): foldSQL's
// estimates pass jit_above_cost while its work is small, and compiling it
// took a second or more per call.
func noJIT(ctx context.Context, tx pgx.Tx, jit *string) error {
	if jit == nil || *jit == "off" {
		return nil
	}
	if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
		return fmt.Errorf("ledger: turning JIT off for Snapshot: %w", err)
	}
	return nil
}

// foldSQL is fold's statement ($1 the old cut, $2 the new one, $3
// SnapshotEntriesMin, $4 SealLag). ranges are the holes and (old, new];
// found, the entries visible in them; cand, the accounts with entries in
// (old, new] that reached $3 and are not enrolled. d0 sums by second the
// entries to add: those found of enrolled accounts and candidates, and the
// candidates' entries up to the old cut outside the holes (their history);
// each coarser level sums the one below it, so the history costs one pass
// over the entries. The rows returned are the new holes: the gaps between
// the ids found in each range, dropping those older than $4.
var foldSQL = func() string {
	var levels, inserts strings.Builder
	for k := 1; k < len(snapshotLevels); k++ {
		fmt.Fprintf(&levels, `,
		d%d AS (SELECT account_id, floor(bucket::numeric / %d)::bigint AS bucket, sum(amount) AS amount, sum(entries) AS entries
			FROM d%d GROUP BY 1, 2)`, k, snapshotLevels[k]/snapshotLevels[k-1], k-1)
		fmt.Fprintf(&inserts, `
			UNION ALL SELECT account_id, %d, bucket, amount, entries FROM d%d`, k, k)
	}
	return `
		WITH ranges AS (
			SELECT lo, hi, seen_at FROM snapshot_holes
			UNION ALL
			SELECT $1::bigint + 1, $2::bigint, now() WHERE $2::bigint > $1::bigint),
		found AS (
			SELECT r.lo AS range_lo, e.id, e.account_id, e.at, e.amount
			FROM ranges r JOIN entries e ON e.id BETWEEN r.lo AND r.hi),
		cand AS (
			SELECT t.account_id FROM (SELECT DISTINCT account_id FROM found WHERE id > $1) t
			WHERE NOT EXISTS (SELECT 1 FROM snapshot_accounts s WHERE s.account_id = t.account_id)
				AND (SELECT sum(b.entries) FROM balances b WHERE b.account_id = t.account_id) >= $3),
		enrolled AS (
			INSERT INTO snapshot_accounts (account_id) SELECT account_id FROM cand RETURNING account_id),
		d0 AS (
			SELECT account_id, floor(extract(epoch FROM at))::bigint AS bucket, sum(amount) AS amount, count(*) AS entries FROM (
				SELECT f.account_id, f.at, f.amount FROM found f
				WHERE EXISTS (SELECT 1 FROM snapshot_accounts s WHERE s.account_id = f.account_id)
					OR EXISTS (SELECT 1 FROM cand c WHERE c.account_id = f.account_id)
				UNION ALL
				SELECT e.account_id, e.at, e.amount FROM cand c JOIN entries e ON e.account_id = c.account_id
				WHERE e.id <= $1 AND NOT EXISTS (SELECT 1 FROM snapshot_holes h WHERE e.id BETWEEN h.lo AND h.hi)) x
			GROUP BY 1, 2)` + levels.String() + `,
		folded AS (
			INSERT INTO snapshot_buckets AS b (account_id, level, bucket, amount, entries)
			SELECT account_id, 0, bucket, amount, entries FROM d0` + inserts.String() + `
			ON CONFLICT (account_id, level, bucket) DO UPDATE
			SET amount = b.amount + excluded.amount, entries = b.entries + excluded.entries
			RETURNING 1),
		points AS (
			SELECT lo AS range_lo, lo - 1 AS p FROM ranges
			UNION ALL SELECT lo, hi + 1 FROM ranges WHERE hi < 9223372036854775807
			UNION ALL SELECT range_lo, id FROM found),
		gaps AS (
			SELECT range_lo, p + 1 AS lo, lead(p) OVER (PARTITION BY range_lo ORDER BY p) - 1 AS hi FROM points)
		SELECT g.lo, g.hi, r.seen_at, (SELECT count(*) FROM folded), (SELECT count(*) FROM enrolled)
		FROM gaps g JOIN ranges r ON r.lo = g.range_lo
		WHERE g.hi >= g.lo AND r.seen_at >= now() - $4::interval
		UNION ALL
		SELECT NULL, NULL, NULL, (SELECT count(*) FROM folded), (SELECT count(*) FROM enrolled)
		ORDER BY 1`
}()

// fold runs foldSQL from the old cut to the new one and returns the new
// holes and how many accounts it enrolled.
func fold(ctx context.Context, tx pgx.Tx, old, cut int64) ([]hole, int, error) {
	rows, err := tx.Query(ctx, foldSQL, old, cut, snapshotEntriesMin, SealLag)
	if err != nil {
		return nil, 0, fmt.Errorf("ledger: folding entries into snapshots: %w", err)
	}
	defer rows.Close()
	var (
		holes    []hole
		enrolled int
	)
	for rows.Next() {
		var (
			lo, hi *int64
			seenAt *time.Time
			n      int64
		)
		if err := rows.Scan(&lo, &hi, &seenAt, &n, &enrolled); err != nil {
			return nil, 0, fmt.Errorf("ledger: folding entries into snapshots: %w", err)
		}
		if lo != nil {
			holes = append(holes, hole{lo: *lo, hi: *hi, seenAt: *seenAt})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("ledger: folding entries into snapshots: %w", err)
	}
	return holes, enrolled, nil
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
// being the start of $2's second, $4 the cut and $5, $6 the holes (lo and
// hi arrays) the caller read, $7..$18 bucketRanges of $3 (lo, hi per
// level) and $19 the lowest hole's lo (above the cut when none):
// the buckets before $3, one index range per level; the entries in
// [$3, $2]; and the entries before $3 not folded yet: above the cut, or in
// a hole that is still one (a hole only shrinks while the cut stays). No
// row comes back when the cut moved since the caller read it. The cut and
// holes are parameters, not subqueries, so the planner sees how few
// entries lie above the cut and in the holes: every term's estimate stays
// a few rows (no JIT, no bitmap scans).
var snapSQL = func() string {
	var buckets strings.Builder
	for k := range snapshotLevels {
		fmt.Fprintf(&buckets, `
		+ COALESCE((SELECT SUM(b.amount) FROM snapshot_buckets b
			WHERE b.account_id = a AND b.level = %d AND b.bucket >= $%d AND b.bucket < $%d), 0)`, k, 7+2*k, 8+2*k)
	}
	return `SELECT a, (0` + buckets.String() + `
		+ COALESCE((SELECT SUM(e.amount) FROM entries e WHERE e.account_id = a AND e.at >= $3 AND e.at <= $2), 0)
		+ COALESCE((SELECT SUM(e.amount) FROM entries e WHERE e.id > $4 AND e.account_id = a AND e.at < $3), 0)
		+ COALESCE((SELECT SUM(e.amount) FROM unnest($5::bigint[], $6::bigint[]) AS p(lo, hi)
			JOIN entries e ON e.id >= p.lo AND e.id <= p.hi
			WHERE e.id >= $19 AND e.id <= $4 AND e.account_id = a AND e.at < $3
				AND EXISTS (SELECT 1 FROM snapshot_holes h WHERE h.lo <= e.id AND h.hi >= e.id)), 0))::text
	FROM unnest($1::bigint[]) AS a WHERE (SELECT cut_id FROM snapshot_state) = $4`
}()

// snapView is what an as-of read must know of the snapshots before it
// reads them: the cut and the holes (lo and hi in order).
type snapView struct {
	cut    int64
	lo, hi []int64
}

// snapViewSQL selects a snapView's columns.
const snapViewSQL = `(SELECT cut_id FROM snapshot_state),
	COALESCE((SELECT array_agg(lo ORDER BY lo) FROM snapshot_holes), '{}'),
	COALESCE((SELECT array_agg(hi ORDER BY lo) FROM snapshot_holes), '{}')`

// asOfBalances returns the signed balance as of asOf of each account in
// rows, keyed by account id: summed for accounts not enrolled, from the
// snapshot for the others, starting from view (read with rows) and
// reading it again whenever the cut moved in between.
func asOfBalances(ctx context.Context, q Querier, rows []asOfRow, view snapView, asOf time.Time) (map[int64]string, error) {
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
	for attempt := 0; len(out) < len(rows); attempt++ {
		if attempt == 10 {
			return nil, fmt.Errorf("ledger: the snapshot cut kept moving during an as-of read")
		}
		if attempt > 0 {
			if err := q.QueryRow(ctx, `SELECT `+snapViewSQL).Scan(&view.cut, &view.lo, &view.hi); err != nil {
				return nil, fmt.Errorf("ledger: reading the snapshot cut: %w", err)
			}
		}
		if err := collectSums(ctx, q, out, snapSQL, snap, snapArgs(asOf, view)...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// snapArgs are snapSQL's parameters after the accounts: asOf (truncated to
// microseconds), the start of its second, the view, the bucket ranges and
// the lowest hole id (a bound the planner can estimate from).
func snapArgs(asOf time.Time, view snapView) []any {
	sec := asOf.Unix()
	lo, hi := bucketRanges(sec)
	args := []any{asOf, time.Unix(sec, 0).UTC(), view.cut, view.lo, view.hi}
	for k := range lo {
		args = append(args, lo[k], hi[k])
	}
	floor := view.cut + 1
	if len(view.lo) > 0 {
		floor = view.lo[0]
	}
	return append(args, floor)
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
