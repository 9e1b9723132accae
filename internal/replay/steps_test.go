package replay

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/accrue/accrue/internal/database"
	"github.com/accrue/accrue/internal/pgtest"
)

// replayDoc writes a scenario of a 10% program and the given steps
// to a file, loads it and replays it on a fresh database.
func replayDoc(t *testing.T, steps string) (*Scenario, *Output) {
	t.Helper()
	doc := "name: t\nprogram: {currency: USD, commission: {default: 10%}, payout: {minimum: \"100.00\"}}\nsteps:\n" + steps
	path := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	sc, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Pool.Close)
	out, err := Run(ctx, db, sc, nil)
	if err != nil {
		t.Fatalf("the replay failed as a whole: %v", err)
	}
	return sc, out
}

// TestExpectErrorIsChecked pins SPEC §9: a step's expect_error must equal
// what the step returned. A step that expected an error and succeeded, and
// one that failed with another code, are differences even when
// expect.steps lists every failure; a matching one is not.
func TestExpectErrorIsChecked(t *testing.T) {
	sc, out := replayDoc(t, `
  - {at: 2026-01-02T09:00:00Z, partner.register: {partner: alice}}
  - {at: 2026-01-02T09:01:00Z, partner.register: {partner: alice}, key: again-1, expect_error: not_found}
  - {at: 2026-01-02T09:02:00Z, partner.register: {partner: bob}, expect_error: already_exists}
  - {at: 2026-01-02T09:03:00Z, partner.register: {partner: alice}, key: again-2, expect_error: already_exists}
`)
	sc.Expect.Steps = []StepResult{{Index: 1, Code: "already_exists"}, {Index: 3, Code: "already_exists"}}
	diffs := Check(sc, out)
	if len(diffs) != 2 {
		t.Fatalf("got %d differences, want 2 (steps 1 and 2): %v", len(diffs), diffs)
	}
	for i, want := range []string{"steps[1] (partner.register): expect_error not_found, the step failed already_exists: ",
		"steps[2] (partner.register): expect_error already_exists, the step succeeded"} {
		if !strings.HasPrefix(diffs[i], want) {
			t.Errorf("difference %d = %q, want it to start %q", i, diffs[i], want)
		}
	}
	if !strings.Contains(diffs[0], "alice") {
		t.Errorf("difference %q does not say why the step failed", diffs[0])
	}
}

// TestBadStepValueIsThatStepsError pins SPEC §9: a bad value in a step is
// that step's error (invalid_argument in steps), and the replay goes on.
func TestBadStepValueIsThatStepsError(t *testing.T) {
	bad := []string{
		`{at: 2026-01-02T10:00:00Z, partner.update: {partner: alice, status: bogus}}`,
		`{at: 2026-01-02T10:01:00Z, partner.update: {partner: alice, colour: red}}`,
		`{at: 2026-01-02T10:02:00Z, order.paid: {order: o1, customer: c1, lines: [{product: bag, amount: [1]}]}}`,
		`{at: 2026-01-02T10:03:00Z, order.paid: {order: o2, customer: c2, lines: [{product: bag, amount: "1x"}]}}`,
		`{at: 2026-01-02T10:04:00Z, click: {partner: alice, visitor: v1, colour: red}}`,
		`{at: 2026-01-02T10:05:00Z, click: {partner: alice, visitor: v1}, order.paid: {order: o3, customer: c3}}`,
		`{at: 2026-01-02T10:06:00Z, order.shipped: {order: o1}}`,
		`{at: 2026-01-02T10:07:00Z, payout.create: {payout: p1, partner: alice, allow_advance: maybe}}`,
		`{at: 2026-01-02T10:08:00Z, partner.register: {partner: carol, parent_until: soon}}`,
		`{at: 2026-01-02T10:09:00Z, key: [k], partner.register: {partner: dave}}`,
		`{at: 2026-01-02T10:10:00Z, order.cancelled: {order: o1, shipping: "1.00"}}`,
		`{at: 2026-01-02T10:11:00Z, payout.settle: {payout: p1, amount: "1.00"}}`,
	}
	steps := "  - {at: 2026-01-02T09:00:00Z, partner.register: {partner: alice}}\n"
	var want []StepResult
	for i, s := range bad {
		steps += "  - " + s + "\n"
		want = append(want, StepResult{Index: i + 1, Code: "invalid_argument"})
	}
	steps += "  - {at: 2026-01-02T11:00:00Z, partner.register: {partner: bob}}\n"
	_, out := replayDoc(t, steps)
	if !slices.Equal(out.Steps, want) {
		t.Errorf("steps = %v, want %v", out.Steps, want)
	}
	for _, r := range out.Steps {
		if out.StepErrors[r.Index] == "" {
			t.Errorf("step %d failed without a message", r.Index)
		}
	}
	if _, ok := out.Partners["bob"]; !ok {
		t.Errorf("the step after the bad ones did not run: partners %v", out.Partners)
	}
	if _, ok := out.Partners["carol"]; ok {
		t.Errorf("carol registered although her parent_until is bad")
	}
}

// TestLateLastStepIsSealed: the replay seals its journal on simulated
// time, as the scheduler would, so a last step dated a day before the
// latest one (its rows recorded then, behind the latest step's in id
// order) is sealed too and the journal verifies.
func TestLateLastStepIsSealed(t *testing.T) {
	_, out := replayDoc(t, `
  - {at: 2026-01-02T09:00:00Z, partner.register: {partner: alice}}
  - {at: 2026-01-03T09:00:00Z, partner.register: {partner: bob}}
  - {at: 2026-01-02T10:00:00Z, partner.register: {partner: carol}}
`)
	if !out.Verified || len(out.Problems) != 0 {
		t.Fatalf("verified %v: %v", out.Verified, out.Problems)
	}
}
