package server

import (
	"context"
	"strconv"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/internal/webhook"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// webhookToProto renders an endpoint, never its secret.
func webhookToProto(e store.Endpoint) *accruev1.Webhook {
	return &accruev1.Webhook{Id: e.ID, Program: e.Program, Url: e.URL, EventTypes: e.Types, Description: e.Description,
		Disabled: e.Disabled, CreatedAt: stamp(e.Created), UpdatedAt: stamp(e.Updated)}
}

// deliveryToProto renders a delivery with its attempts.
func deliveryToProto(d store.Delivery) *accruev1.Delivery {
	out := &accruev1.Delivery{Id: d.ID, EventId: webhook.MessageID(d.Event.ID), EventType: d.Event.Type, Seq: d.Seq,
		Status: d.Status, CreatedAt: stamp(d.Created), Manual: d.Manual}
	if d.Status == store.DeliveryPending {
		out.NextAttemptAt = stamp(d.NextAttempt)
	}
	for _, a := range d.Log {
		out.Attempts = append(out.Attempts, &accruev1.DeliveryAttempt{At: stamp(a.At), StatusCode: int32(a.StatusCode), Error: a.Error})
	}
	return out
}

// CreateWebhook registers an endpoint and answers its secret.
func (s *eventService) CreateWebhook(ctx context.Context, req *connect.Request[accruev1.CreateWebhookRequest]) (*connect.Response[accruev1.CreateWebhookResponse], error) {
	m := req.Msg
	in := service.WebhookInput{Program: m.GetProgram(), URL: m.GetUrl(), Description: m.GetDescription(), Types: m.GetEventTypes()}
	reply, err := s.svc.CreateWebhook(ctx, commandOf(m), in, func(c service.CreatedWebhook) ([]byte, error) {
		return encodeProto(&accruev1.CreateWebhookResponse{Webhook: webhookToProto(c.Endpoint), Secret: c.Secret})
	})
	resp := &accruev1.CreateWebhookResponse{}
	if err := unmarshalReply(reply, err, resp); err != nil {
		return nil, err
	}
	return connect.NewResponse(resp), nil
}

// ListWebhooks pages through a program's endpoints.
func (s *eventService) ListWebhooks(ctx context.Context, req *connect.Request[accruev1.ListWebhooksRequest]) (*connect.Response[accruev1.ListWebhooksResponse], error) {
	m := req.Msg
	if m.GetProgram() == "" {
		return nil, fault.InvalidArgument("program", "required")
	}
	pg, err := readPage(m, 1)
	if err != nil {
		return nil, err
	}
	after := ""
	if pg.after != nil {
		after = pg.after[0]
	}
	ends, err := s.svc.Webhooks(ctx, m.GetProgram(), after, pg.limit)
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ListWebhooksResponse{}
	for _, e := range ends {
		resp.Webhooks = append(resp.Webhooks, webhookToProto(e))
	}
	if len(ends) == pg.limit {
		resp.NextPageToken = pg.nextToken(m, ends[len(ends)-1].ID)
	}
	return connect.NewResponse(resp), nil
}

// UpdateWebhook changes an endpoint.
func (s *eventService) UpdateWebhook(ctx context.Context, req *connect.Request[accruev1.UpdateWebhookRequest]) (*connect.Response[accruev1.UpdateWebhookResponse], error) {
	m := req.Msg
	if m.GetWebhook() == "" {
		return nil, fault.InvalidArgument("webhook", "required")
	}
	ch := service.WebhookChange{Program: m.GetProgram(), Webhook: m.GetWebhook(), URL: m.Url, Description: m.Description, Disabled: m.Disabled}
	if m.EventTypes != nil {
		types := m.EventTypes.GetTypes()
		ch.Types = &types
	}
	reply, err := s.svc.UpdateWebhook(ctx, commandOf(m), ch, func(e store.Endpoint) ([]byte, error) {
		return encodeProto(&accruev1.UpdateWebhookResponse{Webhook: webhookToProto(e)})
	})
	resp := &accruev1.UpdateWebhookResponse{}
	if err := unmarshalReply(reply, err, resp); err != nil {
		return nil, err
	}
	return connect.NewResponse(resp), nil
}

// DeleteWebhook removes an endpoint.
func (s *eventService) DeleteWebhook(ctx context.Context, req *connect.Request[accruev1.DeleteWebhookRequest]) (*connect.Response[accruev1.DeleteWebhookResponse], error) {
	m := req.Msg
	if m.GetWebhook() == "" {
		return nil, fault.InvalidArgument("webhook", "required")
	}
	reply, err := s.svc.DeleteWebhook(ctx, commandOf(m), m.GetWebhook(), func(string) ([]byte, error) {
		return encodeProto(&accruev1.DeleteWebhookResponse{})
	})
	resp := &accruev1.DeleteWebhookResponse{}
	if err := unmarshalReply(reply, err, resp); err != nil {
		return nil, err
	}
	return connect.NewResponse(resp), nil
}

// ListDeliveries pages through an endpoint's delivery log.
func (s *eventService) ListDeliveries(ctx context.Context, req *connect.Request[accruev1.ListDeliveriesRequest]) (*connect.Response[accruev1.ListDeliveriesResponse], error) {
	m := req.Msg
	if m.GetWebhook() == "" {
		return nil, fault.InvalidArgument("webhook", "required")
	}
	pg, err := readPage(m, 1)
	if err != nil {
		return nil, err
	}
	after, err := pg.afterID()
	if err != nil {
		return nil, err
	}
	ds, err := s.svc.Deliveries(ctx, m.GetProgram(), m.GetWebhook(), after, pg.limit)
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ListDeliveriesResponse{}
	for _, d := range ds {
		resp.Deliveries = append(resp.Deliveries, deliveryToProto(d))
	}
	if len(ds) == pg.limit {
		resp.NextPageToken = pg.nextToken(m, strconv.FormatInt(ds[len(ds)-1].ID, 10))
	}
	return connect.NewResponse(resp), nil
}

// RedeliverEvent queues an event for an endpoint again.
func (s *eventService) RedeliverEvent(ctx context.Context, req *connect.Request[accruev1.RedeliverEventRequest]) (*connect.Response[accruev1.RedeliverEventResponse], error) {
	m := req.Msg
	if m.GetWebhook() == "" {
		return nil, fault.InvalidArgument("webhook", "required")
	}
	event, err := eventID("event_id", m.GetEventId())
	if err != nil {
		return nil, err
	}
	reply, err := s.svc.RedeliverEvent(ctx, commandOf(m), m.GetWebhook(), event, func(d store.Delivery) ([]byte, error) {
		return encodeProto(&accruev1.RedeliverEventResponse{Delivery: deliveryToProto(d)})
	})
	resp := &accruev1.RedeliverEventResponse{}
	if err := unmarshalReply(reply, err, resp); err != nil {
		return nil, err
	}
	return connect.NewResponse(resp), nil
}
