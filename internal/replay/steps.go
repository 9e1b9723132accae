package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gopkg.in/yaml.v3"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// clients are the Connect clients a replay drives.
type clients struct {
	program  accruev1connect.ProgramServiceClient
	partner  accruev1connect.PartnerServiceClient
	tracking accruev1connect.TrackingServiceClient
	order    accruev1connect.OrderServiceClient
	period   accruev1connect.PeriodServiceClient
	payout   accruev1connect.PayoutServiceClient
	ledger   accruev1connect.LedgerServiceClient
}

func newClients(h connect.HTTPClient, base string) clients {
	return clients{
		program:  accruev1connect.NewProgramServiceClient(h, base),
		partner:  accruev1connect.NewPartnerServiceClient(h, base),
		tracking: accruev1connect.NewTrackingServiceClient(h, base),
		order:    accruev1connect.NewOrderServiceClient(h, base),
		period:   accruev1connect.NewPeriodServiceClient(h, base),
		payout:   accruev1connect.NewPayoutServiceClient(h, base),
		ledger:   accruev1connect.NewLedgerServiceClient(h, base),
	}
}

// Payloads of the verbs (SPEC §9).
type (
	line struct {
		Product string `yaml:"product"`
		Amount  string `yaml:"amount"`
	}
	partnerRegister struct {
		Partner     string `yaml:"partner"`
		Parent      string `yaml:"parent"`
		Code        string `yaml:"code"`
		Customer    string `yaml:"customer"`
		ParentUntil string `yaml:"parent_until"`
	}
	click struct {
		Partner     string `yaml:"partner"`
		Visitor     string `yaml:"visitor"`
		UTMSource   string `yaml:"utm_source"`
		UTMMedium   string `yaml:"utm_medium"`
		UTMCampaign string `yaml:"utm_campaign"`
		Landing     string `yaml:"landing"`
		Banner      string `yaml:"banner"`
	}
	orderPaid struct {
		Order       string `yaml:"order"`
		Customer    string `yaml:"customer"`
		Visitor     string `yaml:"visitor"`
		PartnerCode string `yaml:"partner_code"`
		Lines       []line `yaml:"lines"`
		Shipping    string `yaml:"shipping"`
	}
	orderChange struct {
		Order    string `yaml:"order"`
		Lines    []line `yaml:"lines"`
		Shipping string `yaml:"shipping"`
	}
	orderAmend struct {
		Order string `yaml:"order"`
		Lines []line `yaml:"lines"`
	}
	orderRef struct {
		Order string `yaml:"order"`
	}
	periodClose struct {
		Period string `yaml:"period"`
	}
	payoutCreate struct {
		Payout       string `yaml:"payout"`
		Partner      string `yaml:"partner"`
		Amount       string `yaml:"amount"`
		AllowAdvance bool   `yaml:"allow_advance"`
		Method       string `yaml:"method"`
		Reference    string `yaml:"reference"`
	}
	payoutFinish struct {
		Payout    string `yaml:"payout"`
		Reference string `yaml:"reference"`
	}
	creditSpend struct {
		Spend   string `yaml:"spend"`
		Partner string `yaml:"partner"`
		Amount  string `yaml:"amount"`
		Order   string `yaml:"order"`
	}
)

func orderLines(ls []line) []*accruev1.OrderLine {
	out := make([]*accruev1.OrderLine, len(ls))
	for i, l := range ls {
		out[i] = &accruev1.OrderLine{Product: l.Product, Amount: l.Amount}
	}
	return out
}

func optStamp(field, s string) (*timestamppb.Timestamp, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, invalidStep("%s: %v", field, err)
	}
	return timestamppb.New(t), nil
}

// verb runs one kind of step through the API.
type verb func(ctx context.Context, r *runner, st Step, key string, at *timestamppb.Timestamp) error

// verbs are the scenario verbs of SPEC §9.
var verbs = map[string]verb{
	"program.update":   programUpdate,
	"partner.register": partnerRegisterStep,
	"partner.update":   partnerUpdateStep,
	"click":            clickStep,
	"order.paid":       orderPaidStep,
	"order.completed":  orderChangeStep,
	"order.refunded":   orderChangeStep,
	"order.cancelled":  orderChangeStep,
	"order.amended":    orderChangeStep,
	"period.close":     periodCloseStep,
	"clock.advance":    func(context.Context, *runner, Step, string, *timestamppb.Timestamp) error { return nil }, // due jobs already ran
	"payout.create":    payoutCreateStep,
	"payout.settle":    payoutFinishStep,
	"payout.fail":      payoutFinishStep,
	"credit.spend":     creditSpendStep,
}

// call runs one step through the API. A step that cannot run (see
// invalidStep) fails invalid_argument without a call.
func (r *runner) call(ctx context.Context, st Step, key string) error {
	if st.Invalid != nil {
		return invalidStep("%v", st.Invalid)
	}
	v, ok := verbs[st.Verb]
	if !ok {
		return invalidStep("unknown verb %q", st.Verb)
	}
	return v(ctx, r, st, key, timestamppb.New(st.At))
}

// invalidStep is a fault of the step itself (a value of the wrong type, an
// unknown field or verb), not of the program: the step fails
// invalid_argument, as if the server had refused it, and the replay goes on.
func invalidStep(format string, args ...any) error {
	return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("replay: "+format, args...))
}

// decode reads a step's payload into v, refusing fields v does not have.
func decode(st Step, v any) error {
	if st.Payload.Kind == 0 {
		return nil // `verb:` with nothing after it
	}
	b, err := yaml.Marshal(&st.Payload)
	if err != nil {
		return invalidStep("%s payload: %v", st.Verb, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return invalidStep("%s payload: %v", st.Verb, err)
	}
	return nil
}

func programUpdate(ctx context.Context, r *runner, st Step, key string, at *timestamppb.Timestamp) error {
	doc, err := yaml.Marshal(&st.Payload)
	if err != nil {
		return fmt.Errorf("replay: program.update document: %w", err)
	}
	_, err = r.clients.program.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{Program: r.program, IdempotencyKey: key, At: at, Document: string(doc)}))
	return err
}

func partnerRegisterStep(ctx context.Context, r *runner, st Step, key string, at *timestamppb.Timestamp) error {
	var p partnerRegister
	if err := decode(st, &p); err != nil {
		return err
	}
	until, err := optStamp("parent_until", p.ParentUntil)
	if err != nil {
		return err
	}
	_, err = r.clients.partner.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{Program: r.program, IdempotencyKey: key, At: at,
		Partner: p.Partner, Parent: p.Parent, Code: p.Code, Customer: p.Customer, ParentUntil: until}))
	return err
}

func clickStep(ctx context.Context, r *runner, st Step, key string, at *timestamppb.Timestamp) error {
	var p click
	if err := decode(st, &p); err != nil {
		return err
	}
	_, err := r.clients.tracking.RecordClick(ctx, connect.NewRequest(&accruev1.RecordClickRequest{Program: r.program, IdempotencyKey: key, At: at,
		Partner: p.Partner, Visitor: p.Visitor, Landing: p.Landing, Banner: p.Banner,
		UtmSource: p.UTMSource, UtmMedium: p.UTMMedium, UtmCampaign: p.UTMCampaign}))
	return err
}

func orderPaidStep(ctx context.Context, r *runner, st Step, key string, at *timestamppb.Timestamp) error {
	var p orderPaid
	if err := decode(st, &p); err != nil {
		return err
	}
	_, err := r.clients.order.PayOrder(ctx, connect.NewRequest(&accruev1.PayOrderRequest{Program: r.program, IdempotencyKey: key, At: at,
		Order: p.Order, Customer: p.Customer, Visitor: p.Visitor, PartnerCode: p.PartnerCode, Lines: orderLines(p.Lines), Shipping: p.Shipping}))
	return err
}

func orderChangeStep(ctx context.Context, r *runner, st Step, key string, at *timestamppb.Timestamp) error {
	var p orderChange
	var err error
	switch st.Verb {
	case "order.refunded":
		err = decode(st, &p)
	case "order.amended":
		var a orderAmend
		err = decode(st, &a)
		p = orderChange{Order: a.Order, Lines: a.Lines}
	default: // completed, cancelled: the order alone
		var o orderRef
		err = decode(st, &o)
		p.Order = o.Order
	}
	if err != nil {
		return err
	}
	return r.orderChange(ctx, st.Verb, p, key, at)
}

func periodCloseStep(ctx context.Context, r *runner, st Step, key string, _ *timestamppb.Timestamp) error {
	var p periodClose
	if err := decode(st, &p); err != nil {
		return err
	}
	_, err := r.clients.period.ClosePeriod(ctx, connect.NewRequest(&accruev1.ClosePeriodRequest{Program: r.program, IdempotencyKey: key, Period: p.Period}))
	return err
}

func payoutCreateStep(ctx context.Context, r *runner, st Step, key string, at *timestamppb.Timestamp) error {
	var p payoutCreate
	if err := decode(st, &p); err != nil {
		return err
	}
	_, err := r.clients.payout.CreatePayout(ctx, connect.NewRequest(&accruev1.CreatePayoutRequest{Program: r.program, IdempotencyKey: key, At: at,
		Payout: p.Payout, Partner: p.Partner, Amount: p.Amount, AllowAdvance: p.AllowAdvance, Method: p.Method, Reference: p.Reference}))
	return err
}

func payoutFinishStep(ctx context.Context, r *runner, st Step, key string, at *timestamppb.Timestamp) error {
	var p payoutFinish
	if err := decode(st, &p); err != nil {
		return err
	}
	if st.Verb == "payout.settle" {
		_, err := r.clients.payout.SettlePayout(ctx, connect.NewRequest(&accruev1.SettlePayoutRequest{Program: r.program, IdempotencyKey: key, At: at,
			Payout: p.Payout, Reference: p.Reference}))
		return err
	}
	_, err := r.clients.payout.FailPayout(ctx, connect.NewRequest(&accruev1.FailPayoutRequest{Program: r.program, IdempotencyKey: key, At: at, Payout: p.Payout}))
	return err
}

func creditSpendStep(ctx context.Context, r *runner, st Step, key string, at *timestamppb.Timestamp) error {
	var p creditSpend
	if err := decode(st, &p); err != nil {
		return err
	}
	_, err := r.clients.payout.SpendCredit(ctx, connect.NewRequest(&accruev1.SpendCreditRequest{Program: r.program, IdempotencyKey: key, At: at,
		Spend: p.Spend, Partner: p.Partner, Amount: p.Amount, Order: p.Order}))
	return err
}

func partnerUpdateStep(ctx context.Context, r *runner, st Step, key string, _ *timestamppb.Timestamp) error {
	return r.partnerUpdate(ctx, st, key)
}

func (r *runner) orderChange(ctx context.Context, verb string, p orderChange, key string, at *timestamppb.Timestamp) error {
	c, program := r.clients.order, r.program
	var err error
	switch verb {
	case "order.completed":
		_, err = c.CompleteOrder(ctx, connect.NewRequest(&accruev1.CompleteOrderRequest{Program: program, IdempotencyKey: key, At: at, Order: p.Order}))
	case "order.refunded":
		_, err = c.RefundOrder(ctx, connect.NewRequest(&accruev1.RefundOrderRequest{Program: program, IdempotencyKey: key, At: at,
			Order: p.Order, Lines: orderLines(p.Lines), Shipping: p.Shipping}))
	case "order.cancelled":
		_, err = c.CancelOrder(ctx, connect.NewRequest(&accruev1.CancelOrderRequest{Program: program, IdempotencyKey: key, At: at, Order: p.Order}))
	case "order.amended":
		_, err = c.AmendOrder(ctx, connect.NewRequest(&accruev1.AmendOrderRequest{Program: program, IdempotencyKey: key, At: at,
			Order: p.Order, Lines: orderLines(p.Lines)}))
	}
	return err
}

// partnerUpdate maps partner.update; `parent: null` detaches.
func (r *runner) partnerUpdate(ctx context.Context, st Step, key string) error {
	req := &accruev1.UpdatePartnerRequest{Program: r.program, IdempotencyKey: key, At: timestamppb.New(st.At)}
	n := st.Payload
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		switch k {
		case "partner":
			req.Partner = v.Value
		case "status":
			switch v.Value {
			case "active":
				req.Status = accruev1.PartnerStatus_PARTNER_STATUS_ACTIVE
			case "suspended":
				req.Status = accruev1.PartnerStatus_PARTNER_STATUS_SUSPENDED
			default:
				return invalidStep("partner.update status %q: active or suspended", v.Value)
			}
		case "parent":
			if v.Tag == "!!null" {
				req.DetachParent = true
			} else {
				req.Parent = v.Value
			}
		case "parent_until":
			until, err := optStamp("parent_until", v.Value)
			if err != nil {
				return err
			}
			req.ParentUntil = until
		default:
			return invalidStep("partner.update has no field %q", k)
		}
	}
	_, err := r.clients.partner.UpdatePartner(ctx, connect.NewRequest(req))
	return err
}
