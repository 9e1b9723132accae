package bench

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTinyRun runs the whole harness with the tiny preset against a
// freshly built accrued and checks that it produced every figure: a value
// above zero, or a skip for the calls the server does not have yet. It
// asserts nothing about speed: the figures go in docs/performance.md.
func TestTinyRun(t *testing.T) {
	opts, err := Preset(PresetTiny)
	if err != nil {
		t.Fatal(err)
	}
	opts.Accrued = buildAccrued(t)
	var progress bytes.Buffer
	opts.Progress = &progress
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	report, err := Run(ctx, opts)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	want := []string{
		"ceiling_postings_per_s",
		"orders_8_per_s", "orders_8_p50_ms", "orders_8_p99_ms",
		"orders_32_per_s", "orders_32_p50_ms", "orders_32_p99_ms", "orders_webhook_8_per_s",
		"clicks_per_s", "batch_clicks_per_s", "import_events_per_s",
		"close_100_s", "close_100_ms_per_partner", "close_200_s", "close_200_ms_per_partner",
		"close_linearity", "asof_ms",
		"ceiling_wal_bytes", "orders_8_wal_bytes", "orders_32_wal_bytes", "clicks_wal_bytes", "batch_clicks_wal_bytes", "import_wal_bytes",
	}
	for _, id := range want {
		f, ok := report.Get(id)
		switch {
		case !ok:
			t.Errorf("no figure %s", id)
		case f.Error != "":
			t.Errorf("%s failed: %s", id, f.Error)
		case f.Skipped != "":
			t.Errorf("%s skipped: %s", id, f.Skipped)
		case !(f.Value > 0):
			t.Errorf("%s = %v, want > 0", id, f.Value)
		}
	}
	for _, c := range []string{"orders", "webhook", "clicks", "import"} {
		if !strings.Contains(progress.String(), "vacuumed and analyzed before "+c) {
			t.Errorf("the %s case did not start on a vacuumed database", c)
		}
	}
	if setup, settled := strings.Index(progress.String(), "setting up "+loadProgram), strings.Index(progress.String(), "vacuumed and analyzed before orders"); setup < 0 || setup > settled {
		t.Errorf("the load program was set up at %d of the progress, after the orders case's vacuum at %d", setup, settled)
	}
	if !strings.Contains(progress.String(), "webhook deliveries drained") {
		t.Errorf("the webhook case did not wait for its deliveries")
	}
	if t.Failed() {
		t.Logf("progress:\n%s", progress.String())
	}
	for _, write := range []func(*bytes.Buffer) error{
		func(b *bytes.Buffer) error { return report.WriteTable(b) },
		func(b *bytes.Buffer) error { return report.WriteJSON(b) },
		func(b *bytes.Buffer) error { return report.Markdown(b) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil || !strings.Contains(b.String(), "raw ceiling") {
			t.Errorf("report output (err %v):\n%s", err, b.String())
		}
	}
}

// buildAccrued builds cmd/accrued into a temporary directory.
func buildAccrued(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "accrued")
	out, err := exec.Command(goBin, "build", "-o", bin, "github.com/accrue/accrue/cmd/accrued").CombinedOutput()
	if err != nil {
		t.Fatalf("go build accrued: %v\n%s", err, out)
	}
	return bin
}

func TestParseSizes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		ok   bool
	}{
		{"10000,100000", []int{10000, 100000}, true},
		{" 5 ", []int{5}, true},
		{"", nil, false},
		{"10,0", nil, false},
		{"10,x", nil, false},
	} {
		got, err := ParseSizes(tc.in)
		if (err == nil) != tc.ok || (tc.ok && !slices.Equal(got, tc.want)) {
			t.Errorf("ParseSizes(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// TestFindMethod pins how the batch cases find an RPC by name.
func TestFindMethod(t *testing.T) {
	m := findMethod("RecordClick")
	if m == nil || procedure(m) != "/accrue.v1.TrackingService/RecordClick" {
		t.Fatalf("findMethod(RecordClick) = %v", m)
	}
	if m := findMethod("NoSuchMethod"); m != nil {
		t.Fatalf("findMethod(NoSuchMethod) = %v, want nil", m.FullName())
	}
}

func TestConnectError(t *testing.T) {
	for _, tc := range []struct {
		status        int
		body          string
		unimplemented bool
	}{
		{404, `404 page not found`, true},
		{501, `{"code":"unimplemented","message":"no"}`, true},
		{400, `{"code":"invalid_argument","message":"clicks[3].visitor: required"}`, false},
		{500, `oops`, false},
	} {
		err := connectError(tc.status, []byte(tc.body))
		if got := errors.Is(err, errUnimplemented); got != tc.unimplemented || err == nil {
			t.Errorf("connectError(%d, %s) = %v", tc.status, tc.body, err)
		}
	}
}
