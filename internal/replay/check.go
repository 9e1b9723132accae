package replay

import (
	"fmt"
	"maps"
	"slices"
)

// Check compares out with the scenario's expectations (SPEC §9) and
// returns every difference; none means the check holds. The journal's own
// verification failing is a difference too.
func Check(sc *Scenario, out *Output) []string {
	var diffs []string
	add := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	for _, k := range sortedKeys(sc.Expect.Balances, out.Balances) {
		want, okW := sc.Expect.Balances[k]
		got, okG := out.Balances[k]
		switch {
		case !okG:
			add("balances.%s: want %s, the account has no balance", k, want)
		case !okW:
			add("balances.%s: got %s, not expected", k, got)
		case want != got:
			add("balances.%s: want %s, got %s", k, want, got)
		}
	}
	want := sc.Expect.Steps
	if want == nil {
		want = []StepResult{}
	}
	if !slices.Equal(want, out.Steps) {
		add("steps: want %v, got %v", want, out.Steps)
	}
	diffs = append(diffs, expectErrorDiffs(sc, out)...)
	for id, fields := range sc.Expect.Partners {
		p, ok := out.Partners[id]
		if !ok {
			add("partners.%s: missing", id)
			continue
		}
		got := map[string]any{"tier": nil, "status": p.Status, "parent": nil}
		if p.Tier != nil {
			got["tier"] = *p.Tier
		}
		if p.Parent != nil {
			got["parent"] = *p.Parent
		}
		for f, w := range fields {
			if fmt.Sprint(w) != fmt.Sprint(got[f]) {
				add("partners.%s.%s: want %v, got %v", id, f, w, got[f])
			}
		}
	}
	for _, w := range sc.Expect.Statements {
		s := findStatement(out.Statements, w["partner"], w["period"])
		if s == nil {
			add("statements[%v %v]: missing", w["partner"], w["period"])
			continue
		}
		for _, d := range subsetDiff(w, s) {
			add("statements[%v %v].%s", w["partner"], w["period"], d)
		}
	}
	if !out.Verified {
		add("journal verification failed: %v", out.Problems)
	}
	if out.TrialBalance != "" && out.TrialBalance != "0.00" && out.TrialBalance != "0" {
		add("trial_balance: %s, not zero", out.TrialBalance)
	}
	return diffs
}

// expectErrorDiffs compares each step's expect_error with what the step
// returned (SPEC §9): a step that expected an error and succeeded, or failed
// with another code, is a difference. A step without expect_error is left
// to expect.steps, which lists every failed step.
func expectErrorDiffs(sc *Scenario, out *Output) []string {
	got := make(map[int]string, len(out.Steps))
	for _, r := range out.Steps {
		got[r.Index] = r.Code
	}
	var diffs []string
	for i, st := range sc.Steps {
		code, failed := got[i]
		switch {
		case st.ExpectError == "" || st.ExpectError == code:
		case !failed:
			diffs = append(diffs, fmt.Sprintf("steps[%d] (%s): expect_error %s, the step succeeded", i, st.Verb, st.ExpectError))
		default:
			diffs = append(diffs, fmt.Sprintf("steps[%d] (%s): expect_error %s, the step failed %s: %s",
				i, st.Verb, st.ExpectError, code, out.StepErrors[i]))
		}
	}
	return diffs
}

func sortedKeys(a, b map[string]string) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func findStatement(ss []map[string]any, partner, period any) map[string]any {
	for _, s := range ss {
		if fmt.Sprint(s["partner"]) == fmt.Sprint(partner) && fmt.Sprint(s["period"]) == fmt.Sprint(period) {
			return s
		}
	}
	return nil
}

// subsetDiff lists the fields of want (recursively) that got lacks or
// holds with another value.
func subsetDiff(want, got map[string]any) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		w, g := want[k], got[k]
		if wm, ok := w.(map[string]any); ok {
			gm, _ := g.(map[string]any)
			for _, d := range subsetDiff(wm, gm) {
				out = append(out, k+"."+d)
			}
			continue
		}
		if fmt.Sprint(w) != fmt.Sprint(g) {
			out = append(out, fmt.Sprintf("%s: want %v, got %v", k, w, g))
		}
	}
	return out
}
