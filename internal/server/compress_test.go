package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// A response of a few hundred bytes goes uncompressed to a client that
// accepts gzip (compressing it costs both ends CPU for nothing); a large
// one is gzipped.
func TestOnlyLargeResponsesAreGzipped(t *testing.T) {
	e := newEdge(t)
	post := func(procedure, body string) (encoding string, size int) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, e.hs.URL+procedure, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := e.hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: HTTP %d %s", procedure, resp.StatusCode, raw)
		}
		return resp.Header.Get("Content-Encoding"), len(raw)
	}
	if enc, n := post("/accrue.v1.PartnerService/GetPartner", `{"program":"p","partner":"bob"}`); enc != "" {
		t.Errorf("GetPartner (%d bytes on the wire) came with Content-Encoding %q, want none", n, enc)
	}
	// The rules document comes back whole: padded past the threshold, the
	// answer is compressed.
	padded := apiRules + "\n# " + strings.Repeat("padding ", 3*compressMinBytes/8) + "\n"
	if _, err := e.api.programs.PutRules(context.Background(), connect.NewRequest(&accruev1.PutRulesRequest{
		Program: "padded", IdempotencyKey: "rules", Document: padded})); err != nil {
		t.Fatal(err)
	}
	if enc, n := post("/accrue.v1.ProgramService/GetRules", `{"program":"padded"}`); enc != "gzip" || n >= len(padded) {
		t.Errorf("GetRules of a %d-byte document: Content-Encoding %q, %d bytes on the wire; want gzip and fewer", len(padded), enc, n)
	}
}
