// Command accrued is the accrue server: Connect, gRPC and gRPC-Web over
// HTTP/1.1 and h2c on one port, the statements scheduler, and — with no
// database URL — an embedded private PostgreSQL with a demo program.
package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"connectrpc.com/connect"

	"github.com/accrue/accrue/internal/auth"
	"github.com/accrue/accrue/internal/buildinfo"
	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/demo"
	"github.com/accrue/accrue/internal/metrics"
	"github.com/accrue/accrue/internal/pgembed"
	"github.com/accrue/accrue/internal/schedule"
	"github.com/accrue/accrue/internal/server"
	"github.com/accrue/accrue/internal/telemetry"
	"github.com/accrue/accrue/internal/txn"
	"github.com/accrue/accrue/internal/webui"
	"github.com/accrue/accrue/migrations"
)

func main() {
	cmd := newCommand(os.Getenv, func(cfg config, log *slog.Logger) error {
		if err := run(cfg, log); err != nil {
			log.Error("accrued stopped", "err", err)
			return errStopped
		}
		return nil
	})
	cmd.SetArgs(legacyArgs(cmd.Flags(), os.Args[1:]))
	if err := cmd.Execute(); err != nil {
		if !errors.Is(err, errStopped) {
			fmt.Fprintln(os.Stderr, "accrued:", err)
		}
		os.Exit(1)
	}
}

// errStopped is run's failure, logged already.
var errStopped = errors.New("accrued stopped")

// fallbackDataDir holds the embedded cluster when the checkout is somewhere
// the postgres OS user cannot traverse (a clone under /root, run as root).
const fallbackDataDir = "/var/lib/accrue"

// embeddedDataDir is the embedded cluster's directory: <flag>/pg when the
// flag is given, else .data/pg, or fallbackDataDir/pg when the server's OS
// user could not reach .data.
func embeddedDataDir(flagValue string, log *slog.Logger) (string, error) {
	if flagValue != "" {
		return filepath.Abs(filepath.Join(flagValue, "pg"))
	}
	dir, err := filepath.Abs(filepath.Join(".data", "pg"))
	if err != nil {
		return "", err
	}
	if err := pgembed.Reachable(dir); err != nil {
		log.Info("using the fallback data dir", "dir", fallbackDataDir, "why", err)
		if err := os.MkdirAll(fallbackDataDir, 0o755); err != nil {
			return "", fmt.Errorf("creating %s: %w", fallbackDataDir, err)
		}
		return filepath.Join(fallbackDataDir, "pg"), nil
	}
	return dir, nil
}

// startEmbedded starts the private PostgreSQL and returns the URL of its
// accrue database, the default signing key path beside its data dir (not
// inside it: a copy of the database must not carry the key) and a function
// that stops it.
func startEmbedded(ctx context.Context, dataDir string, log *slog.Logger) (string, string, func(), error) {
	dir, err := embeddedDataDir(dataDir, log)
	if err != nil {
		return "", "", nil, err
	}
	log.Info("starting embedded PostgreSQL", "dir", dir)
	cluster, err := pgembed.Start(ctx, pgembed.Options{DataDir: dir, Logger: log})
	if err != nil {
		return "", "", nil, fmt.Errorf("embedded PostgreSQL: %w", err)
	}
	stop := func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cluster.Stop(stopCtx); err != nil {
			log.Error("stopping embedded PostgreSQL", "err", err)
		}
	}
	if err := cluster.CreateDatabase(ctx, "accrue"); err != nil {
		stop()
		return "", "", nil, fmt.Errorf("embedded PostgreSQL: %w", err)
	}
	return cluster.URL("accrue"), filepath.Join(filepath.Dir(dir), signingKeyFile), stop, nil
}

// databaseOptions decides as whom accrued migrates and connects. With a
// migrate URL, dbURL is the application's. Without one, a dbURL whose user
// is the application role means the schema was migrated already (`accrue
// migrate`); any other user is the owner: accrued migrates as it and then
// logs in as the application role on the same server (a password for it
// comes from the server's trust rules or a password file).
func databaseOptions(dbURL, migrateURL string) database.Options {
	if migrateURL != "" {
		return database.Options{URL: dbURL, MigrateURL: migrateURL}
	}
	if u, err := url.Parse(dbURL); err == nil && u.User.Username() == migrations.AppRole {
		return database.Options{URL: dbURL}
	}
	return database.Options{MigrateURL: dbURL}
}

// run opens the database (an embedded one when no URL is given), serves
// the API and /metrics and runs the scheduler until SIGINT or SIGTERM.
func run(cfg config, log *slog.Logger) error {
	tuneGC(os.Getenv, log)
	tlsCfg, err := tlsConfig(cfg.tlsCert, cfg.tlsKey)
	if err != nil {
		return err
	}
	keys, err := openKeys(cfg.keysFile, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	reloadOnHangup(ctx, keys, log)
	tracing, err := telemetry.NewTracing(ctx, os.Getenv, buildinfo.Version())
	if err != nil {
		return err
	}
	defer shutdownTracing(tracing, log)

	db, signingKey, closeDB, err := openDatabase(ctx, &cfg, tracing, log)
	if err != nil {
		return err
	}
	defer closeDB()
	clk := clock.Real{}
	srv := server.New(db, clk, log)
	srv.UseSigningKey(signingKey)
	srv.SetInFlightMax(cfg.inFlightMax)
	srv.RecordClickEvents(cfg.clickEvents)
	webui.Register(srv)
	handler, m, err := handler(srv, db, keys, tracing, cfg.corsOrigins, log)
	if err != nil {
		return err
	}
	cfg.webhooks.Observer = m.Outbox

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return err
	}
	hs := httpServer(handler)
	hs.TLSConfig = tlsCfg
	serveErr := make(chan error, 1)
	go serve(hs, ln, serveErr)
	log.Info("accrued serving", "addr", ln.Addr().String(), "tls", tlsCfg != nil, "tracing", tracing.On(),
		"cors_origins", cfg.corsOrigins, "version", buildinfo.Version())

	if cfg.dbURL == "" && cfg.loadDemo && keys == nil {
		loadDemo(ctx, ln.Addr().String(), tlsCfg != nil, clk, log)
	}
	if err := serveDebug(ctx, cfg.debugListen, log); err != nil {
		return err
	}
	go schedule.Run(ctx, srv, clk, log)
	go srv.WebhookWorker(cfg.webhooks).Run(ctx)
	return awaitShutdown(ctx, hs, serveErr, log)
}

// openDatabase opens the database of cfg, or starts the embedded one when
// cfg has no URL (cfg.dbURL stays empty then), and loads the signing key;
// closeDB closes the pool and stops an embedded cluster.
func openDatabase(ctx context.Context, cfg *config, tracing *telemetry.Tracing, log *slog.Logger) (_ *txn.DB, _ ed25519.PrivateKey, closeDB func(), err error) {
	dbURL, keyFile, stopCluster := cfg.dbURL, cfg.keyFile, func() {}
	if dbURL == "" {
		var keyPath string
		dbURL, keyPath, stopCluster, err = startEmbedded(ctx, cfg.dataDir, log)
		if err != nil {
			return nil, nil, nil, err
		}
		if keyFile == "" {
			keyFile = keyPath
		}
	}
	signingKey, err := openSigningKey(keyFile, log)
	if err != nil {
		stopCluster()
		return nil, nil, nil, err
	}
	opts := databaseOptions(dbURL, cfg.migrateURL)
	opts.Tracer = tracing.QueryTracer()
	db, err := database.OpenWith(ctx, opts)
	if err != nil {
		stopCluster()
		return nil, nil, nil, err
	}
	return db, signingKey, func() { db.Pool.Close(); stopCluster() }, nil
}

// handler is accrued's HTTP handler: the API (with the request log, RPC
// metrics, traces and authentication), /metrics, and CORS for origins; and
// the metrics, whose Outbox the webhook worker reports to.
func handler(srv *server.Server, db *txn.DB, keys *auth.KeyFile, tracing *telemetry.Tracing, origins []string,
	log *slog.Logger) (http.Handler, *metrics.Metrics, error) {
	reg := metrics.NewRegistry()
	m := metrics.New(reg)
	reg.MustRegister(metrics.NewPoolCollector(db.Pool.Stat))
	srv.Observe(m)
	srv.OnInFlightRefused(m.RefusedInFlight)
	outer := []connect.Interceptor{m.Interceptor(), telemetry.RequestLog(log)}
	traced, err := tracing.Interceptor()
	if err != nil {
		return nil, nil, err
	}
	if traced != nil {
		// First, so that the span covers the whole call.
		outer = append([]connect.Interceptor{traced}, outer...)
	}
	srv.UseOuterInterceptors(outer...)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", outboxBacklog(srv, m.Outbox, log, metrics.Handler(reg)))
	mux.Handle("/", srv.Handler(authInterceptor(keys)))
	return withCORS(origins, mux), m, nil
}

// outboxBacklog sets the outbox's lag and pending deliveries from the
// database before each scrape of next (two indexed reads); if they cannot
// be read, the scrape shows the values read last.
func outboxBacklog(srv *server.Server, o *metrics.Outbox, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		st, err := srv.OutboxState(ctx)
		cancel()
		if err != nil {
			log.Warn("metrics: reading the outbox backlog", "err", err)
		} else {
			o.SetBacklog(st.Pending, st.Lag)
		}
		next.ServeHTTP(w, r)
	})
}

// loadDemo loads the demo program through the API on addr; over TLS it
// is skipped (the demo client does not trust the certificate).
func loadDemo(ctx context.Context, addr string, overTLS bool, clk clock.Clock, log *slog.Logger) {
	if overTLS {
		log.Info("demo program not loaded: accrued serves TLS")
		return
	}
	if err := demo.Load(ctx, "http://"+addr, clk.Now()); err != nil {
		log.Error("loading the demo program", "err", err)
	}
}

// shutdownTracing flushes the spans not exported yet.
func shutdownTracing(t *telemetry.Tracing, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.Shutdown(ctx); err != nil {
		log.Warn("flushing traces", "err", err)
	}
}

// openSigningKey loads (or creates) the key that signs seal heads; a file
// is required, and it is logged with its public key.
func openSigningKey(path string, log *slog.Logger) (ed25519.PrivateKey, error) {
	if path == "" {
		return nil, errors.New("--signing-key FILE is required with --database-url: the key that signs the journal's heads " +
			"must live outside the database (a missing FILE is created)")
	}
	key, created, err := loadSigningKey(path)
	if err != nil {
		return nil, err
	}
	log.Info("journal signing key", "file", path, "created", created,
		"public_key", base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey)))
	return key, nil
}
