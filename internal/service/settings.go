package service

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/store"
)

// Who changed a partner's settings, in its history.
const (
	SettingsByAdmin   = "admin"
	SettingsByPartner = "partner"
)

// Settings is a partner's private details after a change, and the keys
// the change changed.
type Settings struct {
	Private map[string]string
	Changed []string
}

// UpdateSettings replaces a partner's private details with private (a
// missing or "" key clears it), recording the change made by `by`
// ("partner" or "admin") in the partner's settings history.
func (s *Service) UpdateSettings(ctx context.Context, c Command, partner, by string, private map[string]string, encode Encode[Settings]) (Reply, error) {
	return Exec(ctx, s, c, encode, func(tx pgx.Tx) (Settings, error) {
		p, err := LoadPartner(ctx, tx, c.Program, partner, "partner", store.ForUpdate)
		if err != nil {
			return Settings{}, err
		}
		next := affiliate.MergePrivate(nil, private)
		changed, err := s.setPrivate(ctx, tx, c.Program, p, next, by)
		return Settings{Private: next, Changed: changed}, err
	})
}

// setPrivate stores p's new private details and, when they differ from
// its old ones, a history row; it returns the keys that changed.
func (s *Service) setPrivate(ctx context.Context, tx pgx.Tx, program string, p store.Partner, next map[string]string, by string) ([]string, error) {
	changed := affiliate.ChangedPrivate(p.Private, next)
	if len(changed) == 0 {
		return nil, nil
	}
	if err := store.SetPartnerPrivate(ctx, tx, program, p.ID, next); err != nil {
		return nil, err
	}
	return changed, store.InsertSettingsChange(ctx, tx, program, p.ID, store.SettingsChange{
		At: s.clock.Now(), By: by, Changed: changed, Private: next})
}

// SettingsChanges returns a page of a partner's settings history, newest
// first; fault NotFound for an unknown partner.
func (s *Service) SettingsChanges(ctx context.Context, program, partner string, before int64, limit int) ([]store.SettingsChange, error) {
	if _, err := LoadPartner(ctx, s.db.Pool, program, partner, "partner", store.NoLock); err != nil {
		return nil, err
	}
	return store.ListSettingsChanges(ctx, s.db.Pool, program, partner, before, limit)
}
