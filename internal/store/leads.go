package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/ledger"
)

// Lead is a partner-submitted lead.
type Lead struct {
	ID, Partner, PartnerCode    string
	CustomerName, Contact, Note string
	SubmittedAt                 time.Time
	// Seq orders leads as they were stored (the list's keyset).
	Seq int64
}

// InsertLead stores a new lead; false when the program has a lead of that
// id already.
func InsertLead(ctx context.Context, q ledger.Querier, program string, l Lead) (Lead, bool, error) {
	err := q.QueryRow(ctx, `INSERT INTO leads (program_id, id, partner_id, partner_code, customer_name, contact, note, submitted_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (program_id, id) DO NOTHING RETURNING seq`,
		program, l.ID, l.Partner, l.PartnerCode, l.CustomerName, l.Contact, l.Note, l.SubmittedAt).Scan(&l.Seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return Lead{}, false, nil
	}
	if err != nil {
		return Lead{}, false, fmt.Errorf("store: inserting lead %s: %w", l.ID, err)
	}
	return l, true, nil
}

// LeadPartner returns the partner of a lead; false when the program has
// no such lead.
func LeadPartner(ctx context.Context, q ledger.Querier, program, lead string) (string, bool, error) {
	var partner string
	err := q.QueryRow(ctx, `SELECT partner_id FROM leads WHERE program_id = $1 AND id = $2`, program, lead).Scan(&partner)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: reading lead %s: %w", lead, err)
	}
	return partner, true, nil
}

// LeadFilter selects a page of leads, newest first: of one partner when
// Partner is set, stored before Before when it is not 0.
type LeadFilter struct {
	Program, Partner string
	Before           int64
	Limit            int
}

// ListLeads returns the page of leads f selects.
func ListLeads(ctx context.Context, q ledger.Querier, f LeadFilter) ([]Lead, error) {
	rows, err := q.Query(ctx, `SELECT id, partner_id, partner_code, customer_name, contact, note, submitted_at, seq FROM leads
		WHERE program_id = $1 AND ($2 = '' OR partner_id = $2) AND ($3 = 0 OR seq < $3)
		ORDER BY seq DESC LIMIT $4`, f.Program, f.Partner, f.Before, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: listing leads: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Lead, error) {
		var l Lead
		err := r.Scan(&l.ID, &l.Partner, &l.PartnerCode, &l.CustomerName, &l.Contact, &l.Note, &l.SubmittedAt, &l.Seq)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: listing leads: %w", err)
	}
	return out, nil
}
