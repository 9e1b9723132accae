package server

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/internal/webhook"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// eventService implements accruev1connect.EventServiceHandler (issue 10):
// the event feed here, webhook endpoints in webhooks.go.
type eventService struct{ *Server }

// watchPoll is how often WatchEvents looks for newly published events.
const watchPoll = 250 * time.Millisecond

// resourceMessage is the API message of an event's resource: the view a
// use case reported, rendered as its RPCs render it. Private details
// (bank accounts, e-mail) stay out: events leave the system.
func resourceMessage(v any) (proto.Message, error) {
	switch v := v.(type) {
	case service.OrderView:
		return orderToProto(v), nil
	case service.PartnerView:
		return partnerToProto(v, false), nil
	case service.PayoutResult:
		return payoutProto(v.Payout, v.Scale, false), nil
	case service.SpendResult:
		return spendProto(v.Spend, v.Scale), nil
	case service.StatementResource:
		return statementToProto(v.Statement, v.Scale), nil
	case service.Closed:
		return closedToProto(v), nil
	case store.RulesVersion:
		return ruleVersionToProto(v), nil
	case store.Lead:
		return leadToProto(v), nil
	case service.RecordedClick:
		return &accruev1.RecordClickResponse{Partner: v.Partner, ClickId: v.ID}, nil
	}
	return nil, fmt.Errorf("server: no rendering of an event resource %T", v)
}

// renderResource is the service's EventRenderer: the resource as the
// API's JSON.
func renderResource(v any) ([]byte, error) {
	m, err := resourceMessage(v)
	if err != nil {
		return nil, err
	}
	return protojson.Marshal(m)
}

// eventToProto renders a published event.
func eventToProto(e store.Event) (*accruev1.Event, error) {
	resource := &structpb.Struct{}
	if err := protojson.Unmarshal(e.Resource, resource); err != nil {
		return nil, fmt.Errorf("server: event %d's resource: %w", e.ID, err)
	}
	return &accruev1.Event{Id: webhook.MessageID(e.ID), Seq: e.Seq, Type: e.Type, Program: e.Program,
		At: stamp(e.At), Resource: resource}, nil
}

// eventBody is a delivery's body: the event as JSON.
func eventBody(e store.Event) ([]byte, error) {
	m, err := eventToProto(e)
	if err != nil {
		return nil, err
	}
	return protojson.Marshal(m)
}

// WebhookWorker returns the worker that publishes the outbox and sends
// this server's program's deliveries; run it with Run.
func (s *Server) WebhookWorker(opts webhook.Options) *webhook.Worker {
	if opts.Log == nil {
		opts.Log = s.log
	}
	return webhook.New(s.svc, eventBody, opts)
}

// RecordClickEvents turns click.recorded events on or off (off by
// default); call it before serving.
func (s *Server) RecordClickEvents(on bool) { s.svc.RecordClickEvents(on) }

// eventFilter validates a feed request's program, cursor and types.
func eventFilter(program string, after int64, types []string) (store.EventFilter, error) {
	if program == "" {
		return store.EventFilter{}, fault.InvalidArgument("program", "required")
	}
	if after < 0 {
		return store.EventFilter{}, fault.InvalidArgument("after_seq", "must not be negative, got %d", after)
	}
	return store.EventFilter{Program: program, After: after, Types: types}, service.CheckEventTypes("types", types)
}

// ListEvents pages through a program's events after a cursor.
func (s *eventService) ListEvents(ctx context.Context, req *connect.Request[accruev1.ListEventsRequest]) (*connect.Response[accruev1.ListEventsResponse], error) {
	m := req.Msg
	f, err := eventFilter(m.GetProgram(), m.GetAfterSeq(), m.GetTypes())
	if err != nil {
		return nil, err
	}
	pg, err := readPage(m, 1)
	if err != nil {
		return nil, err
	}
	if pg.after != nil {
		if f.After, err = pg.afterID(); err != nil {
			return nil, err
		}
	}
	events, err := s.svc.ListEvents(ctx, f, pg.limit)
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ListEventsResponse{}
	for _, e := range events {
		pe, err := eventToProto(e)
		if err != nil {
			return nil, err
		}
		resp.Events = append(resp.Events, pe)
	}
	if len(events) == pg.limit {
		resp.NextPageToken = pg.nextToken(m, strconv.FormatInt(events[len(events)-1].Seq, 10))
	}
	return connect.NewResponse(resp), nil
}

// WatchEvents streams a program's events after a cursor as they are
// published. Streams bypass the unary interceptors, so it maps its errors
// itself.
func (s *eventService) WatchEvents(ctx context.Context, req *connect.Request[accruev1.WatchEventsRequest], stream *connect.ServerStream[accruev1.WatchEventsResponse]) error {
	if err := s.watch(ctx, req.Msg, stream); err != nil && ctx.Err() == nil {
		return s.connectError(req.Spec().Procedure, err)
	}
	return nil
}

func (s *eventService) watch(ctx context.Context, m *accruev1.WatchEventsRequest, stream *connect.ServerStream[accruev1.WatchEventsResponse]) error {
	f, err := eventFilter(m.GetProgram(), m.GetAfterSeq(), m.GetTypes())
	if err != nil {
		return err
	}
	for {
		events, err := s.svc.ListEvents(ctx, f, 1000)
		if err != nil {
			return err
		}
		for _, e := range events {
			pe, err := eventToProto(e)
			if err != nil {
				return err
			}
			if err := stream.Send(&accruev1.WatchEventsResponse{Event: pe}); err != nil {
				return err
			}
			f.After = e.Seq
		}
		if len(events) == 0 {
			if err := txn.Sleep(ctx, watchPoll); err != nil {
				return err
			}
		}
	}
}

// eventID reads an event id, "evt_" and a number, named by field.
func eventID(field, id string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimPrefix(id, "evt_"), 10, 64)
	if err != nil || n <= 0 || !strings.HasPrefix(id, "evt_") {
		return 0, fault.InvalidArgument(field, "must be an event id, evt_ and a number, got %q", id)
	}
	return n, nil
}
