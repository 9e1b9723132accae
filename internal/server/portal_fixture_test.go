package server

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/accrue/accrue/internal/auth"
	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgtest"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// portalFixture is program "shop" (RUB, 10%, a 100.00 minimum) behind API
// keys, its January closed: ivan (contact name Иван Петров) earned 115.00,
// released; anna earned 52.00, carried forward.
type portalFixture struct {
	t   *testing.T
	ctx context.Context
	hs  *httptest.Server
	srv *Server
	clk *clock.Sim
}

const portalRules = `
currency: RUB
timezone: UTC
accrue_on: paid
commission: {default: 10%}
payout: {minimum: "100.00"}
statements: {schedule: "0 0 1 * *", due_day: 15}
`

// Keys of the fixture's API key file.
const (
	adminKey   = "admin-token-0123456789"
	auditorKey = "audit-token-0123456789"
	ivanKey    = "ivan-token-0123456789a"
)

// portalNow is the fixture's clock: January has ended.
var portalNow = time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC)

func newPortalFixture(t *testing.T) *portalFixture {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Pool.Close)
	keys, err := auth.ParseKeys(strings.NewReader(adminKey + " admin *\n" + auditorKey + " auditor shop\n" + ivanKey + " partner shop ivan\n"))
	if err != nil {
		t.Fatal(err)
	}
	f := &portalFixture{t: t, ctx: ctx, clk: clock.NewSim(portalNow)}
	f.srv = New(db, f.clk, nil)
	f.hs = httptest.NewServer(f.srv.Handler(auth.Interceptor(keys)))
	t.Cleanup(f.hs.Close)
	f.seed()
	return f
}

// seed writes the program, the partners, their January orders and the
// close.
func (f *portalFixture) seed() {
	admin := bearer(adminKey)
	jan := timestamppb.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	_, err := accruev1connect.NewProgramServiceClient(f.hs.Client(), f.hs.URL, admin).PutRules(f.ctx, connect.NewRequest(&accruev1.PutRulesRequest{
		Program: "shop", IdempotencyKey: "rules", At: jan, Document: portalRules}))
	f.must(err)
	partners := accruev1connect.NewPartnerServiceClient(f.hs.Client(), f.hs.URL, admin)
	orders := accruev1connect.NewOrderServiceClient(f.hs.Client(), f.hs.URL, admin)
	for _, p := range []struct{ id, name, amount string }{{"ivan", "Иван Петров", "1150.00"}, {"anna", "Anna Smith", "520.00"}} {
		_, err := partners.RegisterPartner(f.ctx, connect.NewRequest(&accruev1.RegisterPartnerRequest{
			Program: "shop", IdempotencyKey: "reg-" + p.id, At: jan, Partner: p.id, Code: strings.ToUpper(p.id),
			Private: &accruev1.PartnerPrivate{Name: p.name, BankAccount: "IBAN-" + p.id}}))
		f.must(err)
		_, err = orders.PayOrder(f.ctx, connect.NewRequest(&accruev1.PayOrderRequest{
			Program: "shop", IdempotencyKey: "pay-" + p.id, At: timestamppb.New(time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)),
			Order: "o-" + p.id, Customer: "c-" + p.id, PartnerCode: strings.ToUpper(p.id),
			Lines: []*accruev1.OrderLine{{Product: "bag", Amount: p.amount}}}))
		f.must(err)
	}
	_, err = accruev1connect.NewPeriodServiceClient(f.hs.Client(), f.hs.URL, admin).ClosePeriod(f.ctx, connect.NewRequest(&accruev1.ClosePeriodRequest{
		Program: "shop", IdempotencyKey: "close-jan", Period: "2026-01"}))
	f.must(err)
}

func (f *portalFixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// portal is a PortalService client over c with opts.
func (f *portalFixture) portal(c *http.Client, opts ...connect.ClientOption) accruev1connect.PortalServiceClient {
	return accruev1connect.NewPortalServiceClient(c, f.hs.URL, opts...)
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, as a browser's fetch would see them.
func (f *portalFixture) browser() *http.Client {
	jar, err := cookiejar.New(nil)
	f.must(err)
	c := *f.hs.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// link issues a sign-in link as the admin key.
func (f *portalFixture) link(role accruev1.SignInRole, program, partner string, ttlSeconds int32) string {
	f.t.Helper()
	resp, err := f.portal(f.hs.Client(), bearer(adminKey)).CreateSignInLink(f.ctx, connect.NewRequest(&accruev1.CreateSignInLinkRequest{
		Program: program, Role: role, Partner: partner, TtlSeconds: ttlSeconds}))
	f.must(err)
	return resp.Msg.GetPath()
}

// get GETs path with c, and the header value pairs given.
func (f *portalFixture) get(c *http.Client, path string, header ...string) *http.Response {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.ctx, http.MethodGet, f.hs.URL+path, nil)
	f.must(err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	f.must(err)
	f.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// exchange signs in with c by the sign-in link path as its confirmation
// page does: POSTs the link's token as a form.
func (f *portalFixture) exchange(c *http.Client, path string) *http.Response {
	f.t.Helper()
	u, err := url.Parse(path)
	f.must(err)
	form := url.Values{"token": {u.Query().Get("token")}}
	req, err := http.NewRequestWithContext(f.ctx, http.MethodPost, f.hs.URL+signInPath, strings.NewReader(form.Encode()))
	f.must(err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	f.must(err)
	f.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// signIn opens a session in a new browser by a partner link for partner.
func (f *portalFixture) signIn(partner string) *http.Client {
	f.t.Helper()
	b := f.browser()
	if resp := f.exchange(b, f.link(accruev1.SignInRole_SIGN_IN_ROLE_PARTNER, "shop", partner, 0)); resp.StatusCode != http.StatusSeeOther {
		f.t.Fatalf("sign-in: %s", resp.Status)
	}
	return b
}

// csrf sends the browser's CSRF cookie back in the CSRF header, as the
// cabinet's page does.
func (f *portalFixture) csrf(b *http.Client) connect.ClientOption {
	u, _ := http.NewRequest(http.MethodGet, f.hs.URL, nil)
	token := ""
	for _, c := range b.Jar.Cookies(u.URL) {
		if c.Name == CSRFCookie {
			token = c.Value
		}
	}
	return connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set(CSRFHeader, token)
			return next(ctx, req)
		}
	}))
}
