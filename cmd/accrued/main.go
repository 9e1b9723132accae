// Command accrued is the accrue server: Connect, gRPC and gRPC-Web over
// HTTP/1.1 and h2c on one port, the statements scheduler, and — with no
// database URL — an embedded private PostgreSQL with a demo program.
package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"flag"
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

	"github.com/accrue/accrue/internal/auth"
	"github.com/accrue/accrue/internal/clock"
	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/demo"
	"github.com/accrue/accrue/internal/pgembed"
	"github.com/accrue/accrue/internal/schedule"
	"github.com/accrue/accrue/internal/server"
	"github.com/accrue/accrue/internal/webhook"
	"github.com/accrue/accrue/migrations"
	"github.com/accrue/accrue/proto/accrue/v1/accruev1connect"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("accrued stopped", "err", err)
		os.Exit(1)
	}
}

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

// loadKeys reads the API key file; with none, every call is allowed, and
// the log says so.
func loadKeys(path string, log *slog.Logger) (*auth.Keys, error) {
	if path == "" {
		log.Warn("no API keys (--api-keys): every call is allowed; use this only on a trusted network")
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("api keys: %w", err)
	}
	defer f.Close()
	keys, err := auth.ParseKeys(f)
	if err != nil {
		return nil, err
	}
	log.Info("API keys loaded", "keys", keys.Len())
	return keys, nil
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

// config is accrued's command line.
type config struct {
	listen, dbURL, migrateURL, dataDir string
	keyFile, keysFile                  string
	loadDemo                           bool
	inFlightMax                        int
	webhooks                           webhook.Options
	clickEvents                        bool
}

// parseFlags reads the command line, with the environment's defaults.
func parseFlags() config {
	var c config
	flag.StringVar(&c.listen, "listen", "127.0.0.1:7070", "address to serve on")
	flag.StringVar(&c.dbURL, "database-url", os.Getenv("ACCRUE_DATABASE_URL"), "PostgreSQL or CockroachDB URL (env ACCRUE_DATABASE_URL); empty = embedded PostgreSQL; see --migrate-database-url")
	flag.StringVar(&c.migrateURL, "migrate-database-url", os.Getenv("ACCRUE_MIGRATE_DATABASE_URL"), "the schema owner's URL, used only to migrate (env ACCRUE_MIGRATE_DATABASE_URL); with it, --database-url is the application's (user accrue_app)")
	flag.StringVar(&c.dataDir, "data-dir", "", "directory of the embedded PostgreSQL (default .data, or "+fallbackDataDir+" when root's postgres user cannot reach .data)")
	flag.BoolVar(&c.loadDemo, "demo", true, "load the demo program into an embedded database")
	flag.StringVar(&c.keyFile, "signing-key", os.Getenv("ACCRUE_SIGNING_KEY"), "Ed25519 key (PKCS #8 PEM) that signs the journal's seal heads, created if missing (env ACCRUE_SIGNING_KEY); keep it out of the database and its backups; default with the embedded database: "+signingKeyFile+" beside its data dir; required otherwise")
	flag.StringVar(&c.keysFile, "api-keys", os.Getenv("ACCRUE_API_KEYS"), "file of API keys: TOKEN ROLE PROGRAM [PARTNER] a line (env ACCRUE_API_KEYS); empty = every call allowed")
	flag.IntVar(&c.inFlightMax, "max-in-flight", server.InFlightMaxDefault, "requests served at once; beyond it resource_exhausted at once")
	flag.BoolVar(&c.webhooks.AllowPrivate, "webhooks-allow-private", false, "let webhooks reach private, loopback and link-local addresses (for tests and private networks)")
	flag.BoolVar(&c.clickEvents, "click-events", false, "write a click.recorded event per click (off: clicks are most of the traffic)")
	flag.Parse()
	return c
}

// run opens the database (an embedded one when no URL is given), serves
// the API and runs the scheduler until SIGINT or SIGTERM.
func run(log *slog.Logger) error {
	cfg := parseFlags()
	keys, err := loadKeys(cfg.keysFile, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	embedded := cfg.dbURL == ""
	if embedded {
		url, keyPath, stopCluster, err := startEmbedded(ctx, cfg.dataDir, log)
		if err != nil {
			return err
		}
		defer stopCluster()
		cfg.dbURL = url
		if cfg.keyFile == "" {
			cfg.keyFile = keyPath
		}
	}
	signingKey, err := openSigningKey(cfg.keyFile, log)
	if err != nil {
		return err
	}
	db, err := database.OpenWith(ctx, databaseOptions(cfg.dbURL, cfg.migrateURL))
	if err != nil {
		return err
	}
	defer db.Pool.Close()
	clk := clock.Real{}
	srv := server.New(db, clk, log)
	srv.UseSigningKey(signingKey)
	srv.SetInFlightMax(cfg.inFlightMax)
	srv.RecordClickEvents(cfg.clickEvents)

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return err
	}
	hs := httpServer(srv.Handler(auth.Interceptor(keys)))
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	log.Info("accrued serving", "addr", ln.Addr().String())

	if embedded && cfg.loadDemo && keys.Len() == 0 {
		if err := demo.Load(ctx, "http://"+ln.Addr().String(), clk.Now()); err != nil {
			log.Error("loading the demo program", "err", err)
		}
	}
	go schedule.Run(ctx, srv, clk, log)
	go srv.WebhookWorker(cfg.webhooks).Run(ctx)
	return awaitShutdown(ctx, hs, serveErr, log)
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

// writeTimeout bounds writing a response: slow clients are cut off. A
// period close is exempt (untimed).
const writeTimeout = 60 * time.Second

// untimed are the procedures whose response may take any time: a period
// close returns when it is done, however long that takes; a watch streams
// until its client leaves.
var untimed = map[string]bool{accruev1connect.PeriodServiceClosePeriodProcedure: true, accruev1connect.EventServiceWatchEventsProcedure: true}

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

// httpServer serves handler over HTTP/1.1 and h2c, with timeouts.
func httpServer(handler http.Handler) *http.Server {
	return httpServerTimed(handler, writeTimeout)
}

// httpServerTimed is httpServer with the given write timeout.
func httpServerTimed(handler http.Handler, write time.Duration) *http.Server {
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler: untimedWrites(handler), Protocols: protocols,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: write, IdleTimeout: 2 * time.Minute,
	}
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
