package server

import (
	"context"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/accrue/accrue/internal/affiliate"
	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/pdf"
	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/internal/store"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// portalService is PortalService: the back end of the partner's cabinet
// and the admin console (issue 11).
type portalService struct{ *Server }

// GetStatementPDF renders one stored statement as a PDF document.
func (s *portalService) GetStatementPDF(ctx context.Context, req *connect.Request[accruev1.GetStatementPDFRequest]) (*connect.Response[accruev1.GetStatementPDFResponse], error) {
	m := req.Msg
	if err := checkStatementName(m.GetProgram(), m.GetPartner(), m.GetPeriod()); err != nil {
		return nil, err
	}
	doc, err := s.svc.StatementDocument(ctx, m.GetProgram(), m.GetPartner(), m.GetPeriod())
	if err != nil {
		return nil, err
	}
	st := &accruev1.Statement{}
	if err := protojson.Unmarshal(doc.Body, st); err != nil {
		return nil, fmt.Errorf("server: decoding a stored statement: %w", err)
	}
	if !m.GetIncludePrivate() {
		doc.Name = ""
	}
	b, err := pdf.Render(statementDocument(m.GetProgram(), st, doc))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.GetStatementPDFResponse{
		Pdf: b, Filename: fmt.Sprintf("statement-%s-%s-%s.pdf", m.GetProgram(), m.GetPartner(), m.GetPeriod()),
	}), nil
}

// checkStatementName validates the program, partner and period naming a
// statement.
func checkStatementName(program, partner, period string) error {
	if err := checkProgramPartner(program, partner); err != nil {
		return err
	}
	_, _, err := affiliate.PeriodRange(period, time.UTC)
	return err
}

// checkProgramPartner validates a request's program and partner ids.
func checkProgramPartner(program, partner string) error {
	if err := checkID("program", program, IDLenMax); err != nil {
		return err
	}
	return checkID("partner", partner, IDLenMax)
}

// statementDocument is what the PDF of st prints.
func statementDocument(program string, st *accruev1.Statement, doc service.StatementDoc) pdf.Statement {
	released, _ := decimal.NewFromString(st.GetReleased())
	accrued, _ := decimal.NewFromString(st.GetClosing().GetAccrued())
	out := pdf.Statement{
		Program: program, Currency: doc.Currency, Partner: st.GetPartner(), Name: doc.Name,
		Period: st.GetPeriod(), Status: st.GetStatus(), Released: st.GetReleased(), DueDate: st.GetDueDate(),
		Reason:   affiliate.StatementReason(st.GetStatus(), released, accrued, doc.Minimum, doc.Scale),
		IssuedAt: st.GetIssuedAt().AsTime(),
		Opening:  pdfBalances(st.GetOpening()), Closing: pdfBalances(st.GetClosing()),
	}
	for _, l := range st.GetLines() {
		out.Lines = append(out.Lines, pdf.Line{
			Date: l.GetAt().AsTime().Format(time.DateOnly), Kind: l.GetKind(), Description: l.GetDescription(),
			Account: accountKind(l.GetAccount()), Amount: l.GetAmount(),
		})
	}
	return out
}

func pdfBalances(b *accruev1.StatementBalances) pdf.Balances {
	return pdf.Balances{Pending: b.GetPending(), Accrued: b.GetAccrued(), Payable: b.GetPayable(), InPayout: b.GetInPayout()}
}

// accountKind is the last part of a partner account code ("accrued" of
// "partner:bob:accrued").
func accountKind(code string) string {
	for i := len(code) - 1; i >= 0; i-- {
		if code[i] == ':' {
			return code[i+1:]
		}
	}
	return code
}

// signInRoles maps the API's roles to the service's.
var signInRoles = map[accruev1.SignInRole]string{
	accruev1.SignInRole_SIGN_IN_ROLE_PARTNER: service.SignInPartner,
	accruev1.SignInRole_SIGN_IN_ROLE_ADMIN:   service.SignInAdmin,
}

// CreateSignInLink issues a single-use sign-in link.
func (s *portalService) CreateSignInLink(ctx context.Context, req *connect.Request[accruev1.CreateSignInLinkRequest]) (*connect.Response[accruev1.CreateSignInLinkResponse], error) {
	m := req.Msg
	role, ok := signInRoles[m.GetRole()]
	if !ok {
		return nil, fault.InvalidArgument("role", "SIGN_IN_ROLE_PARTNER or SIGN_IN_ROLE_ADMIN")
	}
	if m.GetProgram() != "*" || role == service.SignInPartner {
		if err := checkID("program", m.GetProgram(), IDLenMax); err != nil {
			return nil, err
		}
	}
	if role == service.SignInPartner {
		if err := checkID("partner", m.GetPartner(), IDLenMax); err != nil {
			return nil, err
		}
	}
	token, expires, err := s.svc.CreateSignInLink(ctx, service.SignInLink{
		Grant: store.Grant{Role: role, Program: m.GetProgram(), Partner: m.GetPartner()},
		TTL:   time.Duration(m.GetTtlSeconds()) * time.Second,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&accruev1.CreateSignInLinkResponse{
		Token: token, Path: signInPath + "?token=" + token, ExpiresAt: stamp(expires),
	}), nil
}
