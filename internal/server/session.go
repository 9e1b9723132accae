package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/auth"
	"github.com/accrue/accrue/internal/service"
	"github.com/accrue/accrue/internal/store"
)

// The portal's HTTP surface (docs/decisions.md, "Issue 11: portal
// backend").
const (
	// signInPath shows a sign-in link's confirmation page (GET) and
	// exchanges its token for a session cookie (POST, the page's form).
	signInPath = "/portal/signin"
	// SessionCookie holds the session id (HttpOnly); CSRFCookie its
	// double-submit token, which the page echoes in CSRFHeader on every
	// call that writes.
	SessionCookie = "accrue_session"
	CSRFCookie    = "accrue_csrf"
	CSRFHeader    = "X-Accrue-CSRF"
)

// principalOf is the auth principal of a session's grant.
func principalOf(g store.Grant) auth.Principal {
	return auth.Principal{Role: g.Role, Program: g.Program, Partner: g.Partner}
}

// sessionID reads the session cookie of a request's headers; "" when none.
func sessionID(h http.Header) string {
	c, err := (&http.Request{Header: h}).Cookie(SessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// sessionCheck authenticates Connect calls that carry the session cookie
// and no bearer token: the session must be live, a call that writes must
// carry the session's CSRF token in CSRFHeader, and auth.Allow decides as
// for an API key of the session's role. A call with a bearer token is left
// to the API keys.
func (s *Server) sessionCheck() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			sid := sessionID(req.Header())
			if sid == "" || req.Header().Get("Authorization") != "" {
				return next(ctx, req)
			}
			p, err := s.authorizeSession(ctx, sid, req.Header().Get(CSRFHeader), req.Spec().Procedure, req.Any())
			if err != nil {
				return nil, err
			}
			return next(auth.WithAuthenticated(ctx, p), req)
		}
	}
}

// authorizeSession is the session check of one call of procedure with msg.
func (s *Server) authorizeSession(ctx context.Context, sid, csrf, procedure string, msg any) (auth.Principal, error) {
	g, ok, err := s.svc.Session(ctx, sid)
	if err != nil {
		return auth.Principal{}, s.connectError(procedure, err)
	}
	if !ok {
		return auth.Principal{}, connect.NewError(connect.CodeUnauthenticated, errors.New("the session expired or was signed out; sign in again"))
	}
	if !auth.IsRead(procedure) && !s.csrfMatches(sid, csrf) {
		return auth.Principal{}, connect.NewError(connect.CodePermissionDenied,
			errors.New("a call that writes with a session cookie needs the session's CSRF token in the "+CSRFHeader+" header"))
	}
	p := principalOf(g)
	if err := auth.Allow(p, procedure, msg); err != nil {
		return auth.Principal{}, connect.NewError(connect.CodePermissionDenied, err)
	}
	return p, nil
}

// csrfMatches compares a presented CSRF token with the session's in
// constant time.
func (s *Server) csrfMatches(sid, presented string) bool {
	want := s.svc.CSRFToken(sid)
	return presented != "" && subtle.ConstantTimeCompare([]byte(presented), []byte(want)) == 1
}

// signIn exchanges the posted form's token (the confirmation page's, see
// signInConfirm) for a session: it sets the session and CSRF cookies and
// redirects to the cabinet (a partner) or the console (an admin). A
// refused link answers 401 and says only that the link does not work; the
// log says why.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	r.Body = http.MaxBytesReader(w, r.Body, 2*signInTokenMax)
	sid, g, err := s.svc.ExchangeSignInLink(r.Context(), r.PostFormValue("token"))
	if errors.Is(err, service.ErrLinkForged) || errors.Is(err, service.ErrLinkExpired) || errors.Is(err, service.ErrLinkUsed) {
		s.log.Info("sign-in refused", "why", err)
		http.Error(w, "This sign-in link does not work: it is invalid, expired or used already. Ask for a new one.", http.StatusUnauthorized)
		return
	}
	if err != nil {
		s.log.Error("sign-in failed", "err", err)
		http.Error(w, "Sign-in failed; try again.", http.StatusServiceUnavailable)
		return
	}
	secure := r.TLS != nil
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sid, Path: "/", Expires: g.ExpiresAt,
		MaxAge: int(service.SessionTTL.Seconds()), HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: s.svc.CSRFToken(sid), Path: "/", Expires: g.ExpiresAt,
		MaxAge: int(service.SessionTTL.Seconds()), Secure: secure, SameSite: http.SameSiteStrictMode})
	home := "/portal/"
	if g.Role == service.SignInAdmin {
		home = "/admin/"
	}
	http.Redirect(w, r, home, http.StatusSeeOther)
}

// signOut ends the session of the request's cookie and clears the
// cookies; it needs the CSRF token like every write.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	sid := sessionID(r.Header)
	if sid == "" || !s.csrfMatches(sid, r.Header.Get(CSRFHeader)) {
		http.Error(w, "sign-out needs the session cookie and its CSRF token in "+CSRFHeader, http.StatusForbidden)
		return
	}
	if err := s.svc.SignOut(r.Context(), sid); err != nil {
		s.log.Error("sign-out failed", "err", err)
		http.Error(w, "sign-out failed; try again", http.StatusServiceUnavailable)
		return
	}
	for _, name := range []string{SessionCookie, CSRFCookie} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, Secure: r.TLS != nil})
	}
	w.WriteHeader(http.StatusNoContent)
}

// sessionInfo is what GET /portal/session answers.
type sessionInfo struct {
	Role      string    `json:"role"`
	Program   string    `json:"program"`
	Partner   string    `json:"partner,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
	CSRFToken string    `json:"csrf_token"`
}

// session tells the page who it is signed in as, and its CSRF token; 401
// without a live session. Another site cannot read it (no CORS).
func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	sid := sessionID(r.Header)
	g, ok, err := s.svc.Session(r.Context(), sid)
	if err != nil {
		s.log.Error("reading a session", "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	if !ok {
		http.Error(w, "not signed in", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(sessionInfo{Role: g.Role, Program: g.Program, Partner: g.Partner,
		ExpiresAt: g.ExpiresAt.UTC(), CSRFToken: s.svc.CSRFToken(sid)})
}

// noStore keeps credentials and private pages out of caches and Referer
// headers.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
}
