package pgembed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestFindBinaries(t *testing.T) {
	makeBin := func(t *testing.T, dir string, programs ...string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, p := range programs {
			if err := os.WriteFile(filepath.Join(dir, p), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	noPath := func(string) (string, error) { return "", fmt.Errorf("not on PATH") }

	t.Run("newest complete version wins, compared numerically", func(t *testing.T) {
		root := t.TempDir()
		makeBin(t, filepath.Join(root, "9.6", "bin"), "initdb", "pg_ctl", "postgres")
		makeBin(t, filepath.Join(root, "15", "bin"), "initdb", "pg_ctl", "postgres")
		makeBin(t, filepath.Join(root, "16", "bin"), "initdb", "pg_ctl") // client-only
		makeBin(t, filepath.Join(root, "devel", "bin"), "initdb", "pg_ctl")
		got, err := findBinaries(root, noPath)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(root, "15", "bin"); got != want {
			t.Fatalf("findBinaries = %s, want %s", got, want)
		}
	})
	t.Run("falls back to PATH", func(t *testing.T) {
		pathDir := filepath.Join(t.TempDir(), "bin")
		makeBin(t, pathDir, "initdb", "pg_ctl", "postgres")
		lookPath := func(name string) (string, error) { return filepath.Join(pathDir, name), nil }
		got, err := findBinaries(t.TempDir(), lookPath)
		if err != nil || got != pathDir {
			t.Fatalf("findBinaries = %q, %v; want %s", got, err, pathDir)
		}
	})
	t.Run("nothing found is a clear error", func(t *testing.T) {
		if _, err := findBinaries(t.TempDir(), noPath); err == nil {
			t.Fatal("want an error")
		}
	})
}

func TestVersionOrder(t *testing.T) {
	tests := []struct {
		a, b string
		less bool
	}{
		{"9.6", "15", true},
		{"15", "9.6", false},
		{"15", "16", true},
		{"16", "16", false},
		{"devel", "9.6", true},
	}
	for _, tt := range tests {
		a, b := versionOf("/x/"+tt.a+"/bin"), versionOf("/x/"+tt.b+"/bin")
		if got := versionLess(a, b); got != tt.less {
			t.Errorf("versionLess(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.less)
		}
	}
}

func TestSocketDirFitsSocketPathLimit(t *testing.T) {
	for _, dataDir := range []string{"/tmp/a/data", "/" + string(make([]byte, 200))} {
		dir := socketDirFor(dataDir)
		if n := len(dir + "/.s.PGSQL.65535"); n > 107 {
			t.Errorf("socketDirFor(%.20q) = %s: socket path is %d bytes, limit 107", dataDir, dir, n)
		}
	}
}

// TestCluster runs one cluster through its life, including restarts after
// a crash and over a stale pid file, since initdb is the slow part.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	if _, err := FindBinaries(); err != nil {
		t.Fatal(err) // Tests run against a real server; `make deps` installs it.
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dataDir := filepath.Join(serverTempDir(t), "data")

	l := &clusterLife{ctx: ctx, outer: t, dataDir: dataDir, c: startCluster(ctx, t, dataDir)}
	for range 2 { // Idempotent.
		if err := l.c.CreateDatabase(ctx, "accrue"); err != nil {
			t.Fatal(err)
		}
	}
	selectOne(ctx, t, l.c.URL("accrue"))
	t.Run("restart after the postmaster was killed", l.restartAfterKill)
	t.Run("restart over a pid file naming a live non-postgres process", l.restartOverForeignPid)
	t.Run("restart over an orphan left by a dead owner", l.restartOverOrphan)
	t.Run("refuses a data dir a live process uses", l.refuseLiveOwner)
	if err := l.c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.c.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "postmaster.pid")); !os.IsNotExist(err) {
		t.Fatalf("postmaster.pid after Stop: %v", err)
	}
}

// clusterLife is TestCluster's cluster and its data dir. Subtests start
// clusters with the outer test's cleanup, so a cluster outlives the
// subtest that started it.
type clusterLife struct {
	ctx     context.Context
	outer   *testing.T
	dataDir string
	c       *Cluster
}

func (l *clusterLife) restartAfterKill(t *testing.T) {
	pid, ok := readPid(filepath.Join(l.dataDir, "postmaster.pid"))
	if !ok {
		t.Fatal("no postmaster.pid")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	l.c = startCluster(l.ctx, l.outer, l.dataDir)
	selectOne(l.ctx, t, l.c.URL("accrue"))
}

func (l *clusterLife) restartOverForeignPid(t *testing.T) {
	if err := l.c.Stop(l.ctx); err != nil {
		t.Fatal(err)
	}
	stale := []byte(strconv.Itoa(os.Getpid()) + "\n" + l.dataDir + "\n")
	if err := os.WriteFile(filepath.Join(l.dataDir, "postmaster.pid"), stale, 0o600); err != nil {
		t.Fatal(err)
	}
	l.c = startCluster(l.ctx, l.outer, l.dataDir)
	selectOne(l.ctx, t, l.c.URL("accrue"))
}

func (l *clusterLife) restartOverOrphan(t *testing.T) {
	if err := os.WriteFile(filepath.Join(l.dataDir, ownerFile), []byte("999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l.c = startCluster(l.ctx, l.outer, l.dataDir)
	selectOne(l.ctx, t, l.c.URL("accrue"))
}

func (l *clusterLife) refuseLiveOwner(t *testing.T) {
	owner := []byte(strconv.Itoa(os.Getppid()) + "\n")
	if err := os.WriteFile(filepath.Join(l.dataDir, ownerFile), owner, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Start(l.ctx, Options{DataDir: l.dataDir})
	if err == nil {
		t.Fatal("Start succeeded on a data dir in use")
	}
	if want := fmt.Sprintf("started by live process %d already runs on", os.Getppid()); !strings.Contains(err.Error(), want) {
		t.Fatalf("Start on a data dir in use: %v, want an error saying %q", err, want)
	}
	selectOne(l.ctx, t, l.c.URL("accrue"))
}

func startCluster(ctx context.Context, t *testing.T, dataDir string) *Cluster {
	t.Helper()
	c, err := Start(ctx, Options{DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

func selectOne(ctx context.Context, t *testing.T, url string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var one int
	if err := conn.QueryRow(ctx, "select 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("select 1 = %d, %v", one, err)
	}
}

// waitGone reaps the killed postmaster pid, our child since Start made us
// a subreaper, and then its children, which exit on noticing its death.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for processState(pid) == stateAlive {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still alive", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	reap(pid)
	for time.Now().Before(deadline) {
		var status syscall.WaitStatus
		got, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if err != nil {
			return // No children left.
		}
		if got == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// serverTempDir returns a test temp dir that the postgres OS user, which
// runs the server when the tests run as root, can traverse: t.TempDir
// creates its directories 0700.
func serverTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != filepath.Dir(d); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestReachable: as root, a data dir below a directory the postgres user
// cannot traverse is refused, one below traversable directories (some not
// created yet) is accepted.
func TestReachable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs the server as another OS user")
	}
	root := t.TempDir()
	for _, d := range []string{filepath.Dir(root), root} { // t.TempDir nests in a 0700 directory
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	locked := filepath.Join(root, "locked")
	if err := os.Mkdir(locked, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Reachable(filepath.Join(locked, "data", "pg")); err == nil {
		t.Fatal("a data dir under a 0700 directory was accepted")
	}
	if err := Reachable(filepath.Join(root, "open", "not-yet", "pg")); err != nil {
		t.Fatalf("a data dir under traversable (and missing) directories: %v", err)
	}
}
