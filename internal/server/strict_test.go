package server

import (
	"bytes"
	"context"
	"encoding/base64"
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
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgtest"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
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
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, wireError(t, procedure, resp.StatusCode, b)
}

// wireError decodes a Connect protocol error body, its BadRequest details
// included.
func wireError(t *testing.T, procedure string, status int, body []byte) *connect.Error {
	t.Helper()
	var wire struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"details"`
	}
	if err := json.Unmarshal(body, &wire); err != nil {
		t.Fatalf("%s: status %d, body %q: %v", procedure, status, body, err)
	}
	var code connect.Code
	if err := code.UnmarshalText([]byte(wire.Code)); err != nil {
		t.Fatalf("%s: code %q: %v", procedure, wire.Code, err)
	}
	ce := connect.NewError(code, errors.New(wire.Message))
	for _, d := range wire.Details {
		raw, err := base64.RawStdEncoding.DecodeString(d.Value)
		br := &errdetails.BadRequest{}
		if d.Type != "google.rpc.BadRequest" || err != nil || proto.Unmarshal(raw, br) != nil {
			t.Fatalf("%s: detail %+v does not decode", procedure, d)
		}
		detail, err := connect.NewErrorDetail(br)
		if err != nil {
			t.Fatal(err)
		}
		ce.AddDetail(detail)
	}
	return ce
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
		f := decodeFault(errors.New("proto:" + sep + "cannot parse invalid wire-format data"))
		if want := "the request body does not decode: cannot parse invalid wire-format data"; f.Msg != want {
			t.Errorf("separator %q: message %q, want %q", sep, f.Msg, want)
		}
	}
}

// TestJSONDecodeFaultsNameTheirPath: a JSON value that does not decode
// (a malformed Timestamp, a FieldMask that is not a string, a value of the
// wrong type) is invalid_argument with a BadRequest naming its full path,
// where protojson's error gives only "(line 1:27)".
func TestJSONDecodeFaultsNameTheirPath(t *testing.T) {
	e := newEdge(t)
	const (
		getBalances     = "/accrue.v1.LedgerService/GetBalances"
		postTransaction = "/accrue.v1.LedgerService/PostTransaction"
		register        = "/accrue.v1.PartnerService/RegisterPartner"
		update          = "/accrue.v1.PartnerService/UpdatePartner"
		payOrder        = "/accrue.v1.OrderService/PayOrder"
	)
	for _, tc := range []struct {
		name, procedure, body, field string
	}{
		{"a month 13", getBalances, `{"program":"demo","as_of":"2026-13-01T00:00:00Z"}`, "as_of"},
		{"a timestamp in words", register, `{"parent_until":"yesterday"}`, "parent_until"},
		{"a number for a mask", update, `{"update_mask":5}`, "update_mask"},
		{"an object for a mask", update, `{"program":"p","updateMask":{"paths":["status"]}}`, "update_mask"},
		{"a number for a string", payOrder, `{"program": "p", "idempotencyKey": "o3", "order": 5}`, "order"},
		{"a number in a line", payOrder, `{"lines":[{"product":"x","amount":"1.00"},{"product":"y","amount":5}]}`, "lines[1].amount"},
		{"a number in a list", getBalances, `{"program":"p","accounts":["a", 5]}`, "accounts[1]"},
		{"a number in a map", postTransaction, `{"program":"p","metadata":{"a":"x","note":5}}`, "metadata.note"},
		{"a string for a list", getBalances, `{"accounts":"a"}`, "accounts"},
		{"a field twice", getBalances, `{"asOf":"2026-01-01T00:00:00Z","as_of":"2026-01-01T00:00:00Z"}`, "as_of"},
		{"on a later line, after non-ASCII text", getBalances, "{\n  \"program\": \"d\u00e9mo\u2603\",\n  \"asOf\": \"2026-01-01T25:00:00Z\"\n}", "as_of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, ce := e.post(t, tc.procedure, "application/json", []byte(tc.body))
			if status != http.StatusBadRequest {
				t.Errorf("HTTP %d, want 400", status)
			}
			wantViolation(t, tc.body, ce, tc.field)
			if ce != nil && !strings.HasPrefix(ce.Message(), tc.field+": ") {
				t.Errorf("message %q does not start with %q", ce.Message(), tc.field+": ")
			}
		})
	}
}

// TestWholeBodyFaults: a body that cannot be read as a request at all is
// the one fault whose field is "" (the whole body, as JSON Pointer names
// it), and its description says so.
func TestWholeBodyFaults(t *testing.T) {
	e := newEdge(t)
	for _, tc := range []struct{ name, contentType, body string }{
		{"empty", "application/json", ""},
		{"truncated", "application/json", `{"program":"p"`},
		{"garbage", "application/json", `garbage`},
		{"a trailing comma", "application/json", `{"program":"p",}`},
		{"an array", "application/json", `[]`},
		{"a string", "application/json", `"p"`},
		{"binary garbage", "application/proto", "\xff\xff\xff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, ce := e.post(t, "/accrue.v1.LedgerService/GetBalances", tc.contentType, []byte(tc.body))
			if status != http.StatusBadRequest {
				t.Errorf("HTTP %d, want 400", status)
			}
			wantViolation(t, tc.name, ce, "")
			if ce != nil && !strings.HasPrefix(ce.Message(), "the request body ") {
				t.Errorf("message %q does not say the body as a whole is at fault", ce.Message())
			}
		})
	}
}

// TestMaskPathsAreEchoedAsSent: a JSON update_mask path that is not
// lowerCamelCase, or names no field, is refused naming update_mask and the
// path as the client wrote it (protojson would have turned "private.Email"
// into "private._email"); a well-formed mask still works.
func TestMaskPathsAreEchoedAsSent(t *testing.T) {
	e := newEdge(t)
	const update = "/accrue.v1.PartnerService/UpdatePartner"
	for _, path := range []string{"private.Email", "Status", "private.bankAcount", "private.email.x", "status,", "private..email"} {
		body := `{"program":"p","idempotencyKey":"m-` + path + `","partner":"bob","updateMask":"` + path + `"}`
		status, ce := e.post(t, update, "application/json", []byte(body))
		if status != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d, want 400", path, status)
		}
		wantViolation(t, path, ce, "update_mask")
		if ce != nil && !strings.Contains(ce.Message(), `"`+path+`"`) {
			t.Errorf("%s: message %q does not quote the path as sent", path, ce.Message())
		}
	}
	body := `{"program":"p","idempotencyKey":"m-ok","partner":"bob","private":{"bankAccount":"DE00"},"updateMask":"private.bankAccount,private.email"}`
	if status, ce := e.post(t, update, "application/json", []byte(body)); status != http.StatusOK {
		t.Errorf("a well-formed mask: HTTP %d %v", status, ce)
	}
}

// FuzzStrictJSON: the strict JSON codec, its member locator and mask check
// included, never panics or hangs on any body, and a refused body leaves
// only its fault.
func FuzzStrictJSON(f *testing.F) {
	for _, seed := range []string{
		`{"program":"demo","as_of":"2026-13-01T00:00:00Z"}`, `{"update_mask":5}`, `{"updateMask":"private.Email"}`,
		`{"lines":[{"product":"x","amount":5}]}`, `{"metadata":{"a":{"b":[1,{"c":2}]}}}`, `{"accounts":[[],{}]}`,
		"{\n\"program\": \"d\u00e9\",\n\"at\": 5}", `[]`, `{"program":"p"`, "",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, m := range []proto.Message{&accruev1.PayOrderRequest{}, &accruev1.UpdatePartnerRequest{}, &accruev1.PostTransactionRequest{}} {
			if err := (strictJSON{name: "json"}).Unmarshal(body, m); err != nil {
				t.Fatalf("%q: %v", body, err)
			}
			if f := carriedFault(m.ProtoReflect()); f != nil && f.Msg == "" {
				t.Fatalf("%q: a fault without a description", body)
			}
		}
	})
}
