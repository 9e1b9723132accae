package pgembed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// socketDirLenMax keeps "<dir>/.s.PGSQL.65535" within the 107 bytes a Unix
// socket path may have on Linux.
const socketDirLenMax = 107 - len("/.s.PGSQL.65535")

// socketDirFor returns where the server puts its Unix socket: beside the
// data dir when that path is short enough, else a directory in /tmp named
// after a hash of the data dir (stable, so restarts reuse it).
func socketDirFor(dataDir string) string {
	beside := dataDir + ".sock"
	if len(beside) <= socketDirLenMax {
		return beside
	}
	sum := sha256.Sum256([]byte(dataDir))
	return filepath.Join("/tmp", "pgembed-"+hex.EncodeToString(sum[:8]))
}

// prepareDirs creates the data and socket directories, owned by the
// account that runs the server.
func (c *Cluster) prepareDirs() error {
	if err := os.MkdirAll(filepath.Dir(c.dataDir), 0o755); err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	if err := c.account.checkTraversable(c.dataDir); err != nil {
		return err
	}
	if err := c.account.mkdirOwned(c.dataDir, 0o700); err != nil {
		return err
	}
	return c.account.mkdirOwned(c.socketDir, 0o700)
}

// initdbIfNeeded creates the cluster unless the data dir already holds one.
func (c *Cluster) initdbIfNeeded(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); err == nil {
		c.logger.Info("pgembed: reusing cluster", "data_dir", c.dataDir)
		return nil
	}
	entries, err := os.ReadDir(c.dataDir)
	if err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("pgembed: %s is neither empty nor a PostgreSQL cluster (no PG_VERSION); "+
			"remove it or choose another data dir", c.dataDir)
	}
	c.logger.Info("pgembed: initdb", "data_dir", c.dataDir, "bin_dir", c.binDir)
	cmd := c.account.command(ctx, filepath.Join(c.binDir, "initdb"),
		"-D", c.dataDir, "-A", "trust", "-U", superuser,
		"--encoding=UTF8", "--no-locale", "--no-instructions")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgembed: initdb %s: %w\n%s", c.dataDir, err, out)
	}
	return nil
}

// clearPrevious deals with a postmaster.pid left by an earlier run.
//   - A pid that no longer exists is left to postgres, which removes such
//     a stale file itself.
//   - A zombie pid (the postmaster died and nobody reaped it: the init of
//     some containers never does) would make postgres refuse to start, so
//     the file is removed here, once no old server process still has the
//     shared memory attached, the check postgres would have made.
//   - A live pid that is not postgres (pid reused after a reboot or in a
//     fresh container) makes the file stale too.
//   - A live postgres is an orphan when the process that started it is
//     gone, and is stopped. Otherwise another live process uses this data
//     dir, and Start fails.
func (c *Cluster) clearPrevious(ctx context.Context) error {
	pidFile := filepath.Join(c.dataDir, "postmaster.pid")
	pid, ok := readPid(pidFile)
	if !ok {
		return nil
	}
	switch state := processState(pid); {
	case state == stateGone:
		return nil
	case state == stateZombie:
		if shmInUse(pidFile) {
			return fmt.Errorf("pgembed: the server on %s died (pid %d) but processes of it "+
				"still use its shared memory; wait for them to exit, or kill them", c.dataDir, pid)
		}
		c.logger.Warn("pgembed: removing postmaster.pid of a dead server", "pid", pid)
		return removeStale(pidFile)
	case !isPostgres(pid):
		c.logger.Warn("pgembed: removing stale postmaster.pid", "pid", pid)
		return removeStale(pidFile)
	}
	if owner, ok := readPid(filepath.Join(c.dataDir, ownerFile)); ok &&
		owner != os.Getpid() && processState(owner) == stateAlive {
		return fmt.Errorf("pgembed: a server (pid %d) started by live process %d already runs on %s",
			pid, owner, c.dataDir)
	}
	c.logger.Warn("pgembed: stopping orphaned server", "pid", pid, "data_dir", c.dataDir)
	return c.Stop(ctx)
}

func removeStale(pidFile string) error {
	if err := os.Remove(pidFile); err != nil {
		return fmt.Errorf("pgembed: remove stale pid file: %w", err)
	}
	return nil
}

// start runs pg_ctl start on c.port and waits for it to report success.
func (c *Cluster) start(ctx context.Context) error {
	opts := []string{
		"-p", strconv.Itoa(c.port),
		"-k", shellQuote(c.socketDir),
	}
	for _, setting := range serverSettings {
		opts = append(opts, "-c", setting)
	}
	c.logger.Info("pgembed: starting server", "data_dir", c.dataDir, "port", c.port)
	becomeSubreaper()
	_, err := c.pgCtl(ctx, "start", "-D", c.dataDir, "-w",
		"-t", strconv.Itoa(pgCtlTimeoutSeconds),
		"-l", filepath.Join(c.dataDir, logFile),
		"-o", strings.Join(opts, " "))
	return err
}

// pgCtl runs pg_ctl as the server account; a failure carries pg_ctl's
// output and the end of the server log.
func (c *Cluster) pgCtl(ctx context.Context, args ...string) ([]byte, error) {
	cmd := c.account.command(ctx, filepath.Join(c.binDir, "pg_ctl"), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("pgembed: pg_ctl %s: %w\n%s\n--- server log tail ---\n%s",
			args[0], err, bytes.TrimSpace(out), c.logTail())
	}
	return out, nil
}

// logTail returns the last lines of the server log, for error messages.
func (c *Cluster) logTail() string {
	data, err := os.ReadFile(filepath.Join(c.dataDir, logFile))
	if err != nil {
		return "(no server log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > logTailLinesMax {
		lines = lines[len(lines)-logTailLinesMax:]
	}
	return strings.Join(lines, "\n")
}

// readPid reads the first line of a pid file.
func readPid(path string) (int, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	first, _, _ := strings.Cut(string(data), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

type procState int

const (
	stateGone procState = iota
	stateZombie
	stateAlive
)

// processState looks pid up in /proc, whoever owns it (a signal-0 probe
// says EPERM for the postgres user's processes when we are not root).
func processState(pid int) procState {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stateGone
	}
	// The state follows the parenthesised command name, which may itself
	// contain parentheses: "1234 (postgres) S ...".
	i := bytes.LastIndexByte(stat, ')')
	if i >= 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X') {
		return stateZombie
	}
	return stateAlive
}

// shmInUse reports whether the System V shared memory segment that
// postmaster.pid records (line 7: key and id) still has processes
// attached. When it cannot tell, it says yes.
func shmInUse(pidFile string) bool {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return true
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) < 7 {
		return false // The server died before it created the segment.
	}
	keyAndID := strings.Fields(lines[6])
	if len(keyAndID) < 2 {
		return false
	}
	table, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		return true
	}
	for _, row := range strings.Split(string(table), "\n")[1:] {
		// key shmid perms size cpid lpid nattch ...
		f := strings.Fields(row)
		if len(f) >= 7 && f[1] == keyAndID[1] {
			return f[6] != "0"
		}
	}
	return false
}

// isPostgres reports whether pid runs the postgres executable.
func isPostgres(pid int) bool {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return false
	}
	name := strings.TrimSpace(string(comm))
	return name == "postgres" || name == "postmaster"
}

// shellQuote quotes s for the sh -c that pg_ctl runs postgres with.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
