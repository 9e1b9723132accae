// Package pgtest gives each test its own empty database on a real
// PostgreSQL server; there are no database mocks in accrue.
//
// The server is the one ACCRUE_TEST_DATABASE_URL points at (make test
// starts one for the whole run and sets it), else a private cluster that
// pgembed starts once per test binary. Packages that use DatabaseURL call
// Main from TestMain so that private cluster is stopped when the tests end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// pgtest owns only the test databases it creates and the private cluster;
// schemas (migrations) are the caller's business.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/accrue/accrue/internal/pgembed"
)

// EnvDatabaseURL names the variable holding the URL of an existing
// database (such as "postgres") on the server tests should use. Its role
// must be allowed to create databases.
const EnvDatabaseURL = "ACCRUE_TEST_DATABASE_URL"

const (
	// databaseTimeout bounds creating or dropping one test database.
	databaseTimeout = time.Minute
	// startTimeout bounds initdb plus server start of the private cluster.
	startTimeout = 2 * time.Minute
	// databasePrefix marks databases this package created, so a leftover
	// one on a shared server is recognisable.
	databasePrefix = "accrue_test_"
)

// private is the cluster this test binary started, if any.
var private struct {
	once    sync.Once
	url     string // Server URL, or empty when err is set.
	err     error
	cluster *pgembed.Cluster
	rootDir string
}

// DatabaseURL creates a fresh, empty database named accrue_test_<random>
// for this test and returns its URL. The database is dropped in
// t.Cleanup, after the cleanups the test registers later (close pools
// there); connections still open then are terminated.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), databaseTimeout)
	defer cancel()
	dbURL, drop, err := NewDatabase(ctx)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return dbURL
}

// NewDatabase is DatabaseURL for code that has no testing.TB, such as a
// server that TestMain starts for a package's examples: it returns the
// new database's URL and a function that drops it (within a minute,
// terminating connections still open).
func NewDatabase(ctx context.Context) (dbURL string, drop func() error, err error) {
	server, err := serverURL()
	if err != nil {
		return "", nil, err
	}
	name := databasePrefix + randomHex(8)
	dbURL, err = pgembed.CreateDatabaseAt(ctx, server, name)
	if err != nil {
		return "", nil, err
	}
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), databaseTimeout)
		defer cancel()
		return pgembed.DropDatabaseAt(ctx, server, name)
	}
	return dbURL, drop, nil
}

// Main runs the tests, stops the private cluster if DatabaseURL started
// one, and exits with the tests' status (1 if the cluster would not stop).
// Call it from TestMain; m is the *testing.M, or a wrapper of it whose Run
// sets up and tears down around the tests.
func Main(m interface{ Run() int }) {
	code := m.Run()
	if err := stopPrivate(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// serverURL returns the URL of an existing database on the test server,
// starting the private cluster on first use when the environment names
// no server.
func serverURL() (string, error) {
	if url := os.Getenv(EnvDatabaseURL); url != "" {
		return url, nil
	}
	private.once.Do(startPrivate)
	return private.url, private.err
}

func startPrivate() {
	// The postgres OS user runs the server when we are root, so every
	// directory on the way must be traversable (0755).
	root := filepath.Join(os.TempDir(), "accrue-pgtest-"+strconv.Itoa(os.Getpid()))
	if err := os.MkdirAll(root, 0o755); err != nil {
		private.err = err
		return
	}
	if err := os.Chmod(root, 0o755); err != nil {
		private.err = err
		return
	}
	dataDir := filepath.Join(root, "data")
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cluster, err := pgembed.Start(ctx, pgembed.Options{DataDir: dataDir})
	if err != nil {
		_ = os.RemoveAll(root)
		private.err = fmt.Errorf("no %s set and the private cluster did not start "+
			"(`make deps` installs PostgreSQL): %w", EnvDatabaseURL, err)
		return
	}
	private.cluster, private.rootDir = cluster, root
	private.url = cluster.URL("postgres")
	startWatchdog(dataDir, root)
}

func stopPrivate() error {
	if private.cluster == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := private.cluster.Stop(ctx); err != nil {
		return err
	}
	private.cluster = nil
	return os.RemoveAll(private.rootDir)
}

// watchdogScript waits for the test binary ($1) to exit, then shuts the
// server on data dir $2 down (SIGINT to the postmaster is a fast shutdown),
// waits for its pid file to go, and removes $3. It covers what Main cannot:
// a package without TestMain, a panic, a -timeout kill.
const watchdogScript = `
while [ -d "/proc/$1" ]; do sleep 1; done
pm=$(head -n 1 "$2/postmaster.pid" 2>/dev/null) || exit 0
kill -INT "$pm" 2>/dev/null
i=0
while [ -f "$2/postmaster.pid" ] && [ "$i" -lt 300 ]; do sleep 0.1; i=$((i+1)); done
rm -rf "$3"
`

// startWatchdog starts watchdogScript in its own session, detached from
// the test binary's output so `go test` does not wait for it.
func startWatchdog(dataDir, root string) {
	cmd := exec.Command("sh", "-c", watchdogScript, "pgtest-watchdog",
		strconv.Itoa(os.Getpid()), dataDir, root)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: no watchdog (%v); without pgtest.Main in TestMain "+
			"the cluster in %s outlives the tests\n", err, root)
		return
	}
	_ = cmd.Process.Release()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux.
	return hex.EncodeToString(b)
}
