package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/accrue/accrue/ledger"
)

// KnownClick is a click settled before it is written: its id reserved
// (ReserveClickIDs), its partner the one its reference is expected to
// resolve to, and its key's response encoded with both.
type KnownClick struct {
	ID      int64
	Ref     ClickRef
	Click   Click // Partner: the partner Ref is expected to resolve to
	Command Command
	Body    []byte
}

// ReserveClickIDs takes n ids from the clicks' identity sequence, in one
// query; ids the caller never writes are gaps, as a rolled-back insert
// leaves. The sequence is named as a constant: pg_get_serial_sequence,
// a stable function, ran once per id and cost eight times the nextval
// itself.
func ReserveClickIDs(ctx context.Context, q ledger.Querier, n int) ([]int64, error) {
	rows, err := q.Query(ctx, `SELECT nextval('clicks_id_seq') FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, fmt.Errorf("store: reserving %d click ids: %w", n, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("store: reserving %d click ids: %w", n, err)
	}
	return ids, nil
}

// insertKnownClicksSQL writes, in one statement, each click whose
// reference resolves (code first, then id, as ResolveClicks) to the
// partner it names and whose key is not recorded, with its key's record.
// Each step probes by index whatever the statistics (correlated
// subqueries fenced by LIMIT: a NOT EXISTS became an anti join whose
// generic plan read every command of the program for each click), and
// the two inserts read the same rows, so no step joins the clicks to each
// other. A key a concurrent statement records meanwhile violates the
// commands' primary key and fails the statement whole (InsertKnownClicks
// reports nothing written).
const insertKnownClicksSQL = `WITH u AS (
		SELECT * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::bytea[],
			$10::text[], $11::timestamptz[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[])
			AS u(id, code, ref, partner, ikey, method, hash, body, visitor, at, landing, banner, utm_source, utm_medium, utm_campaign)
		WHERE u.partner = COALESCE(
			(SELECT bc.id FROM partners bc WHERE bc.program_id = $1 AND lower(bc.code) = u.code LIMIT 1),
			(SELECT bi.id FROM partners bi WHERE bi.program_id = $1 AND bi.id = u.ref LIMIT 1))
		AND (SELECT true FROM commands c WHERE c.program_id = $1 AND c.idempotency_key = u.ikey LIMIT 1) IS NULL
	), k AS (
		INSERT INTO commands (program_id, idempotency_key, method, request_hash, response, running, created_at)
		SELECT $1, u.ikey, u.method, u.hash, u.body, false, $17 FROM u
	)
	INSERT INTO clicks (id, program_id, partner_id, visitor, at, landing, banner, utm_source, utm_medium, utm_campaign)
	SELECT u.id, $1, u.partner, u.visitor, u.at, u.landing, u.banner, u.utm_source, u.utm_medium, u.utm_campaign FROM u
	RETURNING id`

// InsertKnownClicks writes the clicks whose partner is as expected and
// whose key is free, with their keys' records created at `at`, in one
// statement sent with s, and reports which it wrote: written[i] for
// clicks[i]. A click not written wrote nothing; its caller settles it
// another way. Keys should be distinct: a key twice fails the statement
// on the commands' primary key, and nothing is written. With generic,
// the statement runs on its generic plan (ledger.GenericPlansSQL, in the
// same round trip); its plan is checked by TestKnownClicksGenericPlan.
func InsertKnownClicks(ctx context.Context, s ledger.BatchSender, program string, clicks []KnownClick, at time.Time, generic bool) ([]bool, error) {
	n := len(clicks)
	ids := make([]int64, n)
	text := make([][]string, 11)
	for k := range text {
		text[k] = make([]string, n)
	}
	hashes, bodies, ats := make([][]byte, n), make([][]byte, n), make([]time.Time, n)
	byID := map[int64]int{}
	for i, c := range clicks {
		ids[i], hashes[i], bodies[i], ats[i] = c.ID, c.Command.Hash, c.Body, c.Click.At
		for k, v := range []string{c.Ref.Code, c.Ref.ID, c.Click.Partner, c.Command.Key, c.Command.Method, c.Click.Visitor,
			c.Click.Landing, c.Click.Banner, c.Click.UTMSource, c.Click.UTMMedium, c.Click.UTMCampaign} {
			text[k][i] = v
		}
		byID[c.ID] = i
	}
	written := make([]bool, n)
	var r ledger.Pipeline
	if generic {
		r.GenericPlans()
	}
	args := []any{program, ids, text[0], text[1], text[2], text[3], text[4], hashes, bodies,
		text[5], ats, text[6], text[7], text[8], text[9], text[10], at}
	r.Query(insertKnownClicksSQL, args, func(rows pgx.Rows) error {
		var id int64
		_, err := pgx.ForEachRow(rows, []any{&id}, func() error {
			i, ok := byID[id]
			if !ok {
				return fmt.Errorf("click %d was not sent", id)
			}
			written[i] = true
			return nil
		})
		return err
	})
	err := r.Send(ctx, s)
	if keyTaken(err) {
		return make([]bool, n), nil // a key recorded meanwhile: nothing written
	}
	if err != nil {
		return nil, fmt.Errorf("store: writing %d clicks: %w", n, err)
	}
	return written, nil
}

// keyTaken reports whether err is a violation of the commands' primary
// key: an idempotency key recorded by a concurrent statement.
func keyTaken(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "commands_pkey"
}
