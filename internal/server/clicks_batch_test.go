package server

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// clickBatchAPI is an API with partners a (code CODEA) and b, and a
// helper sending one RecordClicks call.
func clickBatchAPI(t *testing.T) (*api, func(clicks ...*accruev1.RecordClickRequest) ([]*accruev1.ClickResult, error)) {
	t.Helper()
	a := newAPI(t)
	ctx := context.Background()
	for _, p := range []string{"a", "b"} {
		if _, err := a.partners.RegisterPartner(ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
			Program: "p", IdempotencyKey: "reg-" + p, Partner: p, Code: "CODE" + strings.ToUpper(p)})); err != nil {
			t.Fatal(err)
		}
	}
	return a, func(clicks ...*accruev1.RecordClickRequest) ([]*accruev1.ClickResult, error) {
		resp, err := a.tracking.RecordClicks(ctx, connect.NewRequest(&accruev1.RecordClicksRequest{Program: "p", Clicks: clicks}))
		if err != nil {
			return nil, err
		}
		if len(resp.Msg.GetResults()) != len(clicks) {
			t.Fatalf("%d results for %d clicks", len(resp.Msg.GetResults()), len(clicks))
		}
		return resp.Msg.GetResults(), nil
	}
}

func batchClickReq(key, partner, visitor string) *accruev1.RecordClickRequest {
	return &accruev1.RecordClickRequest{IdempotencyKey: key, Partner: partner, Visitor: visitor, UtmSource: "blog"}
}

// describe renders a result: "a#id", "a#id replayed", or "code field".
func describe(r *accruev1.ClickResult) string {
	if e := r.GetError(); e != nil {
		return e.GetCode() + " " + e.GetField()
	}
	c := r.GetClick()
	s := fmt.Sprintf("%s#%d", c.GetPartner(), c.GetClickId())
	if c.GetReplayed() {
		s += " replayed"
	}
	return s
}

func TestRecordClicksAnswersEachClick(t *testing.T) {
	a, send := clickBatchAPI(t)
	first, err := send(batchClickReq("k1", "codea", "v1"), batchClickReq("k2", "b", "v2"))
	if err != nil {
		t.Fatal(err)
	}
	id1, id2 := first[0].GetClick().GetClickId(), first[1].GetClick().GetClickId()
	bad := batchClickReq("k6", "a", "")
	results, err := send(
		batchClickReq("k1", "codea", "v1"),  // replay of the first call
		batchClickReq("k3", "CODEA", "v3"),  // new, code in another case
		batchClickReq("k4", "nobody", "v4"), // unknown partner
		bad,                                 // no visitor
		batchClickReq("k2", "a", "v2"),      // key used for another click
		batchClickReq("k5", "b", "v5"),      // new, by id
		batchClickReq("k7", "zz", "v7"),     // unknown partner
		&accruev1.RecordClickRequest{Program: "q", IdempotencyKey: "k8", Partner: "a", Visitor: "v8"}, // another program
	)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(results))
	for i, r := range results {
		got[i] = describe(r)
	}
	id3, id5 := results[1].GetClick().GetClickId(), results[5].GetClick().GetClickId()
	want := []string{fmt.Sprintf("a#%d replayed", id1), fmt.Sprintf("a#%d", id3), "not_found clicks[2].partner",
		"invalid_argument clicks[3].visitor", "already_exists clicks[4].idempotency_key", fmt.Sprintf("b#%d", id5),
		"not_found clicks[6].partner", "invalid_argument clicks[7].program"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("results:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if id3 == 0 || id5 == 0 || id3 == id5 || id3 == id1 || id3 == id2 {
		t.Errorf("click ids %d, %d after %d, %d: want new distinct ids", id3, id5, id1, id2)
	}
	if n := a.count(t, "clicks"); n != 4 {
		t.Errorf("%d clicks recorded, want 4: the refused ones write nothing", n)
	}
	// A refused click's key is free: corrected, it is recorded.
	bad.Visitor = "v6"
	if results, err = send(bad); err != nil || results[0].GetClick().GetClickId() == 0 {
		t.Errorf("the corrected click: %v, %v", results, err)
	}
}

func TestRecordClicksSameKeyTwiceInOneCall(t *testing.T) {
	a, send := clickBatchAPI(t)
	results, err := send(batchClickReq("k1", "a", "v1"), batchClickReq("k1", "a", "v1"), batchClickReq("k1", "a", "other"),
		batchClickReq("k2", "zz", "v2"), batchClickReq("k2", "zz", "v2"))
	if err != nil {
		t.Fatal(err)
	}
	id := results[0].GetClick().GetClickId()
	want := []string{fmt.Sprintf("a#%d", id), fmt.Sprintf("a#%d replayed", id), "already_exists clicks[2].idempotency_key",
		"not_found clicks[3].partner", "not_found clicks[4].partner"}
	for i, r := range results {
		if describe(r) != want[i] {
			t.Errorf("click %d: %s, want %s", i, describe(r), want[i])
		}
	}
	if n := a.count(t, "clicks"); n != 1 {
		t.Errorf("%d clicks recorded, want 1", n)
	}
}

// A click of a batch and a RecordClick with the same key and payload are
// one command, whichever comes first; with another payload the key is
// refused either way.
func TestRecordClicksAndRecordClickAreOneCommand(t *testing.T) {
	a, send := clickBatchAPI(t)
	ctx := context.Background()
	at := timestamppb.New(a.clk.Now().Add(-1))
	single := func(req *accruev1.RecordClickRequest) (*accruev1.RecordClickResponse, error) {
		r := proto.CloneOf(req)
		r.Program = "p"
		resp, err := a.tracking.RecordClick(ctx, connect.NewRequest(r))
		if err != nil {
			return nil, err
		}
		return resp.Msg, nil
	}
	c1, c2 := batchClickReq("k1", "a", "v1"), batchClickReq("k2", "CODEB", "v2")
	c1.At, c2.At = at, at
	s1, err := single(c1)
	if err != nil {
		t.Fatal(err)
	}
	results, err := send(c1, c2)
	if err != nil {
		t.Fatal(err)
	}
	if got := results[0].GetClick(); !got.GetReplayed() || got.GetClickId() != s1.GetClickId() || got.GetPartner() != "a" {
		t.Errorf("batch after single: %v, want a replay of %v", got, s1)
	}
	s2, err := single(c2)
	if err != nil {
		t.Fatal(err)
	}
	if b2 := results[1].GetClick(); !s2.GetReplayed() || s2.GetClickId() != b2.GetClickId() || s2.GetPartner() != "b" || b2.GetReplayed() {
		t.Errorf("single after batch: %v, want a replay of %v", s2, b2)
	}
	other := proto.CloneOf(c2)
	other.Visitor = "someone else"
	_, err = single(other)
	wantField(t, err, connect.CodeAlreadyExists, "idempotency_key")
	if n := a.count(t, "clicks"); n != 2 {
		t.Errorf("%d clicks recorded, want 2", n)
	}
}

func TestRecordClicksRefusesMalformedCallsWhole(t *testing.T) {
	a, _ := clickBatchAPI(t)
	ctx := context.Background()
	many := make([]*accruev1.RecordClickRequest, ClicksMax+1)
	for i := range many {
		many[i] = batchClickReq(fmt.Sprintf("k%d", i), "a", "v")
	}
	for _, tc := range []struct {
		name  string
		req   *accruev1.RecordClicksRequest
		code  connect.Code
		field string
	}{
		{"no program", &accruev1.RecordClicksRequest{Clicks: many[:1]}, connect.CodeInvalidArgument, "program"},
		{"unknown program", &accruev1.RecordClicksRequest{Program: "nope", Clicks: many[:1]}, connect.CodeNotFound, "program"},
		{"no clicks", &accruev1.RecordClicksRequest{Program: "p"}, connect.CodeInvalidArgument, "clicks"},
		{"too many clicks", &accruev1.RecordClicksRequest{Program: "p", Clicks: many}, connect.CodeInvalidArgument, "clicks"},
	} {
		_, err := a.tracking.RecordClicks(ctx, connect.NewRequest(tc.req))
		wantField(t, err, tc.code, tc.field)
	}
	if n := a.count(t, "clicks") + a.count(t, "commands WHERE method LIKE '%Click%'"); n != 0 {
		t.Errorf("%d rows written by refused calls", n)
	}
}

// A full batch is recorded whole, each click with its own id and key.
func TestRecordClicksFullBatch(t *testing.T) {
	a, send := clickBatchAPI(t)
	clicks := make([]*accruev1.RecordClickRequest, ClicksMax)
	for i := range clicks {
		clicks[i] = batchClickReq(fmt.Sprintf("k%d", i), []string{"a", "CODEB"}[i%2], "v") // identical clicks but for the key
	}
	results, err := send(clicks...)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int64]bool{}
	for i, r := range results {
		if c := r.GetClick(); c == nil || c.GetReplayed() || c.GetPartner() != []string{"a", "b"}[i%2] {
			t.Fatalf("click %d: %s", i, describe(r))
		}
		ids[r.GetClick().GetClickId()] = true
	}
	if len(ids) != ClicksMax || a.count(t, "clicks") != ClicksMax || a.count(t, "commands WHERE method LIKE '%Click%'") != ClicksMax {
		t.Errorf("%d distinct ids, %d clicks, want %d of each", len(ids), a.count(t, "clicks"), ClicksMax)
	}
}

// Concurrent calls with the same clicks record each click once: the calls
// that lose the race to a key are run again and answer it as a replay.
func TestRecordClicksConcurrentSameKeys(t *testing.T) {
	a, send := clickBatchAPI(t)
	clicks := make([]*accruev1.RecordClickRequest, 50)
	for i := range clicks {
		clicks[i] = batchClickReq(fmt.Sprintf("k%d", i), "a", fmt.Sprintf("v%d", i))
	}
	const calls = 4
	results, errs := make([][]*accruev1.ClickResult, calls), make(chan error, calls)
	for c := range calls {
		go func() {
			var err error
			results[c], err = send(clicks...)
			errs <- err
		}()
	}
	for range calls {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i := range clicks {
		fresh := 0
		for c := range calls {
			r := results[c][i].GetClick()
			if r.GetClickId() != results[0][i].GetClick().GetClickId() || r.GetClickId() == 0 {
				t.Fatalf("click %d: ids %v and %v", i, describe(results[0][i]), describe(results[c][i]))
			}
			if !r.GetReplayed() {
				fresh++
			}
		}
		if fresh != 1 {
			t.Errorf("click %d recorded by %d calls, want 1", i, fresh)
		}
	}
	if n := a.count(t, "clicks"); n != len(clicks) {
		t.Errorf("%d clicks recorded, want %d", n, len(clicks))
	}
}
