// Package replay runs conformance scenarios (SPEC §9): a program's history
// as YAML steps, replayed against a real database with a simulated clock
// and reported as one JSON document that --check compares with the file's
// expectations.
//
// Run serves an in-process accrued (server.New over the database, reading
// the simulated clock) on a loopback port and sends every step through its
// Connect clients over real HTTP, so a scenario tests what callers see.
// Before each step it sets the clock to the step's time and runs what
// accrued's scheduler would have run by then: the due closes
// (Server.RunDueCloses), sealing (GetJournalHead seals) and the as-of
// snapshots (Server.Snapshot, so as-of reads take the snapshot path);
// after the last step it seals once more past ledger.SealLag, so the
// journal it verifies is sealed whole. It never reads or writes the
// database itself.
package replay

import (
	"errors"
	"fmt"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// StepsMax bounds a scenario's length.
const StepsMax = 10000

// Scenario is a parsed scenario file.
type Scenario struct {
	Name    string    `yaml:"name"`
	Program yaml.Node `yaml:"program"`
	Steps   []Step    `yaml:"steps"`
	Expect  Expect    `yaml:"expect"`
}

// Step is one event: its time, optional idempotency key and expected error,
// and exactly one verb with its payload.
type Step struct {
	At          time.Time
	Key         string
	ExpectError string
	Verb        string
	Payload     yaml.Node
	// Invalid is why the step cannot run (a second verb, a key that is not
	// a string): the step then fails invalid_argument, and the others run.
	Invalid error
}

// UnmarshalYAML reads a step. Only a step without a valid `at` fails the
// file, as steps run in time; every other fault of a step is kept in
// Invalid and becomes that step's error.
func (s *Step) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a step is a mapping", n.Line)
	}
	var invalid []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		switch k {
		case "at":
			if err := v.Decode(&s.At); err != nil {
				return fmt.Errorf("line %d: at: %w", v.Line, err)
			}
		case "key":
			if err := v.Decode(&s.Key); err != nil {
				invalid = append(invalid, fmt.Errorf("key: %w", err))
			}
		case "expect_error":
			if err := v.Decode(&s.ExpectError); err != nil {
				invalid = append(invalid, fmt.Errorf("expect_error: %w", err))
			}
		default:
			if s.Verb != "" {
				invalid = append(invalid, fmt.Errorf("a step has one verb, found %s and %s", s.Verb, k))
				continue
			}
			s.Verb, s.Payload = k, *v
		}
	}
	if s.At.IsZero() {
		return fmt.Errorf("line %d: a step needs `at`", n.Line)
	}
	if s.Verb == "" {
		invalid = append(invalid, errors.New("a step needs a verb"))
	}
	if len(invalid) > 0 {
		s.Invalid = fmt.Errorf("line %d: %w", n.Line, errors.Join(invalid...))
	}
	return nil
}

// Expect is what a scenario expects.
type Expect struct {
	Balances   map[string]string         `yaml:"balances"`
	Steps      []StepResult              `yaml:"steps"`
	Partners   map[string]map[string]any `yaml:"partners"`
	Statements []map[string]any          `yaml:"statements"`
}

// StepResult is a failed step in the output.
type StepResult struct {
	Index int    `yaml:"index" json:"index"`
	OK    bool   `yaml:"ok" json:"ok"`
	Code  string `yaml:"code" json:"code"`
}

// Load reads and parses a scenario file.
func Load(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	var sc Scenario
	if err := yaml.Unmarshal(b, &sc); err != nil {
		return nil, fmt.Errorf("replay: %s: %w", path, err)
	}
	if len(sc.Steps) > StepsMax {
		return nil, fmt.Errorf("replay: %s: %d steps, at most %d", path, len(sc.Steps), StepsMax)
	}
	if sc.Program.Kind == 0 {
		return nil, fmt.Errorf("replay: %s: no program", path)
	}
	return &sc, nil
}
