package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const (
	// accruedReadyTimeout bounds accrued's start: migrations and /readyz.
	accruedReadyTimeout = 2 * time.Minute
	// accruedStopTimeout is how long accrued may drain after SIGTERM.
	accruedStopTimeout = 30 * time.Second
	// logTailBytes is how much of accrued's log an error quotes.
	logTailBytes = 4 << 10
)

// accrued is the real server binary running against the bench cluster.
type accrued struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	baseURL string
	logPath string
}

// startAccrued starts bin on ownerURL (it migrates as the owner and logs
// in as accrue_app) with a fresh signing key file in dir, on a free
// loopback port, and returns once /readyz answers.
func startAccrued(ctx context.Context, bin, ownerURL, dir string, logf func(string, ...any)) (*accrued, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	a := &accrued{
		baseURL: "http://" + addr, logPath: filepath.Join(dir, "accrued.log"),
		exited: make(chan struct{}),
	}
	logFile, err := os.Create(a.logPath)
	if err != nil {
		return nil, fmt.Errorf("bench: accrued log: %w", err)
	}
	defer logFile.Close()
	// Not CommandContext: the run's context ending must not kill the
	// server before stop drains it.
	a.cmd = exec.Command(bin, "--listen", addr, "--database-url", ownerURL,
		"--signing-key", filepath.Join(dir, "signing-key.pem"),
		// The webhook case's receiver listens on loopback.
		"--webhooks-allow-private")
	a.cmd.Stdout, a.cmd.Stderr = logFile, logFile
	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: starting %s: %w", bin, err)
	}
	go func() { _ = a.cmd.Wait(); close(a.exited) }()
	logf("accrued %s started (pid %d, log %s)", a.baseURL, a.cmd.Process.Pid, a.logPath)
	if err := a.waitReady(ctx); err != nil {
		a.stop()
		return nil, err
	}
	return a, nil
}

// waitReady polls /readyz until it answers 200.
func (a *accrued) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, accruedReadyTimeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.baseURL+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-a.exited:
			return fmt.Errorf("bench: accrued exited at start:\n%s", a.logTail())
		case <-ctx.Done():
			return fmt.Errorf("bench: accrued not ready after %v:\n%s", accruedReadyTimeout, a.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM, waits for the drain, and kills it after
// accruedStopTimeout.
func (a *accrued) stop() {
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
	case <-time.After(accruedStopTimeout):
		_ = a.cmd.Process.Kill()
		<-a.exited
	}
}

func (a *accrued) logTail() string {
	b, err := os.ReadFile(a.logPath)
	if err != nil {
		return err.Error()
	}
	if len(b) > logTailBytes {
		b = b[len(b)-logTailBytes:]
	}
	return strings.TrimSpace(string(b))
}

// freeAddr asks the kernel for a free loopback port.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("bench: picking a port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// errUnimplemented marks an RPC the server does not have yet.
var errUnimplemented = errors.New("not implemented yet")
