package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	connectcors "connectrpc.com/cors"
	"github.com/rs/cors"

	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

// writeTimeout bounds writing a response: slow clients are cut off. A
// period close is exempt (untimed).
const writeTimeout = 60 * time.Second

// corsMaxAge is how long a browser may cache a preflight's answer.
const corsMaxAge = 2 * time.Hour

// untimed are the procedures whose response may take any time: a period
// close returns when it is done, however long that takes, and so does
// FinishImport, which runs the closes an import held; a watch streams
// until its client leaves.
var untimed = map[string]bool{accruev1connect.PeriodServiceClosePeriodProcedure: true,
	accruev1connect.ImportServiceFinishImportProcedure: true,
	accruev1connect.EventServiceWatchEventsProcedure:   true}

// untimedWrites lifts the server's write deadline for the untimed
// procedures, and keeps it for every other request.
func untimedWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if untimed[r.URL.Path] {
			// The zero time means no deadline.
			_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		}
		next.ServeHTTP(w, r)
	})
}

// withCORS answers browsers' preflights and adds CORS headers for the
// given origins ("*" for any), with the methods and headers Connect,
// gRPC-Web and a bearer token need; with no origin, handler is unchanged
// (a browser on another origin is refused).
func withCORS(origins []string, handler http.Handler) http.Handler {
	if len(origins) == 0 {
		return handler
	}
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: connectcors.AllowedMethods(),
		AllowedHeaders: append(connectcors.AllowedHeaders(), "Authorization"),
		ExposedHeaders: connectcors.ExposedHeaders(),
		MaxAge:         int(corsMaxAge.Seconds()),
	}).Handler(handler)
}

// httpServer serves handler over HTTP/1.1 and h2c (and HTTP/2 over TLS
// when served with TLS), with timeouts.
func httpServer(handler http.Handler) *http.Server {
	return httpServerTimed(handler, writeTimeout)
}

// httpServerTimed is httpServer with the given write timeout.
func httpServerTimed(handler http.Handler, write time.Duration) *http.Server {
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler: untimedWrites(handler), Protocols: protocols,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: write, IdleTimeout: 2 * time.Minute,
	}
}

// tlsConfig is the TLS configuration of --tls-cert and --tls-key (nil
// without them), loaded at start so that a bad pair stops accrued there
// instead of failing every handshake.
func tlsConfig(cert, key string) (*tls.Config, error) {
	if (cert == "") != (key == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if cert == "" {
		return nil, nil
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// serve serves hs on ln, over TLS when hs has a TLS configuration, until
// hs is shut down; the error goes to serveErr.
func serve(hs *http.Server, ln net.Listener, serveErr chan<- error) {
	if hs.TLSConfig != nil {
		serveErr <- hs.ServeTLS(ln, "", "")
		return
	}
	serveErr <- hs.Serve(ln)
}

// awaitShutdown waits for a signal (ctx done) or hs to fail, then shuts hs
// down gracefully.
func awaitShutdown(ctx context.Context, hs *http.Server, serveErr <-chan error, log *slog.Logger) error {
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return hs.Shutdown(shutdownCtx)
}
