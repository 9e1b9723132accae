package service

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// Snapshot advances the as-of snapshots (ledger.Snapshot), each call in its
// own transaction, again at once while a call's batch was full, so a
// backlog is folded in one go. The scheduler calls it every second; a
// replay before each step. It returns the entries folded in all.
func (s *Service) Snapshot(ctx context.Context) (int, error) {
	total := 0
	for {
		var done ledger.Snapshotted
		err := s.db.Run(ctx, func(tx pgx.Tx) error {
			var err error
			done, err = ledger.Snapshot(ctx, tx)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("service: snapshot: %w", err)
		}
		total += done.Entries
		if !done.Full() {
			return total, nil
		}
	}
}
