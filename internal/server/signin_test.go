package server

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/service"
	accruev1 "github.com/accrue/accrue/proto/accrue/v1"
)

// pdfOf asks for partner's January statement PDF with opts over c.
func (f *portalFixture) pdfOf(c *http.Client, partner string, opts ...connect.ClientOption) error {
	_, err := f.portal(c, opts...).GetStatementPDF(f.ctx, connect.NewRequest(&accruev1.GetStatementPDFRequest{
		Program: "shop", Partner: partner, Period: "2026-01", IncludePrivate: true}))
	return err
}

// TestSignInLink exchanges a partner link for a session cookie scoped to
// that partner: ivan's session reads ivan's statement and not anna's; the
// cookie is HttpOnly and SameSite; the link works once.
func TestSignInLink(t *testing.T) {
	f := newPortalFixture(t)
	b := f.browser()
	link := f.link(accruev1.SignInRole_SIGN_IN_ROLE_PARTNER, "shop", "ivan", 0)
	checkConfirmationPage(f, link)
	resp := f.exchange(b, link)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/portal/" {
		t.Fatalf("sign-in: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.MaxAge != int(service.SessionTTL.Seconds()) {
		t.Fatalf("session cookie %+v", session)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Error("the sign-in response may be cached")
	}
	if err := f.pdfOf(b, "ivan"); err != nil {
		t.Fatalf("ivan's session reads ivan's statement: %v", err)
	}
	if err := f.pdfOf(b, "anna"); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("ivan's session read anna's statement: %v", err)
	}
	if got := f.exchange(f.browser(), link).StatusCode; got != http.StatusUnauthorized {
		t.Fatalf("a used link signed in again: %d", got)
	}
	who := f.get(b, "/portal/session")
	if who.StatusCode != http.StatusOK {
		t.Fatalf("GET /portal/session: %s", who.Status)
	}
}

// checkConfirmationPage: opening a link (GET, as a mail scanner would,
// twice) shows a page whose form posts the token, and consumes nothing;
// the link still signs in after.
func checkConfirmationPage(f *portalFixture, link string) {
	f.t.Helper()
	token := strings.TrimPrefix(link, signInPath+"?token=")
	for range 2 {
		resp := f.get(f.browser(), link)
		body, err := io.ReadAll(resp.Body)
		f.must(err)
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(string(body), `<form method="post" action="/portal/signin">`) || !strings.Contains(string(body), `value="`+token+`"`) {
			f.t.Fatalf("GET %s: %s %q\n%s", link, resp.Status, resp.Header.Get("Content-Type"), body)
		}
		if len(resp.Cookies()) != 0 || resp.Header.Get("Cache-Control") != "no-store" {
			f.t.Fatalf("the confirmation page sets cookies %v or may be cached (%q)", resp.Cookies(), resp.Header.Get("Cache-Control"))
		}
	}
}

// TestSignInLinkRefused refuses a forged link, a link from another secret,
// an expired link and garbage, and writes no session for any.
func TestSignInLinkRefused(t *testing.T) {
	f := newPortalFixture(t)
	link := f.link(accruev1.SignInRole_SIGN_IN_ROLE_PARTNER, "shop", "ivan", 60)
	token := strings.TrimPrefix(link, signInPath+"?token=")
	flip := []byte(token)
	flip[3] ^= 1 // another link id: the MAC no longer matches
	forged := string(flip)
	for name, path := range map[string]string{
		"forged": signInPath + "?token=" + forged,
		"empty":  signInPath,
		"junk":   signInPath + "?token=" + strings.Repeat("A", 500),
	} {
		if got := f.exchange(f.browser(), path).StatusCode; got != http.StatusUnauthorized {
			t.Errorf("%s token: %d, want 401", name, got)
		}
	}
	// Why each is refused: the MAC catches the forgery before the database.
	for token, want := range map[string]error{forged: service.ErrLinkForged, token[:20]: service.ErrLinkForged} {
		if _, _, err := f.srv.svc.ExchangeSignInLink(f.ctx, token); !errors.Is(err, want) {
			t.Errorf("exchanging %q: %v, want %v", token, err, want)
		}
	}
	f.clk.Set(portalNow.Add(61 * time.Second))
	if _, _, err := f.srv.svc.ExchangeSignInLink(f.ctx, token); !errors.Is(err, service.ErrLinkExpired) {
		t.Errorf("an expired link: %v", err)
	}
	if got := f.exchange(f.browser(), link).StatusCode; got != http.StatusUnauthorized {
		t.Errorf("an expired link: %d, want 401", got)
	}
	f.clk.Set(portalNow)
	// Unexpired again by the clock, the link still works: the refusals
	// above consumed nothing.
	if got := f.exchange(f.browser(), link).StatusCode; got != http.StatusSeeOther {
		t.Errorf("the untouched link: %d, want 303", got)
	}
}

// TestSessionExpiresAndSignsOut: a session stops working after SessionTTL
// and after sign-out, which needs the CSRF token.
func TestSessionExpiresAndSignsOut(t *testing.T) {
	f := newPortalFixture(t)
	b := f.signIn("ivan")
	f.clk.Set(portalNow.Add(service.SessionTTL))
	if err := f.pdfOf(b, "ivan"); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("an expired session: %v", err)
	}
	f.clk.Set(portalNow)
	if err := f.pdfOf(b, "ivan"); err != nil {
		t.Fatal(err)
	}
	post := func(withToken bool) int {
		req, _ := http.NewRequestWithContext(f.ctx, http.MethodPost, f.hs.URL+"/portal/signout", nil)
		if withToken {
			for _, c := range b.Jar.Cookies(req.URL) {
				if c.Name == CSRFCookie {
					req.Header.Set(CSRFHeader, c.Value)
				}
			}
		}
		resp, err := b.Do(req)
		f.must(err)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(false); got != http.StatusForbidden {
		t.Fatalf("sign-out without the CSRF token: %d", got)
	}
	// Keep the cookie to replay it after sign-out.
	u := f.hs.URL
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	kept := b.Jar.Cookies(req.URL)
	if got := post(true); got != http.StatusNoContent {
		t.Fatalf("sign-out: %d", got)
	}
	b.Jar.SetCookies(req.URL, kept)
	if err := f.pdfOf(b, "ivan"); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("a signed-out session: %v", err)
	}
}

// TestSessionCSRF: a write with the session cookie needs the session's
// CSRF token in the header; an admin link's session is an admin.
func TestSessionCSRF(t *testing.T) {
	f := newPortalFixture(t)
	b := f.browser()
	if resp := f.exchange(b, f.link(accruev1.SignInRole_SIGN_IN_ROLE_ADMIN, "shop", "", 0)); resp.Header.Get("Location") != "/admin/" {
		t.Fatalf("admin sign-in: %s %q", resp.Status, resp.Header.Get("Location"))
	}
	issue := func(opts ...connect.ClientOption) error {
		_, err := f.portal(b, opts...).CreateSignInLink(f.ctx, connect.NewRequest(&accruev1.CreateSignInLinkRequest{
			Program: "shop", Role: accruev1.SignInRole_SIGN_IN_ROLE_PARTNER, Partner: "anna"}))
		return err
	}
	if err := issue(); connect.CodeOf(err) != connect.CodePermissionDenied || !strings.Contains(err.Error(), CSRFHeader) {
		t.Fatalf("a write without the CSRF token: %v", err)
	}
	if err := issue(f.csrf(f.signIn("anna"))); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("another session's CSRF token: %v", err)
	}
	if err := issue(f.csrf(b)); err != nil {
		t.Fatalf("the admin session with its CSRF token: %v", err)
	}
	if err := f.pdfOf(b, "anna"); err != nil {
		t.Fatalf("the admin session reads (no token needed): %v", err)
	}
	// The admin link is for shop only.
	if _, err := f.portal(b, f.csrf(b)).CreateSignInLink(f.ctx, connect.NewRequest(&accruev1.CreateSignInLinkRequest{
		Program: "*", Role: accruev1.SignInRole_SIGN_IN_ROLE_ADMIN})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("a shop admin session issued an every-program link: %v", err)
	}
}

// TestCreateSignInLinkValidates names the offending field.
func TestCreateSignInLinkValidates(t *testing.T) {
	f := newPortalFixture(t)
	portal := f.portal(f.hs.Client(), bearer(adminKey))
	for _, tc := range []struct {
		req   *accruev1.CreateSignInLinkRequest
		code  connect.Code
		field string
	}{
		{&accruev1.CreateSignInLinkRequest{Program: "shop", Partner: "ivan"}, connect.CodeInvalidArgument, "role"},
		{&accruev1.CreateSignInLinkRequest{Program: "shop", Role: accruev1.SignInRole_SIGN_IN_ROLE_PARTNER}, connect.CodeInvalidArgument, "partner"},
		{&accruev1.CreateSignInLinkRequest{Program: "shop", Role: accruev1.SignInRole_SIGN_IN_ROLE_PARTNER, Partner: "nobody"}, connect.CodeNotFound, "partner"},
		{&accruev1.CreateSignInLinkRequest{Program: "shop", Role: accruev1.SignInRole_SIGN_IN_ROLE_PARTNER, Partner: "ivan", TtlSeconds: 59}, connect.CodeInvalidArgument, "ttl_seconds"},
		{&accruev1.CreateSignInLinkRequest{Program: "shop", Role: accruev1.SignInRole_SIGN_IN_ROLE_PARTNER, Partner: "ivan", TtlSeconds: 86401}, connect.CodeInvalidArgument, "ttl_seconds"},
		{&accruev1.CreateSignInLinkRequest{Program: "shop", Role: accruev1.SignInRole_SIGN_IN_ROLE_ADMIN, Partner: "ivan"}, connect.CodeInvalidArgument, "partner"},
		{&accruev1.CreateSignInLinkRequest{Program: "nope", Role: accruev1.SignInRole_SIGN_IN_ROLE_ADMIN}, connect.CodeNotFound, "program"},
	} {
		_, err := portal.CreateSignInLink(f.ctx, connect.NewRequest(tc.req))
		if connect.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%v: %v, want %v naming %s", tc.req, err, tc.code, tc.field)
		}
	}
	for _, id := range []string{"ivan"} {
		if _, err := f.portal(f.hs.Client(), bearer(ivanKey)).CreateSignInLink(f.ctx, connect.NewRequest(&accruev1.CreateSignInLinkRequest{
			Program: "shop", Role: accruev1.SignInRole_SIGN_IN_ROLE_PARTNER, Partner: id})); connect.CodeOf(err) != connect.CodePermissionDenied {
			t.Errorf("a partner key issued a link: %v", err)
		}
	}
}
