package service

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/accrue/accrue/internal/fault"
	"github.com/accrue/accrue/internal/store"
	"github.com/accrue/accrue/ledger"
)

// Sign-in limits and lifetimes.
const (
	// LinkTTLDefault is how long a sign-in link works when the request does
	// not say; LinkTTLMin and LinkTTLMax bound what it may say.
	LinkTTLDefault = 15 * time.Minute
	LinkTTLMin     = time.Minute
	LinkTTLMax     = 24 * time.Hour
	// SessionTTL is how long a session lasts from its sign-in; it is not
	// extended by use.
	SessionTTL = 8 * time.Hour
	// TokenLenMax bounds a sign-in token or session id presented to us.
	TokenLenMax = 128
)

// Roles a sign-in grants; they are auth's role names.
const (
	SignInAdmin   = "admin"
	SignInPartner = "partner"
)

// Why a sign-in link is refused. The page shown says only that the link
// does not work; the log says which.
var (
	ErrLinkForged  = errors.New("sign-in link malformed or not signed by this server")
	ErrLinkExpired = errors.New("sign-in link expired")
	ErrLinkUsed    = errors.New("sign-in link used already, or unknown")
)

// A token is linkIDLen random bytes, the expiry (Unix seconds, 8 bytes)
// and an HMAC-SHA256 of both, in unpadded base64url.
const (
	linkIDLen    = 16
	linkTokenLen = linkIDLen + 8 + sha256.Size
	sessionIDLen = 32
)

// portalSecret is the HMAC key of sign-in links and CSRF tokens, derived
// from the journal signing key (HKDF-SHA256): every accrued on one database
// shares that key, so a link issued by one is exchanged by another.
func (s *Service) portalSecret() []byte {
	key, err := hkdf.Key(sha256.New, s.signingKey().Seed(), nil, "accrue portal sign-in v1", sha256.Size)
	if err != nil {
		panic(fmt.Sprintf("service: deriving the portal secret: %v", err)) // only for a key length over 255*32
	}
	return key
}

func (s *Service) mac(parts ...[]byte) []byte {
	m := hmac.New(sha256.New, s.portalSecret())
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func digest(b []byte) []byte { d := sha256.Sum256(b); return d[:] }

// SignInLink asks for a link granting g (its ExpiresAt is ignored) for ttl
// (0 for LinkTTLDefault).
type SignInLink struct {
	Grant store.Grant
	TTL   time.Duration
}

// CreateSignInLink stores a new single-use link and returns its token and
// when it expires. A partner link names an existing partner; an admin link
// an existing program, or "*".
func (s *Service) CreateSignInLink(ctx context.Context, in SignInLink) (string, time.Time, error) {
	g, ttl := in.Grant, in.TTL
	if ttl == 0 {
		ttl = LinkTTLDefault
	}
	if ttl < LinkTTLMin || ttl > LinkTTLMax {
		return "", time.Time{}, fault.InvalidArgument("ttl_seconds", "%d to %d seconds", int(LinkTTLMin.Seconds()), int(LinkTTLMax.Seconds()))
	}
	if err := s.checkGrant(ctx, g); err != nil {
		return "", time.Time{}, err
	}
	now := s.clock.Now()
	g.ExpiresAt = now.Add(ttl).Truncate(time.Second)
	id := make([]byte, linkIDLen)
	rand.Read(id) // crypto/rand never fails on Linux
	body := binary.BigEndian.AppendUint64(id, uint64(g.ExpiresAt.Unix()))
	token := base64.RawURLEncoding.EncodeToString(append(body, s.mac(body)...))
	if err := store.InsertSignInLink(ctx, s.db.Pool, digest(id), g, now); err != nil {
		return "", time.Time{}, err
	}
	return token, g.ExpiresAt, nil
}

// checkGrant checks that what a link grants exists.
func (s *Service) checkGrant(ctx context.Context, g store.Grant) error {
	switch {
	case g.Role == SignInPartner:
		_, err := LoadPartner(ctx, s.db.Pool, g.Program, g.Partner, "partner", store.NoLock)
		return err
	case g.Role == SignInAdmin && g.Partner != "":
		return fault.InvalidArgument("partner", "an admin link names no partner")
	case g.Role == SignInAdmin && g.Program == "*":
		return nil
	case g.Role == SignInAdmin:
		_, err := ledger.LoadProgram(ctx, s.db.Pool, g.Program)
		return err
	}
	return fault.InvalidArgument("role", "partner or admin")
}

// ExchangeSignInLink consumes a link's token and opens a session for what
// it grants: the session id (for the cookie) and its grant. A forged,
// malformed, expired or used token fails (ErrLinkForged, ErrLinkExpired,
// ErrLinkUsed) and writes nothing.
func (s *Service) ExchangeSignInLink(ctx context.Context, token string) (string, store.Grant, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if len(token) > TokenLenMax || err != nil || len(raw) != linkTokenLen {
		return "", store.Grant{}, ErrLinkForged
	}
	body, sum := raw[:linkIDLen+8], raw[linkIDLen+8:]
	if !hmac.Equal(sum, s.mac(body)) {
		return "", store.Grant{}, ErrLinkForged
	}
	now := s.clock.Now()
	if expires := time.Unix(int64(binary.BigEndian.Uint64(body[linkIDLen:])), 0); !now.Before(expires) {
		return "", store.Grant{}, ErrLinkExpired
	}
	raw = make([]byte, sessionIDLen)
	rand.Read(raw)
	sid := base64.RawURLEncoding.EncodeToString(raw)
	var g store.Grant
	err = s.db.Run(ctx, func(tx pgx.Tx) error {
		var ok bool
		g, ok, err = store.ConsumeSignInLink(ctx, tx, digest(body[:linkIDLen]), now)
		if err != nil {
			return err
		}
		if !ok {
			return ErrLinkUsed
		}
		g.ExpiresAt = now.Add(SessionTTL)
		return store.InsertSession(ctx, tx, digest([]byte(sid)), g, now)
	})
	if err != nil {
		return "", store.Grant{}, err
	}
	return sid, g, nil
}

// Session returns a live session's grant by its id; false when it is
// unknown, expired or signed out.
func (s *Service) Session(ctx context.Context, id string) (store.Grant, bool, error) {
	if id == "" || len(id) > TokenLenMax {
		return store.Grant{}, false, nil
	}
	return store.LoadSession(ctx, s.db.Pool, digest([]byte(id)), s.clock.Now())
}

// SignOut ends a session; an unknown one is no error.
func (s *Service) SignOut(ctx context.Context, id string) error {
	if id == "" || len(id) > TokenLenMax {
		return nil
	}
	return store.EndSession(ctx, s.db.Pool, digest([]byte(id)), s.clock.Now())
}

// CSRFToken is the double-submit token of a session: an HMAC of its id, so
// it needs no storage and cannot be made without the server's secret.
func (s *Service) CSRFToken(sessionID string) string {
	return base64.RawURLEncoding.EncodeToString(s.mac([]byte("csrf\x00"), []byte(sessionID)))
}
