package auth

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"

	"connectrpc.com/connect"
)

// RoleOpen is the role a request's log line names when no keys are
// configured (every call is allowed).
const RoleOpen = "open"

// KeyFile is a key file's keys, reloaded on demand (accrued reloads on
// SIGHUP): a reload that fails keeps the keys in force, so a typo in the
// file never opens or locks the server.
type KeyFile struct {
	path string
	keys atomic.Pointer[Keys]
}

// OpenKeyFile reads the key file at path.
func OpenKeyFile(path string) (*KeyFile, error) {
	f := &KeyFile{path: path}
	if _, err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Path is the file's path.
func (f *KeyFile) Path() string { return f.path }

// Keys returns the keys in force.
func (f *KeyFile) Keys() *Keys { return f.keys.Load() }

// Reload reads the file again and, if it parses, puts its keys in force
// for the calls that start after it; it returns how many there are. On an
// error the keys in force stay.
func (f *KeyFile) Reload() (int, error) {
	r, err := os.Open(f.path)
	if err != nil {
		return 0, fmt.Errorf("api keys: %w", err)
	}
	defer r.Close()
	keys, err := ParseKeys(r)
	if err != nil {
		return 0, fmt.Errorf("api keys %s: %w", f.path, err)
	}
	f.keys.Store(keys)
	return keys.Len(), nil
}

// Interceptor is Interceptor over the keys in force at each call.
func (f *KeyFile) Interceptor() connect.Interceptor {
	return interceptor{current: f.Keys}
}

// callerKey is the context key of a call's Caller slot.
type callerKey struct{}

// WithCaller returns ctx with a slot the authentication interceptor fills
// with the principal it found, for an interceptor that runs before it
// (the request log) to read once the call returns. The slot stays zero
// when the call was refused before a principal was known.
func WithCaller(ctx context.Context) (context.Context, *Principal) {
	p := new(Principal)
	return context.WithValue(ctx, callerKey{}, p), p
}

// note fills ctx's Caller slot, if it has one.
func note(ctx context.Context, p Principal) {
	if slot, ok := ctx.Value(callerKey{}).(*Principal); ok {
		*slot = p
	}
}
