package replay

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestScenarios replays every conformance scenario (../shared/scenarios)
// and every scenario of the project's own (testdata/scenarios) and checks
// each against its expect, including the journal's verification.
func TestScenarios(t *testing.T) {
	var files []string
	for _, pattern := range []string{"../../../shared/scenarios/*.yaml", "../../testdata/scenarios/*.yaml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 4 {
		t.Fatalf("found %d scenario files, want the shared ones and the project's own", len(files))
	}
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Pool.Close)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			sc, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			out, err := Run(ctx, db, sc, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range Check(sc, out) {
				t.Error(d)
			}
		})
	}
}

// TestCheckReportsDifferences pins that --check can fail: a wrong expected
// balance, a missing failed step and a wrong statement field are reported.
func TestCheckReportsDifferences(t *testing.T) {
	sc := &Scenario{Expect: Expect{
		Balances:   map[string]string{"platform:x": "1.00"},
		Steps:      []StepResult{{Index: 2, Code: "not_found"}},
		Statements: []map[string]any{{"partner": "bob", "period": "2026-01", "closing": map[string]any{"accrued": "5.00"}}},
	}}
	out := &Output{
		Balances:   map[string]string{"platform:x": "2.00", "platform:y": "3.00"},
		Steps:      []StepResult{},
		Statements: []map[string]any{{"partner": "bob", "period": "2026-01", "closing": map[string]any{"accrued": "4.00"}}},
		Verified:   true, TrialBalance: "0.00",
	}
	diffs := Check(sc, out)
	if len(diffs) != 4 {
		t.Fatalf("got %d differences, want 4 (balance x, unexpected y, steps, statement): %v", len(diffs), diffs)
	}
	want := []struct {
		prefix  string
		details []string
	}{
		{"balances.platform:x: ", []string{"want 1.00, got 2.00"}},
		{"balances.platform:y: ", []string{"got 3.00, not expected"}},
		{"steps: ", []string{"not_found"}},
		{"statements[bob 2026-01].closing", []string{"accrued", "5.00", "4.00"}},
	}
	for i, w := range want {
		if !strings.HasPrefix(diffs[i], w.prefix) {
			t.Errorf("difference %d = %q, want it to start %q", i, diffs[i], w.prefix)
		}
		for _, d := range w.details {
			if !strings.Contains(diffs[i], d) {
				t.Errorf("difference %d = %q does not say %q", i, diffs[i], d)
			}
		}
	}
}
