// Package bench is accrue's end-to-end benchmark (`accrue bench`, `make
// bench-e2e`): it starts its own PostgreSQL, measures the raw posting
// ceiling of that cluster with pgbench, starts the real accrued binary on
// it and drives it over Connect JSON from a pool of HTTP/1.1 connections,
// as an external client would, and reports each figure with its ratio to
// the ceiling and the target of issue 9.
//
// It is a client of the API. It writes SQL, as the schema owner, only in
// two places, both named in docs/performance.md: the ceiling's scratch
// database, and the fixture of the as-of read (a scratch program whose
// million entries would take too long to post through the API). It knows
// nothing of the server's internals and must not import them.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Options configure a run. Preset returns the named sets.
type Options struct {
	// Preset names the set the options came from (reported only).
	Preset string
	// Accrued is the accrued binary to start.
	Accrued string
	// Duration is how long each load case runs.
	Duration time.Duration
	// CeilingDuration is how long pgbench runs.
	CeilingDuration time.Duration
	// CeilingClients is pgbench's client count.
	CeilingClients int
	// OrderConns are the connection counts PayOrder runs at.
	OrderConns []int
	// ClickConns is the connection count of the click cases.
	ClickConns int
	// ClickBatch is the clicks per RecordClicks call.
	ClickBatch int
	// ImportBatch is the events per ImportEvents call (or stream).
	ImportBatch int
	// Partners is the size of the referral tree orders and clicks go to.
	Partners int
	// ClosePartners are the program sizes a month close is timed at.
	ClosePartners []int
	// CloseTimeout bounds one close, however the server answers.
	CloseTimeout time.Duration
	// AsOfEntries is the entry count of the account read as of a time.
	AsOfEntries int
	// SetupConns is the concurrency of set-up calls (partners, orders).
	SetupConns int
	// Cases names the cases to run (orders, webhook, clicks, import,
	// close, asof); empty = all. The ceiling always runs: it is the
	// yardstick of every ratio.
	Cases []string
	// LoadClient is the single-call cases' load client: LoadClientAuto
	// (wrk when installed), LoadClientWrk or LoadClientGo.
	LoadClient string
	// WorkDir holds the cluster, accrued's log and key; empty = a fresh
	// temporary directory, removed at the end.
	WorkDir string
	// Progress receives progress lines; nil discards them.
	Progress io.Writer
}

// Preset names.
const (
	PresetTiny   = "tiny"   // the smoke test: seconds, values only checked > 0
	PresetQuick  = "quick"  // a few minutes
	PresetMedium = "medium" // ~10–20 minutes at today's speed
	PresetFull   = "full"   // issue 9's table; long at today's speed
)

// Preset returns the options of a named preset (Accrued left empty).
func Preset(name string) (Options, error) {
	o := Options{
		Preset: name, Duration: 10 * time.Second, CeilingDuration: 10 * time.Second, CeilingClients: 16,
		OrderConns: []int{8, 32}, ClickConns: 16, ClickBatch: 1000, ImportBatch: 1000,
		Partners: 1000, ClosePartners: []int{10_000, 100_000}, CloseTimeout: 4 * time.Hour,
		AsOfEntries: 1_000_000, SetupConns: 32,
	}
	switch name {
	case PresetFull:
	case PresetMedium:
		o.ClosePartners = []int{2_000, 10_000}
		o.CloseTimeout = time.Hour
	case PresetQuick:
		o.Duration, o.CeilingDuration = 5*time.Second, 5*time.Second
		o.Partners, o.ClosePartners, o.AsOfEntries = 200, []int{500, 1_000}, 100_000
		o.CloseTimeout = 20 * time.Minute
	case PresetTiny:
		o.Duration, o.CeilingDuration = 2*time.Second, 2*time.Second
		o.Partners, o.ClosePartners, o.AsOfEntries = 50, []int{100, 200}, 20_000
		o.ClickBatch, o.ImportBatch, o.CloseTimeout = 100, 100, 5*time.Minute
	default:
		return Options{}, fmt.Errorf("bench: unknown preset %q (tiny, quick, medium, full)", name)
	}
	return o, nil
}

// ParseSizes reads a comma-separated list of positive counts ("10000,100000").
func ParseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bench: %q is not a positive count", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// CaseNames are the cases Options.Cases may name, in the order they run.
var CaseNames = []string{"orders", "webhook", "clicks", "import", "close", "asof"}

// runs reports whether the run includes the named case.
func (o Options) runs(name string) bool {
	return len(o.Cases) == 0 || slices.Contains(o.Cases, name)
}

func (o Options) check() error {
	for _, c := range o.Cases {
		if !slices.Contains(CaseNames, c) {
			return fmt.Errorf("bench: unknown case %q (want %s)", c, strings.Join(CaseNames, ", "))
		}
	}
	switch {
	case o.Accrued == "":
		return errors.New("bench: the accrued binary is required (build it with go build -o bin/accrued ./cmd/accrued)")
	case o.Duration <= 0 || o.CeilingDuration <= 0 || o.CloseTimeout <= 0:
		return errors.New("bench: durations must be positive")
	case o.CeilingClients <= 0 || o.ClickConns <= 0 || o.SetupConns <= 0 || o.Partners < 2:
		return errors.New("bench: client counts must be positive and partners at least 2")
	case len(o.OrderConns) == 0 || slices.Min(o.OrderConns) <= 0:
		return errors.New("bench: order connection counts must be positive")
	case o.ClickBatch <= 0 || o.ImportBatch <= 0 || o.AsOfEntries <= 0:
		return errors.New("bench: batch sizes and the as-of entry count must be positive")
	case len(o.ClosePartners) > 0 && slices.Min(o.ClosePartners) <= 0:
		return errors.New("bench: close sizes must be positive")
	}
	return nil
}

// Run performs every case in order and returns the report. A case that
// fails is reported with its error and the run goes on; the error returned
// is for what stops the whole run (no cluster, no accrued) or joins the
// cases' failures.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	dir, cleanup, err := workDir(opts.WorkDir)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	wrk, err := opts.wrkPath()
	if err != nil {
		return nil, err
	}
	r := &run{opts: opts, out: progress, report: newReport(opts), dir: dir, wrk: wrk}

	cl, err := startCluster(ctx, filepath.Join(dir, "pg"), r.logf)
	if err != nil {
		return nil, err
	}
	defer cl.stop()
	r.ceiling(ctx, cl)

	srv, err := startAccrued(ctx, opts.Accrued, cl.accrueURL, dir, r.logf)
	if err != nil {
		r.report.Finished = time.Now().UTC()
		return r.report, err
	}
	defer srv.stop()
	r.api = newAPI(srv.baseURL, opts.SetupConns)
	r.owner = cl.accrueURL
	r.now = time.Now()

	for _, c := range []struct {
		name string
		run  func(context.Context)
	}{{"orders", r.orderCases}, {"webhook", r.webhookCase}, {"clicks", r.clickCases}, {"import", r.importCase}} {
		if opts.runs(c.name) {
			if c.name == "orders" || c.name == "clicks" {
				// Before settle, so its rows are analyzed rather than
				// autovacuumed during the case; a failure is the case's
				// to report (it sets up again).
				_ = r.setUpLoadProgram(ctx)
			}
			r.settle(ctx, c.name)
			c.run(ctx)
		}
	}
	if opts.runs("close") {
		for _, n := range opts.ClosePartners {
			r.closeCase(ctx, n)
		}
		r.closeLinearity()
	}
	if opts.runs("asof") {
		r.asOfCase(ctx)
	}
	r.report.Finished = time.Now().UTC()
	return r.report, r.report.failures()
}

// run carries one benchmark run's state between its cases.
type run struct {
	opts   Options
	out    io.Writer
	report *Report
	api    *api
	owner  string    // the schema owner's URL of accrued's database
	now    time.Time // when the API cases began (wall clock, as accrued's)
	// loadReady is set once the load program and its partners exist.
	loadReady bool
	dir       string // the work directory
	wrk       string // the wrk binary, or "" for the Go client
}

func (r *run) logf(format string, args ...any) {
	fmt.Fprintf(r.out, "bench: "+format+"\n", args...)
}

// workDir returns dir, or a fresh temporary directory that cleanup removes.
// It is world-traversable: as root, the postgres OS user runs the cluster
// inside it.
func workDir(dir string) (string, func(), error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, fmt.Errorf("bench: %w", err)
		}
		return dir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "accrue-bench-")
	if err != nil {
		return "", nil, fmt.Errorf("bench: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		_ = os.RemoveAll(tmp)
		return "", nil, fmt.Errorf("bench: %w", err)
	}
	return tmp, func() { _ = os.RemoveAll(tmp) }, nil
}

// machine describes where the run happened.
func machine() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%s, %d CPUs, host %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), host)
}
