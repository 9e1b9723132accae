package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// listRPCs finds, from the API's descriptors, every RPC whose request has
// page_size and page_token.
func listRPCs(t *testing.T) []protoreflect.MethodDescriptor {
	t.Helper()
	var out []protoreflect.MethodDescriptor
	for _, f := range []protoreflect.FileDescriptor{accruev1.File_accrue_v1_ledger_proto, accruev1.File_accrue_v1_order_proto,
		accruev1.File_accrue_v1_payout_proto, accruev1.File_accrue_v1_program_proto,
		accruev1.File_accrue_v1_portal_proto, accruev1.File_accrue_v1_product_proto} {
		for i := range f.Services().Len() {
			ms := f.Services().Get(i).Methods()
			for j := range ms.Len() {
				in := ms.Get(j).Input().Fields()
				if in.ByName("page_size") != nil && in.ByName("page_token") != nil {
					out = append(out, ms.Get(j))
				}
			}
		}
	}
	if len(out) < 6 {
		t.Fatalf("found %d List RPCs in the descriptors, want at least 6", len(out))
	}
	return out
}

// callJSON calls method over Connect JSON with a request of the given
// fields, and returns the Connect error code and message ("" on success).
func (a *api) callJSON(t *testing.T, md protoreflect.MethodDescriptor, fields map[string]any) (code, msg string) {
	t.Helper()
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
	if err != nil {
		t.Fatal(err)
	}
	m := mt.New()
	for name, v := range fields {
		fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			continue
		}
		m.Set(fd, protoreflect.ValueOf(v))
	}
	body, err := protojson.Marshal(m.Interface())
	if err != nil {
		t.Fatal(err)
	}
	url := a.url + "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return "", ""
	}
	var e struct{ Code, Message string }
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatalf("%s: HTTP %d without a Connect error: %v", md.FullName(), resp.StatusCode, err)
	}
	return e.Code, e.Message
}

// TestEveryListRPCPagesTheSameWay: over every List RPC the descriptors
// declare, a negative page_size is refused, one above the maximum is
// clamped, and a page token that is malformed, from another RPC or from
// another request is refused naming page_token.
func TestEveryListRPCPagesTheSameWay(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	for _, id := range []string{"ann", "bob"} {
		if _, err := a.partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
			Program: "p", IdempotencyKey: "reg-" + id, Partner: id})); err != nil {
			t.Fatal(err)
		}
	}
	first, err := a.partners.ListPartners(ctx, connect.NewRequest(&accruev1.ListPartnersRequest{Program: "p", PageSize: 1}))
	if err != nil {
		t.Fatal(err)
	}
	partnersToken := first.Msg.GetNextPageToken()
	if partnersToken == "" {
		t.Fatal("no next page after 1 of 2 partners")
	}
	forged, _ := json.Marshal(pageToken{Query: "x", After: []string{"1", "2", "3"}})
	badTokens := map[string]string{
		"not base64":      "%%%",
		"not json":        base64.RawURLEncoding.EncodeToString([]byte("{")),
		"a bare id":       "12",
		"forged":          base64.RawURLEncoding.EncodeToString(forged),
		"of ListPartners": partnersToken,
	}
	for _, md := range listRPCs(t) {
		base := map[string]any{"program": "p", "partner": "ann", "account": "platform:commission_expense"}
		with := func(k string, v any) map[string]any {
			out := map[string]any{k: v}
			for bk, bv := range base {
				out[bk] = bv
			}
			return out
		}
		t.Run(string(md.Name()), func(t *testing.T) {
			want := func(what string, fields map[string]any, field string) {
				t.Helper()
				code, msg := a.callJSON(t, md, fields)
				if code != "invalid_argument" || !strings.HasPrefix(msg, field+": ") {
					t.Errorf("%s: got %s %q, want invalid_argument naming %s", what, code, msg, field)
				}
			}
			want("page_size -1", with("page_size", int32(-1)), "page_size")
			for name, tok := range badTokens {
				if md.Name() == "ListPartners" && name == "of ListPartners" {
					continue
				}
				want("a token "+name, with("page_token", tok), "page_token")
			}
			if code, msg := a.callJSON(t, md, with("page_size", int32(5000))); strings.Contains(msg, "page_size") {
				t.Errorf("page_size 5000: %s %q, want it clamped to the maximum", code, msg)
			}
		})
	}
	// The token continues the request that returned it, and no other.
	next, err := a.partners.ListPartners(ctx, connect.NewRequest(&accruev1.ListPartnersRequest{Program: "p", PageSize: 1, PageToken: partnersToken}))
	if err != nil || len(next.Msg.GetPartners()) != 1 || next.Msg.GetPartners()[0].GetId() != "bob" {
		t.Fatalf("second page: %v %v, want bob", next, err)
	}
	_, err = a.partners.ListPartners(ctx, connect.NewRequest(&accruev1.ListPartnersRequest{Program: "q", PageSize: 1, PageToken: partnersToken}))
	wantField(t, err, connect.CodeInvalidArgument, "page_token")
	// A different page size is the same request: a client may change it.
	if _, err := a.partners.ListPartners(ctx, connect.NewRequest(&accruev1.ListPartnersRequest{Program: "p", PageSize: 50, PageToken: partnersToken})); err != nil {
		t.Fatalf("another page size with the token: %v", err)
	}
}
