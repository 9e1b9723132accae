package store

import (
	"context"
	"fmt"
	"time"

	"github.com/accrue/accrue/ledger"
)

// VersionAt returns the rules version of program in force at t: the one
// effective latest at or before t (the higher version on a tie), or the
// earliest effective version when t precedes them all; 0 when the program
// has no rules.
func VersionAt(ctx context.Context, q ledger.Querier, program string, t time.Time) (int32, error) {
	var v int32
	err := q.QueryRow(ctx, `SELECT COALESCE(
			(SELECT version FROM rule_versions WHERE program_id = $1 AND effective_at <= $2 ORDER BY effective_at DESC, version DESC LIMIT 1),
			(SELECT version FROM rule_versions WHERE program_id = $1 ORDER BY effective_at, version LIMIT 1), 0)`, program, t).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store: finding the rules of %s at %s: %w", program, t.Format(time.RFC3339), err)
	}
	return v, nil
}

// RulesDocument returns the document of one stored rules version.
func RulesDocument(ctx context.Context, q ledger.Querier, program string, version int32) (string, error) {
	var doc string
	if err := q.QueryRow(ctx, `SELECT document FROM rule_versions WHERE program_id = $1 AND version = $2`,
		program, version).Scan(&doc); err != nil {
		return "", fmt.Errorf("store: reading rules version %d of %s: %w", version, program, err)
	}
	return doc, nil
}

// LatestRulesVersion returns program's highest rules version, 0 when it
// has none.
func LatestRulesVersion(ctx context.Context, q ledger.Querier, program string) (int32, error) {
	var v int32
	err := q.QueryRow(ctx, `SELECT COALESCE(max(version), 0) FROM rule_versions WHERE program_id = $1`, program).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store: reading the latest rules version of %s: %w", program, err)
	}
	return v, nil
}
