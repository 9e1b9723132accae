package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/auth"
)

// openKeys reads the API key file; with none, every call is allowed, and
// the log says so.
func openKeys(path string, log *slog.Logger) (*auth.KeyFile, error) {
	if path == "" {
		log.Warn("no API keys (--api-keys): every call is allowed; use this only on a trusted network")
		return nil, nil
	}
	keys, err := auth.OpenKeyFile(path)
	if err != nil {
		return nil, err
	}
	log.Info("API keys loaded", "file", path, "keys", keys.Keys().Len())
	return keys, nil
}

// authInterceptor authenticates with the key file's keys in force, or lets
// every call through without one.
func authInterceptor(keys *auth.KeyFile) connect.Interceptor {
	if keys == nil {
		return auth.Interceptor(nil)
	}
	return keys.Interceptor()
}

// reloadOnHangup reloads keys at each SIGHUP until ctx ends: a file that
// does not parse keeps the keys in force and logs why. SIGHUP is caught
// from the start, so that it never stops accrued (its default action).
func reloadOnHangup(ctx context.Context, keys *auth.KeyFile, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				reloadKeys(keys, log)
			}
		}
	}()
}

// reloadKeys reloads keys once and logs the outcome.
func reloadKeys(keys *auth.KeyFile, log *slog.Logger) {
	if keys == nil {
		log.Info("SIGHUP: no --api-keys file to reload")
		return
	}
	n, err := keys.Reload()
	if err != nil {
		log.Error("SIGHUP: API keys not reloaded; the previous keys stay in force", "file", keys.Path(), "err", err)
		return
	}
	log.Info("SIGHUP: API keys reloaded", "file", keys.Path(), "keys", n)
}
