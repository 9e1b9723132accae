// Package auth decides who may call what. Callers present a bearer token;
// a key file maps tokens to principals: an admin (everything), an auditor
// (every read, never a write, never private details) or a partner (reads
// of its own partner record, statements, payouts, stats and accounts, its
// private details included). Keys may be limited to one program.
//
// auth knows procedures and request fields only by name; it must not reach
// into the database or the domain. With no keys configured it lets every
// call through (a development server), and the server says so in its log.
package auth

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"connectrpc.com/connect"
)

// Roles a key can carry.
const (
	RoleAdmin   = "admin"
	RoleAuditor = "auditor"
	RolePartner = "partner"
)

// KeysMax bounds a key file.
const KeysMax = 10000

// tokenLenMin keeps guessable tokens out of key files.
const tokenLenMin = 16

// Principal is who a token speaks for.
type Principal struct {
	Role string
	// Program limits the key to one program; "*" means every program.
	Program string
	// Partner is the partner id of a partner key.
	Partner string
}

// Keys maps token digests to principals.
type Keys struct {
	byDigest map[[sha256.Size]byte]Principal
}

// Len is the number of keys.
func (k *Keys) Len() int {
	if k == nil {
		return 0
	}
	return len(k.byDigest)
}

// ParseKeys reads a key file: one key a line, `TOKEN ROLE PROGRAM [PARTNER]`
// (PROGRAM may be `*`), blank lines and lines starting with # ignored. A
// file without a key is an error.
func ParseKeys(r io.Reader) (*Keys, error) {
	k := &Keys{byDigest: map[[sha256.Size]byte]Principal{}}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 || len(f) > 4 {
			return nil, fmt.Errorf("auth: line %d: want TOKEN ROLE PROGRAM [PARTNER]", n)
		}
		p := Principal{Role: f[1], Program: f[2]}
		switch {
		case len(f[0]) < tokenLenMin:
			return nil, fmt.Errorf("auth: line %d: a token has at least %d characters", n, tokenLenMin)
		case p.Role == RolePartner && len(f) != 4:
			return nil, fmt.Errorf("auth: line %d: a partner key names its partner", n)
		case p.Role == RolePartner && p.Program == "*":
			return nil, fmt.Errorf("auth: line %d: a partner key names its program", n)
		case p.Role != RolePartner && len(f) == 4:
			return nil, fmt.Errorf("auth: line %d: only a partner key names a partner", n)
		case p.Role != RoleAdmin && p.Role != RoleAuditor && p.Role != RolePartner:
			return nil, fmt.Errorf("auth: line %d: unknown role %q", n, p.Role)
		}
		if len(f) == 4 {
			p.Partner = f[3]
		}
		d := sha256.Sum256([]byte(f[0]))
		if _, dup := k.byDigest[d]; dup {
			return nil, fmt.Errorf("auth: line %d: a token is listed twice", n)
		}
		if len(k.byDigest) == KeysMax {
			return nil, fmt.Errorf("auth: more than %d keys", KeysMax)
		}
		k.byDigest[d] = p
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("auth: reading keys: %w", err)
	}
	// A key file with every key removed must lock the server, not open it.
	if len(k.byDigest) == 0 {
		return nil, errors.New("auth: the key file holds no keys")
	}
	return k, nil
}

// lookup finds the principal of a token. Digests are compared whole, so
// the time taken does not reveal how much of a token matched.
func (k *Keys) lookup(token string) (Principal, bool) {
	d := sha256.Sum256([]byte(token))
	for digest, p := range k.byDigest {
		if subtle.ConstantTimeCompare(digest[:], d[:]) == 1 {
			return p, true
		}
	}
	return Principal{}, false
}

// Interceptor authenticates every call with keys and authorizes it with
// Allow: a unary call on its request, a server stream on the request it
// receives (before the handler sees it). With no keys, every call passes.
func Interceptor(keys *Keys) connect.Interceptor {
	return interceptor{current: func() *Keys { return keys }}
}

// interceptor is Interceptor with the keys read at each call, so that a
// reload (KeyFile) applies to the next call. The principal it finds goes
// to the call's Caller slot, if any.
type interceptor struct{ current func() *Keys }

// principal authenticates the bearer token of a call's headers against
// keys.
func principal(keys *Keys, h http.Header) (Principal, error) {
	token, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return Principal{}, connect.NewError(connect.CodeUnauthenticated, errors.New("missing bearer token"))
	}
	p, ok := keys.lookup(token)
	if !ok {
		return Principal{}, connect.NewError(connect.CodeUnauthenticated, errors.New("unknown token"))
	}
	return p, nil
}

// WrapUnary authenticates and authorizes a unary call.
func (i interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if p, ok := Authenticated(ctx); ok { // a portal session, authorized already
			note(ctx, p)
			return next(ctx, req)
		}
		keys := i.current()
		if keys.Len() == 0 {
			note(ctx, Principal{Role: RoleOpen})
			return next(ctx, req)
		}
		p, err := principal(keys, req.Header())
		if err != nil {
			return nil, err
		}
		note(ctx, p)
		if err := Allow(p, req.Spec().Procedure, req.Any()); err != nil {
			return nil, connect.NewError(connect.CodePermissionDenied, err)
		}
		return next(withPrincipal(ctx, p), req)
	}
}

// WrapStreamingClient leaves outgoing streams alone.
func (i interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler authenticates a stream when it opens and authorizes
// each message it receives.
func (i interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		keys := i.current()
		if keys.Len() == 0 {
			note(ctx, Principal{Role: RoleOpen})
			return next(ctx, conn)
		}
		p, err := principal(keys, conn.RequestHeader())
		if err != nil {
			return err
		}
		note(ctx, p)
		return next(withPrincipal(ctx, p), &authorizedConn{StreamingHandlerConn: conn, principal: p})
	}
}

// authorizedConn authorizes each message a stream receives.
type authorizedConn struct {
	connect.StreamingHandlerConn
	principal Principal
}

// Receive reads the next message and refuses it when its principal may
// not send it.
func (c *authorizedConn) Receive(msg any) error {
	if err := c.StreamingHandlerConn.Receive(msg); err != nil {
		return err
	}
	if err := Allow(c.principal, c.Spec().Procedure, msg); err != nil {
		return connect.NewError(connect.CodePermissionDenied, err)
	}
	return nil
}
