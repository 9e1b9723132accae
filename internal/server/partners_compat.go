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
