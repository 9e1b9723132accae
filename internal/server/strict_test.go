package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	accruev1 "github.com/accrue/accrue/internal/gen/accrue/v1"
	"github.com/accrue/accrue/internal/gen/accrue/v1/accruev1connect"
	"github.com/accrue/accrue/internal/pgtest"
)

// edge is a Server behind a real HTTP/2 (TLS) listener, so that Connect,
// gRPC and gRPC-Web clients all reach it, with a program "p" and a partner
// "bob" (code BOB).
type edge struct {
	srv *Server
	hs  *httptest.Server
	api *api
	url string // of the database, as its owner
}

func newEdge(t testing.TB) *edge {
	t.Helper()
	ctx := context.Background()
	url := pgtest.DatabaseURL(t)
	db, err := database.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Pool.Close)
	srv := New(db, clock.NewSim(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)), slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.EnableHTTP2 = true
	hs.StartTLS()
	t.Cleanup(hs.Close)
	e := &edge{srv: srv, hs: hs, api: &api{db: db}, url: url}
	e.api.ledger, e.api.programs, e.api.partners, e.api.orders, e.api.tracking = clients(hs)
	if _, err := e.api.programs.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{
		Program: "p", IdempotencyKey: "rules", Document: apiRules})); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
		Program: "p", IdempotencyKey: "r-bob", Partner: "bob", Code: "BOB"})); err != nil {
		t.Fatal(err)
	}
	return e
}

func clients(hs *httptest.Server, opts ...connect.ClientOption) (accruev1connect.LedgerServiceClient, accruev1connect.ProgramServiceClient,
	accruev1connect.PartnerServiceClient, accruev1connect.OrderServiceClient, accruev1connect.TrackingServiceClient) {
	c, u := hs.Client(), hs.URL
	return accruev1connect.NewLedgerServiceClient(c, u, opts...), accruev1connect.NewProgramServiceClient(c, u, opts...),
		accruev1connect.NewPartnerServiceClient(c, u, opts...), accruev1connect.NewOrderServiceClient(c, u, opts...),
		accruev1connect.NewTrackingServiceClient(c, u, opts...)
}

// post sends body to procedure over the Connect protocol and returns the
// HTTP status and the decoded Connect error (nil on success).
func (e *edge) post(t *testing.T, procedure, contentType string, body []byte) (int, *connect.Error) {
	t.Helper()
	resp, err := e.hs.Client().Post(e.hs.URL+procedure, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	var wire struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &wire); err != nil {
		t.Fatalf("%s: status %d, body %q: %v", procedure, resp.StatusCode, b, err)
	}
	var code connect.Code
	if err := code.UnmarshalText([]byte(wire.Code)); err != nil {
		t.Fatalf("%s: code %q: %v", procedure, wire.Code, err)
	}
	return resp.StatusCode, connect.NewError(code, errors.New(wire.Message))
}

// wantViolation fails unless err is invalid_argument with a BadRequest
// detail naming field.
func wantViolation(t *testing.T, what string, err error, field string) {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeInvalidArgument {
		t.Errorf("%s: got %v, want invalid_argument on %q", what, err, field)
		return
	}
	for _, d := range ce.Details() {
		v, derr := d.Value()
		br, ok := v.(*errdetails.BadRequest)
		if derr != nil || !ok {
			continue
		}
		if vs := br.GetFieldViolations(); len(vs) == 1 && vs[0].GetField() == field && vs[0].GetDescription() != "" {
			return
		}
		t.Errorf("%s: violations %v, want one on %q", what, br.GetFieldViolations(), field)
		return
	}
	t.Errorf("%s: %v has no google.rpc.BadRequest detail (want field %q)", what, err, field)
}

// TestUnknownFieldsAndEnumsAreRefused: a field or an enum value the API
// does not know fails invalid_argument naming it, over every protocol and
// codec, and nothing is written.
func TestUnknownFieldsAndEnumsAreRefused(t *testing.T) {
	e := newEdge(t)
	ctx := context.Background()
	const payOrder = "/accrue.v1.OrderService/PayOrder"
	const updatePartner = "/accrue.v1.PartnerService/UpdatePartner"
	order := `"program": "p", "idempotencyKey": "o1", "order": "o1", "customer": "c1", "lines": [{"product": "bag", "amount": "10.00"}]`
	for _, tc := range []struct {
		name, procedure, body, field string
	}{
		{"typo in a field", payOrder, `{` + order + `, "vistor": "v1"}`, "vistor"},
		{"typo in a nested field", payOrder, `{"program": "p", "idempotencyKey": "o2", "order": "o2", "customer": "c1", "lines": [{"product": "bag", "amount": "1.00"}, {"prodcut": "x", "amount": "1.00"}]}`, "lines[1].prodcut"},
		{"enum name", updatePartner, `{"program": "p", "idempotencyKey": "u1", "partner": "bob", "status": "suspended"}`, "status"},
		{"enum number", updatePartner, `{"program": "p", "idempotencyKey": "u2", "partner": "bob", "status": 99}`, "status"},
		{"wrong type", payOrder, `{"program": "p", "idempotencyKey": "o3", "order": 5}`, "order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, ce := e.post(t, tc.procedure, "application/json", []byte(tc.body))
			if status != http.StatusBadRequest || ce == nil || ce.Code() != connect.CodeInvalidArgument || !strings.HasPrefix(ce.Message(), tc.field+": ") {
				t.Errorf("HTTP %d %v, want 400 invalid_argument naming %q", status, ce, tc.field)
			}
		})
	}

	// The same through real clients of each protocol, where the detail is
	// decoded.
	protocols := map[string][]connect.ClientOption{
		"connect-json":  {connect.WithProtoJSON()},
		"connect-proto": nil,
		"grpc":          {connect.WithGRPC()},
		"grpc-web-json": {connect.WithGRPCWeb(), connect.WithProtoJSON()},
		"grpc-web":      {connect.WithGRPCWeb()},
	}
	for name, opts := range protocols {
		t.Run(name, func(t *testing.T) {
			_, _, partners, orders, _ := clients(e.hs, opts...)
			_, err := partners.UpdatePartner(ctx, connect.NewRequest(&accruev1.UpdatePartnerRequest{
				Program: "p", IdempotencyKey: "u-" + name, Partner: "bob", Status: 99}))
			wantViolation(t, "status 99", err, "status")

			req := &accruev1.PayOrderRequest{Program: "p", IdempotencyKey: "o-" + name, Order: "o-" + name, Customer: "c1",
				Lines: []*accruev1.OrderLine{{Product: "bag", Amount: "10.00"}}}
			req.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1))
			_, err = orders.PayOrder(ctx, connect.NewRequest(req))
			if strings.HasSuffix(name, "json") {
				// JSON cannot carry an unknown field number: the client drops it.
				if err != nil {
					t.Errorf("a JSON order: %v", err)
				}
				return
			}
			wantViolation(t, "unknown field 99", err, "#99")
		})
	}

	p, err := e.srv.partnerView(ctx, "p", "bob", time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	if p.GetStatus() != accruev1.PartnerStatus_PARTNER_STATUS_ACTIVE {
		t.Errorf("bob is %v after refused updates, want active", p.GetStatus())
	}
	if n := e.api.count(t, "orders"); n != 2 {
		t.Errorf("%d orders, want the two JSON orders only", n)
	}
}

// TestRequestValuesAreChecked: control characters, invalid UTF-8 and
// timestamps out of range anywhere in a request are invalid_argument
// naming the field's path, with a BadRequest detail; a rules document may
// hold tabs and line breaks.
func TestRequestValuesAreChecked(t *testing.T) {
	e := newEdge(t)
	ctx := context.Background()
	lines := func(product string) []*accruev1.OrderLine {
		return []*accruev1.OrderLine{{Product: "bag", Amount: "1.00"}, {Product: "cap", Amount: "1.00"}, {Product: product, Amount: "1.00"}}
	}
	pay := func(key string, mutate func(*accruev1.PayOrderRequest)) error {
		req := &accruev1.PayOrderRequest{Program: "p", IdempotencyKey: key, Order: key, Customer: "c1", Lines: lines("hat")}
		mutate(req)
		_, err := e.api.orders.PayOrder(ctx, connect.NewRequest(req))
		return err
	}
	wantViolation(t, "NUL in a line", pay("a", func(r *accruev1.PayOrderRequest) { r.Lines = lines("h\x00t") }), "lines[2].product")
	wantViolation(t, "a newline in a customer", pay("b", func(r *accruev1.PayOrderRequest) { r.Customer = "c\n1" }), "customer")
	wantViolation(t, "DEL in an order id", pay("c", func(r *accruev1.PayOrderRequest) { r.Order = "o\x7f" }), "order")
	wantViolation(t, "a C1 control", pay("d", func(r *accruev1.PayOrderRequest) { r.Visitor = "v\u0085" }), "visitor")
	wantViolation(t, "year 2300", pay("e", func(r *accruev1.PayOrderRequest) {
		r.At = timestamppb.New(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC))
	}), "at")
	wantViolation(t, "before 1970", pay("f", func(r *accruev1.PayOrderRequest) { r.At = &timestamppb.Timestamp{Seconds: -1} }), "at")
	wantViolation(t, "year 10000", pay("g", func(r *accruev1.PayOrderRequest) { r.At = &timestamppb.Timestamp{Seconds: 253402300800} }), "at")
	wantViolation(t, "bad nanos", pay("h", func(r *accruev1.PayOrderRequest) { r.At = &timestamppb.Timestamp{Seconds: 1, Nanos: -1} }), "at")

	_, err := e.api.ledger.PostTransaction(ctx, connect.NewRequest(&accruev1.PostTransactionRequest{
		Program: "p", IdempotencyKey: "t1", Kind: "manual", Metadata: map[string]string{"a": "ok", "b\x01": "x"},
		Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, "5.00"), entry("platform:payout_clearing", cr, "5.00")}}))
	wantViolation(t, "a control character in a map key", err, "metadata")
	_, err = e.api.ledger.PostTransaction(ctx, connect.NewRequest(&accruev1.PostTransactionRequest{
		Program: "p", IdempotencyKey: "t2", Kind: "manual", Metadata: map[string]string{"note": "x\x1b[31m"},
		Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, "5.00"), entry("platform:payout_clearing", cr, "5.00")}}))
	wantViolation(t, "a control character in a map value", err, "metadata.note")

	// Invalid UTF-8 cannot be marshalled by a Go client: send it raw.
	body := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "p")
	body = protowire.AppendString(protowire.AppendTag(body, 2, protowire.BytesType), "\xff\xfe")
	status, ce := e.post(t, "/accrue.v1.OrderService/PayOrder", "application/proto", body)
	if status != http.StatusBadRequest || ce.Code() != connect.CodeInvalidArgument || !strings.HasPrefix(ce.Message(), "idempotency_key: ") {
		t.Errorf("invalid UTF-8: HTTP %d %v, want invalid_argument naming idempotency_key", status, ce)
	}
	if n := e.api.count(t, "orders") + e.api.count(t, "transactions WHERE kind = 'manual'"); n != 0 {
		t.Errorf("%d rows written by refused requests", n)
	}

	// A document is text: tabs and line breaks are fine there.
	doc := "# rules\twith a tab\r\n" + apiRules
	if _, err := e.api.programs.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{Program: "p", IdempotencyKey: "rules-2", Document: doc})); err != nil {
		t.Errorf("a document with a tab and CRLF: %v", err)
	}
	_, err = e.api.programs.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{Program: "p", IdempotencyKey: "rules-3", Document: apiRules + "#\x00"}))
	wantViolation(t, "NUL in a document", err, "document")
}

// TestDocumentErrorsNameTheirPath: a rules document's errors name the path
// inside the document, and a YAML syntax error its line.
func TestDocumentErrorsNameTheirPath(t *testing.T) {
	e := newEdge(t)
	ctx := context.Background()
	put := func(key, doc string) error {
		_, err := e.api.programs.PutRules(ctx, connect.NewRequest(&accruev1.PutRulesRequest{Program: "q", IdempotencyKey: key, Document: doc}))
		return err
	}
	wantViolation(t, "a bad rate", put("a", "currency: USD\ncommission: {default: lots}\n"), "document.commission.default")
	err := put("b", "currency: USD\ncommission:\n  default: [10%\n")
	wantViolation(t, "a YAML syntax error", err, "document")
	if !strings.Contains(err.Error(), "line ") {
		t.Errorf("a YAML syntax error %q gives no line", err)
	}
	// A domain fault has its detail too.
	_, err = e.api.ledger.PostTransaction(ctx, connect.NewRequest(&accruev1.PostTransactionRequest{
		Program: "p", IdempotencyKey: "t", Kind: "manual",
		Entries: []*accruev1.EntryInput{entry("platform:commission_expense", dr, "5,00"), entry("platform:payout_clearing", cr, "5.00")}}))
	wantViolation(t, "a malformed amount", err, "entries[0].amount")
}

// TestStrictCodecsStillEncode: responses encode as before in JSON and
// binary, and requests that are well formed pass.
func TestStrictCodecsStillEncode(t *testing.T) {
	e := newEdge(t)
	for _, opts := range [][]connect.ClientOption{{connect.WithProtoJSON()}, nil, {connect.WithGRPC()}} {
		_, programs, _, _, _ := clients(e.hs, opts...)
		resp, err := programs.GetRules(context.Background(), connect.NewRequest(&accruev1.GetRulesRequest{Program: "p", Version: 1}))
		if err != nil {
			t.Fatal(err)
		}
		if v := resp.Msg.GetVersion(); v.GetDocument() != apiRules || v.GetEffectiveAt() == nil {
			t.Errorf("GetRules answered %v", resp.Msg)
		}
	}
}

// TestDecodeFaultDropsTheDecodersPrefix checks that a decode error reads
// the same whichever separator protobuf-go chose for this binary after
// "proto:" (a space or U+00A0): accrued answered "the request does not
// decode: proto:\u00a0cannot parse invalid wire-format data".
func TestDecodeFaultDropsTheDecodersPrefix(t *testing.T) {
	for _, sep := range []string{" ", "\u00a0"} {
		f := decodeFault("", errors.New("proto:"+sep+"cannot parse invalid wire-format data"))
		if want := "the request does not decode: cannot parse invalid wire-format data"; f.Msg != want {
			t.Errorf("separator %q: message %q, want %q", sep, f.Msg, want)
		}
	}
}
