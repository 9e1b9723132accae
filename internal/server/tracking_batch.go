package server

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/service"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// ClicksMax bounds the clicks of one RecordClicks call.
const ClicksMax = 1000

// RecordClicks records a tracker's buffered clicks, each under its own
// key, with one result per click (see docs/decisions.md): a click is
// checked, hashed and answered as the RecordClick of its fields would be.
// Only a malformed call (no program, no clicks or too many) or an unknown
// program fails the whole call.
func (s *trackingService) RecordClicks(ctx context.Context, req *connect.Request[accruev1.RecordClicksRequest]) (*connect.Response[accruev1.RecordClicksResponse], error) {
	m := req.Msg
	if m.GetProgram() == "" {
		return nil, fault.InvalidArgument("program", "required")
	}
	if n := len(m.GetClicks()); n == 0 || n > ClicksMax {
		return nil, fault.InvalidArgument("clicks", "1 to %d clicks, not %d", ClicksMax, n)
	}
	batch := make([]service.BatchClick, len(m.GetClicks()))
	for i, c := range m.GetClicks() {
		batch[i] = s.batchClick(m.GetProgram(), c)
	}
	outcomes, err := s.svc.RecordClicks(ctx, m.GetProgram(), batch, encodeClick)
	if err != nil {
		return nil, err
	}
	resp := &accruev1.RecordClicksResponse{Results: make([]*accruev1.ClickResult, len(outcomes))}
	for i, o := range outcomes {
		if resp.Results[i], err = clickResult(i, o); err != nil {
			return nil, err
		}
	}
	return connect.NewResponse(resp), nil
}

// batchClick is click m of a batch of program as the service takes it:
// validated, and named by the command of the equivalent RecordClick (the
// call's program filled in), so that a click and a RecordClick with the
// same key and payload are one command.
func (s *trackingService) batchClick(program string, m *accruev1.RecordClickRequest) service.BatchClick {
	if m.GetProgram() != "" && m.GetProgram() != program {
		return service.BatchClick{Err: fault.InvalidArgument("program", "empty or the call's program %q", program)}
	}
	single := proto.CloneOf(m)
	single.Program = program
	c := service.BatchClick{Command: commandOf(single)}
	if c.Err = service.CheckKey(c.Key); c.Err == nil {
		c.Click, c.Err = s.clickOf(single)
	}
	return c
}

// clickResult is the result of the i-th click: its response, or its fault
// with the field's path in the call (clicks[i].field).
func clickResult(i int, o service.ClickOutcome) (*accruev1.ClickResult, error) {
	if o.Err == nil {
		resp, err := clickResponse(o.Reply)
		return &accruev1.ClickResult{Outcome: &accruev1.ClickResult_Click{Click: resp}}, err
	}
	var f *fault.Error
	code, ok := connect.Code(0), false
	if errors.As(o.Err, &f) {
		code, ok = connectCodes[f.Code]
	}
	if !ok {
		return nil, o.Err
	}
	return &accruev1.ClickResult{Outcome: &accruev1.ClickResult_Error{Error: &accruev1.ClickError{
		Code: code.String(), Field: fmt.Sprintf("clicks[%d].%s", i, f.Field), Message: f.Msg,
	}}}, nil
}
