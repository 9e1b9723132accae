package server

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// statementPDFRoute is the plain download of a statement PDF.
const statementPDFRoute = "GET /v1/statements/{program}/{partner}/{file}"

// portalRoutes adds the portal's plain HTTP routes to mux: sign-in,
// sign-out, the session, and statement PDF downloads through services
// (the Connect handlers), so a download is authenticated, authorized and
// bounded exactly as the RPC is.
func (s *Server) portalRoutes(mux *http.ServeMux, services http.Handler) {
	mux.HandleFunc("GET "+signInPath, s.signInConfirm)
	mux.HandleFunc("POST "+signInPath, s.signIn)
	mux.HandleFunc("POST /portal/signout", s.signOut)
	mux.HandleFunc("GET /portal/session", s.session)
	mux.Handle(statementPDFRoute, statementDownload(services))
}

// statementDownload serves GET /v1/statements/{program}/{partner}/{period}.pdf
// (?include_private=true prints the partner's name) by calling
// PortalService/GetStatementPDF in process with the request's credentials
// (bearer token or session cookie). An error answers as the RPC's does.
func statementDownload(services http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		period, ok := strings.CutSuffix(r.PathValue("file"), ".pdf")
		if !ok {
			http.NotFound(w, r)
			return
		}
		private, _ := strconv.ParseBool(r.URL.Query().Get("include_private"))
		body, _ := proto.Marshal(&accruev1.GetStatementPDFRequest{
			Program: r.PathValue("program"), Partner: r.PathValue("partner"), Period: period, IncludePrivate: private,
		})
		in, err := http.NewRequestWithContext(r.Context(), http.MethodPost, accruev1connect.PortalServiceGetStatementPDFProcedure, bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		in.Header.Set("Content-Type", "application/proto")
		for _, h := range []string{"Authorization", "Cookie"} {
			if v := r.Header.Values(h); len(v) > 0 {
				in.Header[h] = v
			}
		}
		out := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
		services.ServeHTTP(out, in)
		noStore(w)
		resp := &accruev1.GetStatementPDFResponse{}
		if out.status != http.StatusOK || proto.Unmarshal(out.body.Bytes(), resp) != nil {
			w.Header().Set("Content-Type", out.header.Get("Content-Type"))
			w.WriteHeader(out.status)
			_, _ = w.Write(out.body.Bytes())
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", `attachment; filename="`+resp.GetFilename()+`"`)
		_, _ = w.Write(resp.GetPdf())
	})
}

// bufferedResponse is an http.ResponseWriter that keeps the response.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedResponse) WriteHeader(status int)      { b.status = status }
