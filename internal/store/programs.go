package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// RulesVersion is one stored version of a program's rules.
type RulesVersion struct {
	Version     int32
	EffectiveAt time.Time
	Document    string
}

// InsertRulesVersion stores document as program's next rules version,
// effective from at, and returns its number. Versions are numbered by
// count, so the caller holds the program's exclusive lock.
func InsertRulesVersion(ctx context.Context, q ledger.Querier, program string, at time.Time, document string) (int32, error) {
	var v int32
	err := q.QueryRow(ctx, `INSERT INTO rule_versions (program_id, version, effective_at, document)
		SELECT $1, COALESCE(max(version), 0) + 1, $2, $3 FROM rule_versions WHERE program_id = $1
		RETURNING version`, program, at, document).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store: storing rules of %s: %w", program, err)
	}
	return v, nil
}

// LoadRulesVersion reads one rules version; found is false when program
// has no such version.
func LoadRulesVersion(ctx context.Context, q ledger.Querier, program string, version int32) (RulesVersion, bool, error) {
	out := RulesVersion{Version: version}
	err := q.QueryRow(ctx, `SELECT effective_at, document FROM rule_versions WHERE program_id = $1 AND version = $2`,
		program, version).Scan(&out.EffectiveAt, &out.Document)
	if errors.Is(err, pgx.ErrNoRows) {
		return RulesVersion{}, false, nil
	}
	if err != nil {
		return RulesVersion{}, false, fmt.Errorf("store: reading rules version %d of %s: %w", version, program, err)
	}
	return out, true, nil
}

// ListRulesVersions returns every rules version of program in version
// order; none when the program has no rules.
func ListRulesVersions(ctx context.Context, q ledger.Querier, program string) ([]RulesVersion, error) {
	rows, err := q.Query(ctx, `SELECT version, effective_at, document FROM rule_versions WHERE program_id = $1 ORDER BY version`,
		program)
	if err != nil {
		return nil, fmt.Errorf("store: listing rules of %s: %w", program, err)
	}
	defer rows.Close()
	var out []RulesVersion
	for rows.Next() {
		var v RulesVersion
		if err := rows.Scan(&v.Version, &v.EffectiveAt, &v.Document); err != nil {
			return nil, fmt.Errorf("store: scanning rules of %s: %w", program, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: listing rules of %s: %w", program, err)
	}
	return out, nil
}
