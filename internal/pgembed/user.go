package pgembed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// serverUser is the OS account that runs the server when we are root:
// initdb and postgres refuse to run as root.
const serverUser = "postgres"

// account is the OS identity the PostgreSQL programs run as. A nil
// *account means "as ourselves".
type account struct {
	uid uint32
	gid uint32
}

// serverAccount returns nil when we are not root, else the postgres OS
// user, created with useradd when it does not exist yet.
func serverAccount() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(serverUser)
	if err != nil {
		// Several test binaries may race here; whoever loses the race
		// finds the user on the second lookup.
		out, addErr := exec.Command("useradd", "--system", "--user-group",
			"--no-create-home", "--shell", "/usr/sbin/nologin", serverUser).CombinedOutput()
		u, err = user.Lookup(serverUser)
		if err != nil {
			return nil, fmt.Errorf("pgembed: running as root needs the %q OS user "+
				"(initdb refuses root) and useradd failed: %v: %s", serverUser, addErr, out)
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgembed: uid of %q: %w", serverUser, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgembed: gid of %q: %w", serverUser, err)
	}
	return &account{uid: uint32(uid), gid: uint32(gid)}, nil
}

// command builds an exec.Cmd that runs as the account. PG* variables are
// dropped from the environment so a developer's PGDATA or PGPORT cannot
// redirect pg_ctl; "/" as working directory keeps the tools from warning
// that they cannot enter root's home.
func (a *account) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = "/"
	for _, kv := range os.Environ() {
		if len(kv) >= 2 && kv[:2] == "PG" {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	if a != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: a.uid, Gid: a.gid},
		}
	}
	return cmd
}

// mkdirOwned creates dir (not its parents) with perm if missing and hands
// it to the account.
func (a *account) mkdirOwned(dir string, perm os.FileMode) error {
	if err := os.Mkdir(dir, perm); err != nil && !os.IsExist(err) {
		return fmt.Errorf("pgembed: %w", err)
	}
	if a == nil {
		return nil
	}
	if err := os.Chown(dir, int(a.uid), int(a.gid)); err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	return nil
}

// checkTraversable fails with an actionable message when the account cannot
// reach dir because an ancestor lacks the search (x) permission for it, the
// classic trap of a data dir under /root or a 0700 temp dir.
func (a *account) checkTraversable(dir string) error {
	if a == nil {
		return nil
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		info, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("pgembed: %w", err)
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		mode := info.Mode().Perm()
		searchable := mode&0o001 != 0 ||
			(ok && st.Uid == a.uid && mode&0o100 != 0) ||
			(ok && st.Gid == a.gid && mode&0o010 != 0)
		if !searchable {
			return fmt.Errorf("pgembed: the %q OS user, which runs the server because we are root, "+
				"cannot traverse %s (mode %v): chmod o+x it or put the data dir elsewhere, e.g. under /tmp",
				serverUser, d, mode)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// Reachable reports whether the server could use dir as its data directory:
// when we are root, the postgres OS user must be able to traverse every
// ancestor of dir (a checkout under /root is the usual trap).
// Directories that do not exist yet are skipped: they are created traversable.
func Reachable(dir string) error {
	a, err := serverAccount()
	if err != nil {
		return err
	}
	existing := filepath.Dir(dir)
	for {
		if _, err := os.Stat(existing); err == nil || existing == filepath.Dir(existing) {
			break
		}
		existing = filepath.Dir(existing)
	}
	return a.checkTraversable(filepath.Join(existing, "x"))
}
