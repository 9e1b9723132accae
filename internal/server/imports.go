package server

import (
	"context"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/service"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// importService serves accrue.v1.ImportService: a shop's history brought
// in bulk (docs/decisions.md, "Issue 9: history import").
type importService struct{ *Server }

// BeginImport puts a program in importing state: its scheduler is held.
func (s *importService) BeginImport(ctx context.Context, req *connect.Request[accruev1.BeginImportRequest]) (*connect.Response[accruev1.BeginImportResponse], error) {
	reply, err := s.svc.BeginImport(ctx, commandOf(req.Msg), func(b service.ImportBegun) ([]byte, error) {
		return encodeProto(&accruev1.BeginImportResponse{Begun: b.Begun})
	})
	resp := &accruev1.BeginImportResponse{}
	if err == nil {
		err = proto.Unmarshal(reply.Body, resp)
	}
	if err != nil {
		return nil, err
	}
	resp.Replayed = reply.Replayed
	return connect.NewResponse(resp), nil
}

// FinishImport ends an import and runs the closes it held.
func (s *importService) FinishImport(ctx context.Context, req *connect.Request[accruev1.FinishImportRequest]) (*connect.Response[accruev1.FinishImportResponse], error) {
	reply, done, err := s.svc.FinishImport(ctx, commandOf(req.Msg))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.FinishImportResponse{OpenPeriod: done.OpenPeriod, Replayed: reply.Replayed}), nil
}

// ImportEvents applies a batch of past events, all or nothing, each as its
// single call with the same key would.
func (s *importService) ImportEvents(ctx context.Context, req *connect.Request[accruev1.ImportEventsRequest]) (*connect.Response[accruev1.ImportEventsResponse], error) {
	m := req.Msg
	if m.GetProgram() == "" {
		return nil, fault.InvalidArgument("program", "required")
	}
	if n := len(m.GetEvents()); n == 0 || n > service.ImportEventsMax {
		return nil, fault.InvalidArgument("events", "1 to %d events, not %d", service.ImportEventsMax, n)
	}
	events := make([]service.ImportEvent, len(m.GetEvents()))
	for i, e := range m.GetEvents() {
		var err error
		if events[i], err = s.importEvent(m.GetProgram(), i, e); err != nil {
			return nil, err
		}
	}
	replies, err := s.svc.ImportEvents(ctx, m.GetProgram(), events, importEncoders)
	if err != nil {
		return nil, err
	}
	resp := &accruev1.ImportEventsResponse{Results: make([]*accruev1.ImportResult, len(replies))}
	for i, r := range replies {
		resp.Results[i] = &accruev1.ImportResult{Replayed: r.Replayed}
		if r.Replayed {
			resp.Replayed++
		} else {
			resp.Applied++
		}
	}
	return connect.NewResponse(resp), nil
}

// importEncoders store each event's response as its single call does.
var importEncoders = service.ImportEncoders{
	Partner: encodePartner, Click: encodeClick, Pay: encodePay,
	Complete: encodeOrder(func(o *accruev1.Order) *accruev1.CompleteOrderResponse {
		return &accruev1.CompleteOrderResponse{Order: o}
	}),
	Refund: encodeOrder(func(o *accruev1.Order) *accruev1.RefundOrderResponse { return &accruev1.RefundOrderResponse{Order: o} }),
	Amend:  encodeOrder(func(o *accruev1.Order) *accruev1.AmendOrderResponse { return &accruev1.AmendOrderResponse{Order: o} }),
	Cancel: encodeOrder(func(o *accruev1.Order) *accruev1.CancelOrderResponse { return &accruev1.CancelOrderResponse{Order: o} }),
}

// importEvent validates the i-th event of an import into program as its
// single call would, and names it by that call's command; its faults'
// fields are under events[i].<kind>.
func (s *importService) importEvent(program string, i int, e *accruev1.ImportEvent) (service.ImportEvent, error) {
	r := e.ProtoReflect()
	kind := r.WhichOneof(r.Descriptor().Oneofs().Get(0))
	if kind == nil {
		return service.ImportEvent{}, fault.InvalidArgument(fmt.Sprintf("events[%d]", i), "one event required")
	}
	ev := service.ImportEvent{Field: fmt.Sprintf("events[%d].%s", i, kind.Name())}
	err := importCommand(program, r.Get(kind).Message().Interface().(postingCommand), &ev)
	if err == nil {
		err = s.importInput(e, &ev)
	}
	return ev, fault.Prefixed(ev.Field, err)
}

// importInput validates e's single-call request into ev's input.
func (s *importService) importInput(e *accruev1.ImportEvent, ev *service.ImportEvent) error {
	var err error
	switch x := e.GetEvent().(type) {
	case *accruev1.ImportEvent_RegisterPartner:
		ev.Partner, err = ptr((&partnerService{s.Server}).newPartner(x.RegisterPartner))
	case *accruev1.ImportEvent_RecordClick:
		ev.Click, err = ptr((&trackingService{s.Server}).clickOf(x.RecordClick))
	case *accruev1.ImportEvent_PayOrder:
		ev.Pay, err = ptr(s.payInput(x.PayOrder))
	case *accruev1.ImportEvent_CompleteOrder:
		ev.Complete, err = ptr(s.orderChange(x.CompleteOrder))
	case *accruev1.ImportEvent_RefundOrder:
		ev.Refund, err = ptr(s.refundInput(x.RefundOrder))
	case *accruev1.ImportEvent_AmendOrder:
		ev.Amend, err = ptr(s.amendInput(x.AmendOrder))
	case *accruev1.ImportEvent_CancelOrder:
		ev.Cancel, err = ptr(s.orderChange(x.CancelOrder))
	}
	return err
}

// importCommand checks an event's program, key and time, fills the call's
// program in (so that the event and its single call are one command, and
// its input names the program) and names its command and time in ev.
func importCommand(program string, msg postingCommand, ev *service.ImportEvent) error {
	if msg.GetProgram() != "" && msg.GetProgram() != program {
		return fault.InvalidArgument("program", "empty or the call's program %q", program)
	}
	if msg.GetAt() == nil {
		return fault.InvalidArgument("at", "required in an import: when the event happened")
	}
	if err := service.CheckKey(msg.GetIdempotencyKey()); err != nil {
		return err
	}
	r := msg.ProtoReflect()
	r.Set(r.Descriptor().Fields().ByName("program"), protoreflect.ValueOfString(program))
	ev.Command = commandOf(msg)
	ev.At = msg.GetAt().AsTime().UTC().Truncate(time.Microsecond) // as eventTime read it

	return nil
}

// ptr is v's address, or nil with err.
func ptr[T any](v T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return &v, nil
}
