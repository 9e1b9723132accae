package server

import (
	"context"
	"time"

	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/rules"
)

// uplineAt is service.UplineAt. Temporary (issue 8): for the order and
// simulation handlers until their slices move; they call
// service.UplineAt from their use cases instead.
func uplineAt(ctx context.Context, q querier, program, partnerID string, t time.Time, levels int) ([]rules.UplineMember, error) {
	return service.UplineAt(ctx, q, program, partnerID, t, levels)
}

// attribution is who an order is attributed to, and how
// (service.Attribution). Temporary, as uplineAt.
type attribution struct {
	partner string
	how     string // "partner_code", "last_click", "first_click" or ""
	clickID int64
}

// attribute is service.Attribute. Temporary, as uplineAt.
func attribute(ctx context.Context, q querier, program string, prog *rules.Program, code, visitor, customer string, at time.Time) (attribution, error) {
	a, err := service.Attribute(ctx, q, program, prog, code, visitor, customer, at)
	return attribution{partner: a.Partner, how: a.How, clickID: a.ClickID}, err
}
