package service

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
)

// The outbox (issue 10): each use case appends the domain events of its
// change in its own transaction (emit), so an event exists exactly when
// the change committed. The publisher (PublishEvents) later stamps each
// committed event with its feed position; consumers follow positions.

// Event types.
const (
	EventPartnerRegistered = "partner.registered"
	EventPartnerUpdated    = "partner.updated"
	EventClickRecorded     = "click.recorded"
	EventOrderPaid         = "order.paid"
	EventOrderAccrued      = "order.accrued"
	EventOrderAdjusted     = "order.adjusted"
	EventPeriodClosed      = "period.closed"
	EventStatementIssued   = "statement.issued"
	EventPayoutCreated     = "payout.created"
	EventPayoutSettled     = "payout.settled"
	EventPayoutFailed      = "payout.failed"
	EventCreditSpent       = "credit.spent"
	EventCreditReversed    = "credit.reversed"
	EventRulesUpdated      = "rules.updated"
	EventLeadSubmitted     = "lead.submitted"
)

// EventTypes lists every event type, in the order of the documentation.
var EventTypes = []string{
	EventPartnerRegistered, EventPartnerUpdated, EventClickRecorded, EventOrderPaid, EventOrderAccrued,
	EventOrderAdjusted, EventPeriodClosed, EventStatementIssued, EventPayoutCreated, EventPayoutSettled,
	EventPayoutFailed, EventCreditSpent, EventCreditReversed, EventRulesUpdated, EventLeadSubmitted,
}

// Limits of the feed.
const (
	// EventTypesMax bounds the types a filter or a webhook names.
	EventTypesMax = 32
	// publishBatch bounds the events one publisher run stamps.
	publishBatch = 5000
)

// EventRenderer renders the resource an event reports (a use case's view:
// OrderView, PartnerView, PayoutResource, ...) as the API returns it, as
// JSON. The server supplies it: it owns the wire form.
type EventRenderer func(resource any) ([]byte, error)

// RenderEventsWith sets how events' resources are rendered; call it before
// serving. Without it, resources are rendered by encoding/json.
func (s *Service) RenderEventsWith(r EventRenderer) { s.events.render = r }

// RecordClickEvents turns click.recorded events on (off by default: clicks
// are the bulk of traffic and few consumers want each one).
func (s *Service) RecordClickEvents(on bool) { s.events.clicks = on }

// eventState is the service's outbox configuration.
type eventState struct {
	render EventRenderer
	clicks bool
}

// Emitted is one event a use case reports: its type and resource.
type Emitted struct {
	Type     string
	Resource any
	// rendered, when set, is Resource as the outbox stores it already:
	// events of one resource render it once (emitPaidEvents).
	rendered []byte
}

// emit appends events of program to the outbox, in the caller's
// transaction, in one statement; `at` is this attempt's time by the
// service's clock.
func (s *Service) emit(ctx context.Context, q ledger.Querier, program string, events ...Emitted) error {
	if len(events) == 0 {
		return nil
	}
	at := s.clock.Now()
	rows := make([]store.Event, len(events))
	for i, e := range events {
		body := e.rendered
		if body == nil {
			var err error
			if body, err = s.renderResource(e.Resource); err != nil {
				return fmt.Errorf("service: rendering the resource of a %s event: %w", e.Type, err)
			}
		}
		rows[i] = store.Event{Program: program, Type: e.Type, At: at, Resource: body}
	}
	return store.AppendEvents(ctx, q, rows)
}

func (s *Service) renderResource(v any) ([]byte, error) {
	if s.events.render != nil {
		return s.events.render(v)
	}
	return json.Marshal(v)
}

// emitOrderEvents appends the events of one order command: order.paid for
// a payment, order.accrued when the order accrued in this command,
// order.adjusted for a refund, amendment or cancellation. The one call
// each order use case makes, so a batched write path can gather them.
func (s *Service) emitOrderEvents(ctx context.Context, q ledger.Querier, program string, view OrderView, types ...string) error {
	events := make([]Emitted, len(types))
	for i, t := range types {
		events[i] = Emitted{Type: t, Resource: view}
	}
	return s.emit(ctx, q, program, events...)
}

// PublishEvents stamps feed positions on committed events not stamped yet,
// in batches, until none is left or ctx ends; it returns how many it
// stamped. Any process may run it at any time (store.PublishEvents).
func (s *Service) PublishEvents(ctx context.Context) (int, error) {
	total := 0
	for {
		var n int
		err := s.db.Run(ctx, func(tx pgx.Tx) error {
			var err error
			n, err = store.PublishEvents(ctx, tx, publishBatch)
			return err
		})
		total += n
		if err != nil || n < publishBatch {
			return total, err
		}
	}
}

// CheckEventTypes validates a list of event types named by field.
func CheckEventTypes(field string, types []string) error {
	if len(types) > EventTypesMax {
		return fault.InvalidArgument(field, "at most %d types, got %d", EventTypesMax, len(types))
	}
	for i, t := range types {
		if !slices.Contains(EventTypes, t) {
			return fault.InvalidArgument(fmt.Sprintf("%s[%d]", field, i), "unknown event type %q; one of %v", t, EventTypes)
		}
	}
	return nil
}

// ListEvents reads up to limit published events of f in feed order; fault
// NotFound when the program does not exist.
func (s *Service) ListEvents(ctx context.Context, f store.EventFilter, limit int) ([]store.Event, error) {
	if err := CheckEventTypes("types", f.Types); err != nil {
		return nil, err
	}
	var out []store.Event
	err := s.db.ReadOnly(ctx, func(tx pgx.Tx) error {
		if _, err := ledger.LoadProgram(ctx, tx, f.Program); err != nil {
			return err
		}
		var err error
		out, err = store.ListEvents(ctx, tx, f, limit)
		return err
	})
	return out, err
}

// OutboxLag is the publisher's backlog: events committed and not yet in
// the feed, and how long the oldest has waited by the service's clock
// (zero when none). For the metrics endpoint.
func (s *Service) OutboxLag(ctx context.Context) (int64, time.Duration, error) {
	n, oldest, err := store.OutboxBacklog(ctx, s.db.Pool)
	if err != nil || oldest.IsZero() {
		return n, 0, err
	}
	return n, max(s.clock.Now().Sub(oldest), 0), nil
}

// withEvent appends one event of typ reporting v when err is nil, and
// passes v and err on: the tail of a use case that reports its view.
func withEvent[T any](ctx context.Context, s *Service, q ledger.Querier, program, typ string, v T, err error) (T, error) {
	if err != nil {
		return v, err
	}
	return v, s.emit(ctx, q, program, Emitted{Type: typ, Resource: v})
}

// StatementResource is the resource of statement.issued: a statement and
// its program's currency scale.
type StatementResource struct {
	Statement affiliate.Statement
	Scale     int32
}
