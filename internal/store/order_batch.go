package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/ledger"
)

// The statements of a batch of order payments (the service's group
// commit): each reads or writes the rows of every order of the batch at
// once, or queues one statement per order into a pgx.Batch sent in one
// round trip.

// ClaimCommands records cs, each with an empty response (set before
// commit), created at `at`, and returns the keys it recorded: a key
// recorded already is left as it is.
func ClaimCommands(ctx context.Context, q ledger.Querier, program string, cs []Command, at time.Time) (map[string]bool, error) {
	keys, methods, hashes := make([]string, len(cs)), make([]string, len(cs)), make([][]byte, len(cs))
	for i, c := range cs {
		keys[i], methods[i], hashes[i] = c.Key, c.Method, c.Hash
	}
	rows, err := q.Query(ctx, `INSERT INTO commands (program_id, idempotency_key, method, request_hash, response, running, created_at)
		SELECT $1, k, m, h, ''::bytea, false, $5 FROM unnest($2::text[], $3::text[], $4::bytea[]) AS u(k, m, h)
		ON CONFLICT DO NOTHING RETURNING idempotency_key`, program, keys, methods, hashes, at)
	if err != nil {
		return nil, fmt.Errorf("store: recording %d keys: %w", len(cs), err)
	}
	claimed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: recording %d keys: %w", len(cs), err)
	}
	out := make(map[string]bool, len(claimed))
	for _, k := range claimed {
		out[k] = true
	}
	return out, nil
}

// LoadCommands reads the records of keys; a key without one is absent
// from the map.
func LoadCommands(ctx context.Context, tx pgx.Tx, program string, keys []string) (map[string]StoredCommand, error) {
	var (
		r   ledger.Pipeline
		out map[string]StoredCommand
	)
	QueueLoadCommands(&r, program, keys, &out)
	return out, r.Send(ctx, tx)
}

// QueueLoadCommands queues LoadCommands into r: *out is the records once
// r is sent.
func QueueLoadCommands(r *ledger.Pipeline, program string, keys []string, out *map[string]StoredCommand) {
	*out = map[string]StoredCommand{}
	if len(keys) == 0 {
		return
	}
	keys = distinct(keys)
	r.Query(loadCommandsSQL, []any{program, keys}, func(rows pgx.Rows) error {
		var (
			k string
			c StoredCommand
		)
		_, err := pgx.ForEachRow(rows, []any{&k, &c.Hash, &c.Response, &c.Expired, &c.Running}, func() error {
			(*out)[k] = c
			c = StoredCommand{}
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: reading %d keys: %w", len(keys), err)
		}
		return nil
	})
}

// VersionsAt is VersionAt of each of ts, in order, in one query.
func VersionsAt(ctx context.Context, tx pgx.Tx, program string, ts []time.Time) ([]int32, error) {
	var (
		r   ledger.Pipeline
		out []int32
	)
	QueueVersionsAt(&r, program, ts, &out)
	return out, r.Send(ctx, tx)
}

// QueueVersionsAt queues VersionsAt into r: *out is the versions once r
// is sent.
func QueueVersionsAt(r *ledger.Pipeline, program string, ts []time.Time, out *[]int32) {
	r.Query(`SELECT COALESCE(
			(SELECT version FROM rule_versions WHERE program_id = $1 AND effective_at <= u.t ORDER BY effective_at DESC, version DESC LIMIT 1),
			(SELECT version FROM rule_versions WHERE program_id = $1 ORDER BY effective_at, version LIMIT 1), 0)
		FROM unnest($2::timestamptz[]) WITH ORDINALITY AS u(t, n) ORDER BY u.n`, []any{program, ts}, func(rows pgx.Rows) error {
		vs, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return fmt.Errorf("store: finding the rules of %s at %d times: %w", program, len(ts), err)
		}
		*out = vs
		return nil
	})
}

// TieVisitors records that each of os's customers was its visitor (an
// order names both), in one statement; a tie known already is kept.
func TieVisitors(ctx context.Context, q ledger.Querier, program string, os []affiliate.Order) error {
	args, ok := tieVisitorsArgs(program, os)
	if !ok {
		return nil
	}
	if _, err := q.Exec(ctx, tieVisitorsSQL, args...); err != nil {
		return fmt.Errorf("store: tying visitors to customers: %w", err)
	}
	return nil
}

// QueueTieVisitors queues TieVisitors' statement into r.
func QueueTieVisitors(r *ledger.Pipeline, program string, os []affiliate.Order) {
	if args, ok := tieVisitorsArgs(program, os); ok {
		r.Exec(tieVisitorsSQL, args...)
	}
}

// tieVisitorsSQL is TieVisitors' statement, of tieVisitorsArgs.
const tieVisitorsSQL = `INSERT INTO customer_visitors (program_id, customer, visitor)
	SELECT $1, c, v FROM unnest($2::text[], $3::text[]) AS u(c, v) ON CONFLICT DO NOTHING`

// tieVisitorsArgs are tieVisitorsSQL's arguments for os, and whether any
// order names a visitor.
func tieVisitorsArgs(program string, os []affiliate.Order) ([]any, bool) {
	var customers, visitors []string
	for _, o := range os {
		if o.Visitor != "" {
			customers, visitors = append(customers, o.Customer), append(visitors, o.Visitor)
		}
	}
	return []any{program, customers, visitors}, len(customers) > 0
}

// The batch reads probe their rows one key at a time (a LATERAL
// subquery fenced by LIMIT), whatever the statistics: with `= ANY` over
// the whole batch, a young program's plans read every partner of the
// program and compared each with every key (15 ms a call of an import
// after a few thousand partners, before the first ANALYZE).

// partnersByCodeSQL resolves distinct folded codes $2 to partner ids.
const partnersByCodeSQL = `SELECT u.code, p.id FROM unnest($2::text[]) AS u(code)
	CROSS JOIN LATERAL (SELECT id FROM partners WHERE program_id = $1 AND lower(code) = u.code LIMIT 1) p`

// loadPartnersSQL reads the partners of distinct sorted ids $2, taking
// lock on each row in that order.
func loadPartnersSQL(lock Lock) string {
	return `SELECT ` + partnerColumns + ` FROM unnest($2::text[]) WITH ORDINALITY AS u(id, n)
	CROSS JOIN LATERAL (SELECT * FROM partners p WHERE p.program_id = $1 AND p.id = u.id LIMIT 1` + lock.clause() + `) p
	ORDER BY u.n`
}

// distinct is keys sorted without repeats (a new slice).
func distinct(keys []string) []string {
	out := slices.Clone(keys)
	slices.Sort(out)
	return slices.Compact(out)
}

// loadCommandsSQL reads the records of distinct keys $2, one probe each.
const loadCommandsSQL = `SELECT c.idempotency_key, c.request_hash, c.response, c.expired, c.running
	FROM unnest($2::text[]) AS u(k)
	CROSS JOIN LATERAL (SELECT * FROM commands WHERE program_id = $1 AND idempotency_key = u.k LIMIT 1) c`

// QueuePartnersByCode queues the resolution of referral codes (folded to
// lower case) to partner ids into r: *out maps each code that matches a
// partner to its id once r is sent.
func QueuePartnersByCode(r *ledger.Pipeline, program string, codeKeys []string, out *map[string]string) {
	*out = map[string]string{}
	if len(codeKeys) == 0 {
		return
	}
	codeKeys = distinct(codeKeys)
	r.Query(partnersByCodeSQL, []any{program, codeKeys},
		func(rows pgx.Rows) error {
			var code, id string
			_, err := pgx.ForEachRow(rows, []any{&code, &id}, func() error {
				(*out)[code] = id
				return nil
			})
			if err != nil {
				return fmt.Errorf("store: resolving %d partner codes: %w", len(codeKeys), err)
			}
			return nil
		})
}

// QueueLoadPartners queues the read of the partners ids into r, taking
// lock on their rows in id order (so two batches lock their common
// partners in the same order): *out holds those that exist once r is
// sent.
func QueueLoadPartners(r *ledger.Pipeline, program string, ids []string, lock Lock, out *map[string]Partner) {
	*out = map[string]Partner{}
	if len(ids) == 0 {
		return
	}
	ids = distinct(ids)
	r.Query(loadPartnersSQL(lock), []any{program, ids}, func(rows pgx.Rows) error {
		for rows.Next() {
			p, err := scanPartner(rows)
			if err != nil {
				return fmt.Errorf("store: loading %d partners: %w", len(ids), err)
			}
			(*out)[p.ID] = p
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: loading %d partners: %w", len(ids), err)
		}
		return nil
	})
}

// UplineQuery asks for a partner's ancestors through the links active at
// At.
type UplineQuery struct {
	Partner string
	At      time.Time
}

// uplinesAtSQL walks the uplines of many (partner $2[n], time $3[n]) at
// once, as chainAt walks one: each step probes the link active at its
// query's time, and each ancestor's status is probed by key.
var uplinesAtSQL = `
	WITH RECURSIVE chain (n, at, level, id, path, looped) AS (
		SELECT q.n, q.at, 0, q.partner, ARRAY[q.partner], false
		FROM unnest($2::text[], $3::timestamptz[]) WITH ORDINALITY AS q(partner, at, n)
		UNION ALL
		SELECT c.n, c.at, c.level + 1, l.parent_id, c.path || l.parent_id, l.parent_id = ANY(c.path) FROM chain c
		CROSS JOIN LATERAL (SELECT l.parent_id FROM partner_links l
			WHERE l.program_id = $1 AND l.partner_id = c.id AND ` + linkActiveAt("c.at") + `
			ORDER BY l.valid_from DESC LIMIT 1) l
		WHERE c.level < $4 AND NOT c.looped)
	SELECT c.n, c.id, p.status FROM chain c
	CROSS JOIN LATERAL (SELECT p.status FROM partners p WHERE p.program_id = $1 AND p.id = c.id LIMIT 1) p
	WHERE c.level > 0 ORDER BY c.n, c.level`

// QueueUplinesAt queues UplineAt of each query, in order, in one
// statement, into r: *out is each query's ancestors once r is sent.
func QueueUplinesAt(r *ledger.Pipeline, program string, qs []UplineQuery, levels int, out *[][]Ancestor) {
	*out = make([][]Ancestor, len(qs))
	if len(qs) == 0 || levels <= 0 {
		return
	}
	partners, ats := make([]string, len(qs)), make([]time.Time, len(qs))
	for i, uq := range qs {
		partners[i], ats[i] = uq.Partner, uq.At
	}
	r.Query(uplinesAtSQL, []any{program, partners, ats, levels}, func(rows pgx.Rows) error {
		var (
			n int64
			a Ancestor
		)
		_, err := pgx.ForEachRow(rows, []any{&n, &a.Partner, &a.Status}, func() error {
			(*out)[n-1] = append((*out)[n-1], a)
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: walking %d uplines: %w", len(qs), err)
		}
		return nil
	})
}
