// Package pgembed runs a private PostgreSQL server from the machine's own
// binaries, for development (cmd/accrued without --database-url) and tests
// (package pgtest, make test).
//
// It owns one cluster directory per Cluster: it creates it with initdb,
// starts the server on a loopback port with pg_ctl, and stops it. It is not
// a production deployment tool: authentication is "trust" on 127.0.0.1, and
// it knows nothing of accrue's schema.
// When the process runs as root, as CI does, every PostgreSQL program runs
// as the "postgres" OS user, because initdb and postgres refuse root.
package pgembed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// superuser is the role initdb creates; URLs connect as it.
	superuser = "postgres"
	// readyTimeout bounds the wait for the server to accept connections
	// after pg_ctl reported it started.
	readyTimeout = 30 * time.Second
	// pgCtlTimeoutSeconds bounds pg_ctl's own start and stop waits.
	pgCtlTimeoutSeconds = 60
	// portAttempts bounds retries when a port we picked is taken between
	// picking and binding (another process won the race).
	portAttempts = 3
	// logTailLinesMax is how much of the server log an error quotes.
	logTailLinesMax = 20
	// ownerFile, inside the data dir, records the pid of the process that
	// started the server, so a later Start can tell an orphan (owner gone)
	// from a server another live process is using.
	ownerFile = "pgembed.owner"
	// logFile, inside the data dir, receives the server's log.
	logFile = "pgembed.log"
)

// Settings for a development and test cluster, passed on the postgres
// command line so a reused data dir always gets the current values.
var serverSettings = []string{
	"listen_addresses=127.0.0.1",
	"fsync=on",
	"max_connections=200",
	"shared_buffers=128MB",
	// Autovacuum looks at each database every 10 s instead of every
	// minute: a young table that grows from nothing (a new program, an
	// import, a benchmark) otherwise keeps the planner's guess for an
	// empty table, and the plans cached for it read whole programs where
	// an index probe would do, for its first minute or more.
	"autovacuum_naptime=10s",
}

// Options configure Start.
type Options struct {
	// DataDir is the cluster directory; it is created with initdb when it
	// is missing or empty, and reused otherwise. Required.
	DataDir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one.
	Port int
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger
}

// Cluster is a running private PostgreSQL server.
type Cluster struct {
	dataDir   string
	socketDir string
	binDir    string
	port      int
	account   *account
	logger    *slog.Logger
}

// Start initialises opts.DataDir if needed, starts the server and returns
// once it accepts connections. The server runs detached (it outlives the
// caller if the caller crashes); call Stop to end it. A server left running
// on the same data dir by a process that has since died is stopped first.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	c, err := newCluster(opts.DataDir, opts.Logger)
	if err != nil {
		return nil, err
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("pgembed: port %d out of range", opts.Port)
	}
	if err := c.prepareDirs(); err != nil {
		return nil, err
	}
	if err := c.initdbIfNeeded(ctx); err != nil {
		return nil, err
	}
	if err := c.clearPrevious(ctx); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		c.port = opts.Port
		if c.port == 0 {
			if c.port, err = freePort(); err != nil {
				return nil, err
			}
		}
		err = c.start(ctx)
		if err == nil {
			break
		}
		portTaken := strings.Contains(err.Error(), "Address already in use")
		if opts.Port != 0 || !portTaken || attempt == portAttempts {
			return nil, err
		}
		c.logger.Warn("pgembed: port taken, retrying", "port", c.port)
	}
	if err := c.waitReady(ctx); err != nil {
		return nil, errors.Join(err, c.Stop(context.WithoutCancel(ctx)))
	}
	owner := []byte(fmt.Sprintf("%d\n", os.Getpid()))
	if err := os.WriteFile(filepath.Join(c.dataDir, ownerFile), owner, 0o644); err != nil {
		return nil, errors.Join(fmt.Errorf("pgembed: %w", err), c.Stop(context.WithoutCancel(ctx)))
	}
	c.logger.Info("pgembed: server ready", "data_dir", c.dataDir, "port", c.port)
	return c, nil
}

// StopDataDir stops a server that another process (for example
// `pgtmp start`) left running on dataDir. It is a no-op when none runs.
func StopDataDir(ctx context.Context, dataDir string) error {
	c, err := newCluster(dataDir, nil)
	if err != nil {
		return err
	}
	return c.Stop(ctx)
}

func newCluster(dataDir string, logger *slog.Logger) (*Cluster, error) {
	if dataDir == "" {
		return nil, errors.New("pgembed: Options.DataDir is required")
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("pgembed: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	binDir, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	acct, err := serverAccount()
	if err != nil {
		return nil, err
	}
	return &Cluster{
		dataDir:   abs,
		socketDir: socketDirFor(abs),
		binDir:    binDir,
		account:   acct,
		logger:    logger,
	}, nil
}

// URL returns the connection URL of database on this server, as the
// superuser, over TCP.
func (c *Cluster) URL(database string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable",
		superuser, c.port, url.PathEscape(database))
}

// CreateDatabase creates database name unless it already exists.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	_, err := CreateDatabaseAt(ctx, c.URL("postgres"), name)
	return err
}

// Stop shuts the server down with pg_ctl's fast mode (roll back open
// transactions, disconnect clients) and waits until it is gone. Stopping a
// stopped cluster is a no-op.
func (c *Cluster) Stop(ctx context.Context) error {
	pidFile := filepath.Join(c.dataDir, "postmaster.pid")
	if _, err := os.Stat(pidFile); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	pid, _ := readPid(pidFile)
	_, err := c.pgCtl(ctx, "stop", "-D", c.dataDir, "-m", "fast", "-w",
		"-t", fmt.Sprint(pgCtlTimeoutSeconds))
	if err != nil {
		if _, statErr := os.Stat(pidFile); errors.Is(statErr, os.ErrNotExist) {
			return nil // Already gone: the pid file was stale.
		}
		return err
	}
	reap(pid)
	_ = os.Remove(filepath.Join(c.dataDir, ownerFile))
	c.logger.Info("pgembed: server stopped", "data_dir", c.dataDir)
	return nil
}

// waitReady polls with pgx until the server answers a query; pg_ctl -w
// already waited, so this normally succeeds at once.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for {
		err := ping(ctx, c.URL("postgres"))
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgembed: server on port %d not accepting connections after %v: %w\n%s",
				c.port, readyTimeout, err, c.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func ping(ctx context.Context, connURL string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var one int
	return conn.QueryRow(ctx, "select 1").Scan(&one)
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before postgres binds it; Start retries then.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgembed: pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
