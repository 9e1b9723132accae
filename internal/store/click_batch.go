package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// ClickRef is what a click to record names: its partner as a folded
// referral code (CodeKey; "" for none) and as an id, and its idempotency
// key.
type ClickRef struct {
	Code, ID, Key string
}

// ClickFacts are what is known of a click before it is recorded: the
// partner its code (first) or id resolves to, "" when neither does, and
// the idempotency record of its key, when Recorded.
type ClickFacts struct {
	Partner  string
	Recorded bool
	Command  StoredCommand
}

// ResolveClicks reads, in one query, whether the program exists and, for
// each ref, its partner and its key's idempotency record; facts[i] is
// refs[i]'s.
func ResolveClicks(ctx context.Context, q ledger.Querier, program string, refs []ClickRef) (found bool, facts []ClickFacts, err error) {
	codes, ids, keys := make([]string, len(refs)), make([]string, len(refs)), make([]string, len(refs))
	for i, r := range refs {
		codes[i], ids[i], keys[i] = r.Code, r.ID, r.Key
	}
	// Each ref is looked up by its own index probes (correlated, fenced by
	// LIMIT): a join the planner may hash would read every partner and
	// command of the program while its statistics are young.
	rows, err := q.Query(ctx, `SELECT u.n, COALESCE(
				(SELECT bc.id FROM partners bc WHERE bc.program_id = pr.id AND lower(bc.code) = u.code LIMIT 1),
				(SELECT bi.id FROM partners bi WHERE bi.program_id = pr.id AND bi.id = u.id LIMIT 1), ''),
			c.idempotency_key IS NOT NULL, c.request_hash, c.response, COALESCE(c.expired, false), COALESCE(c.running, false)
		FROM programs pr
		LEFT JOIN unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(code, id, ikey, n) ON true
		LEFT JOIN LATERAL (SELECT c.idempotency_key, c.request_hash, c.response, c.expired, c.running FROM commands c
			WHERE c.program_id = pr.id AND c.idempotency_key = u.ikey LIMIT 1) c ON true
		WHERE pr.id = $1`, program, codes, ids, keys)
	if err != nil {
		return false, nil, fmt.Errorf("store: resolving clicks: %w", err)
	}
	facts = make([]ClickFacts, len(refs))
	var n *int64
	var f ClickFacts
	_, err = pgx.ForEachRow(rows, []any{&n, &f.Partner, &f.Recorded, &f.Command.Hash, &f.Command.Response, &f.Command.Expired, &f.Command.Running},
		func() error {
			found = true
			if n != nil {
				facts[*n-1] = f
			}
			f = ClickFacts{}
			return nil
		})
	if err != nil {
		return false, nil, fmt.Errorf("store: resolving clicks: %w", err)
	}
	return found, facts, nil
}

// clickRow is a click as a comparable value, its time in microseconds
// (the database's precision).
type clickRow struct {
	partner, visitor                                   string
	at                                                 int64
	landing, banner, utmSource, utmMedium, utmCampaign string
}

func rowOf(c Click) clickRow {
	return clickRow{c.Partner, c.Visitor, c.At.UnixMicro(), c.Landing, c.Banner, c.UTMSource, c.UTMMedium, c.UTMCampaign}
}

// InsertClicks records clicks in one statement and returns their ids,
// ids[i] being clicks[i]'s. Returned rows are matched to clicks by value
// (clicks equal in every column are interchangeable), so the order the
// database returns them in does not matter.
func InsertClicks(ctx context.Context, q ledger.Querier, program string, clicks []Click) ([]int64, error) {
	cols := make([][]string, 7)
	ats := make([]time.Time, len(clicks))
	byRow := make(map[clickRow][]int, len(clicks))
	for i, c := range clicks {
		for k, v := range []string{c.Partner, c.Visitor, c.Landing, c.Banner, c.UTMSource, c.UTMMedium, c.UTMCampaign} {
			cols[k] = append(cols[k], v)
		}
		ats[i] = c.At
		byRow[rowOf(c)] = append(byRow[rowOf(c)], i)
	}
	rows, err := q.Query(ctx, `INSERT INTO clicks (program_id, partner_id, visitor, at, landing, banner, utm_source, utm_medium, utm_campaign)
		SELECT $1, p, v, a, l, b, s, m, c
		FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) AS u(p, v, a, l, b, s, m, c)
		RETURNING id, partner_id, visitor, at, landing, banner, utm_source, utm_medium, utm_campaign`,
		program, cols[0], cols[1], ats, cols[2], cols[3], cols[4], cols[5], cols[6])
	if err != nil {
		return nil, fmt.Errorf("store: recording clicks: %w", err)
	}
	ids := make([]int64, len(clicks))
	var (
		id int64
		c  Click
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &c.Partner, &c.Visitor, &c.At, &c.Landing, &c.Banner, &c.UTMSource, &c.UTMMedium, &c.UTMCampaign},
		func() error {
			r := rowOf(c)
			if len(byRow[r]) == 0 {
				return fmt.Errorf("click %d matches no click sent", id)
			}
			ids[byRow[r][0]], byRow[r] = id, byRow[r][1:]
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("store: recording clicks: %w", err)
	}
	return ids, nil
}

// recordCommandsSQL is RecordCommands' statement, of recordCommandsArgs.
const recordCommandsSQL = `INSERT INTO commands (program_id, idempotency_key, method, request_hash, response, running, created_at)
	SELECT $1, k, m, h, r, false, $6 FROM unnest($2::text[], $3::text[], $4::bytea[], $5::bytea[]) AS u(k, m, h, r)
	ON CONFLICT DO NOTHING`

// recordCommandsArgs are recordCommandsSQL's arguments.
func recordCommandsArgs(program string, cs []Command, bodies [][]byte, at time.Time) []any {
	keys, methods, hashes := make([]string, len(cs)), make([]string, len(cs)), make([][]byte, len(cs))
	for i, c := range cs {
		keys[i], methods[i], hashes[i] = c.Key, c.Method, c.Hash
	}
	return []any{program, keys, methods, hashes, bodies, at}
}

// RecordCommands records done commands with their responses (bodies[i]
// is cs[i]'s) in one statement, all created at `at`, and reports how many
// it recorded: a key recorded already is left as it is.
func RecordCommands(ctx context.Context, q ledger.Querier, program string, cs []Command, bodies [][]byte, at time.Time) (int, error) {
	tag, err := q.Exec(ctx, recordCommandsSQL, recordCommandsArgs(program, cs, bodies, at)...)
	if err != nil {
		return 0, fmt.Errorf("store: recording %d keys: %w", len(cs), err)
	}
	return int(tag.RowsAffected()), nil
}
