package webui

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/accrue/accrue/rules"
)

// ValidatePath checks a rules document without storing it: the console's
// editor posts {"document": "..."} as one types and gets back every fault
// with its path and line; the cabinet reads the program's terms (currency,
// payout minimum) from GetRules' document through it. It reads nothing and
// writes nothing, so it needs no credentials (docs/decisions.md, "Issue 11:
// web UI").
const ValidatePath = "/portal/api/check-rules"

// Fault is one fault of a rules document.
type Fault struct {
	// Path is the field at fault ("commission.rules[1].rate"), "" for the
	// whole document.
	Path string `json:"path"`
	// Reason says what is wrong.
	Reason string `json:"reason"`
	// Line is the 1-based line of the field, 0 when unknown.
	Line int `json:"line"`
}

// Check is the answer of ValidatePath.
type Check struct {
	OK     bool    `json:"ok"`
	Faults []Fault `json:"faults"`
	// Terms is set when the document is valid.
	Terms *Terms `json:"terms,omitempty"`
}

// Terms are what the pages show of a valid document.
type Terms struct {
	Currency      string `json:"currency"`
	Timezone      string `json:"timezone"`
	PayoutMinimum string `json:"payout_minimum"`
}

// validateRules answers ValidatePath.
func validateRules(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Document string `json:"document"`
	}
	body := http.MaxBytesReader(w, r.Body, 2*rules.DocumentSizeMax)
	if err := json.NewDecoder(body).Decode(&in); err != nil && !errors.Is(err, io.EOF) {
		http.Error(w, "want a JSON body {\"document\": \"...\"}", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(Validate(in.Document))
}

// Validate parses a rules document as PutRules would and locates each
// fault in it.
func Validate(doc string) Check {
	p, err := rules.Parse([]byte(doc))
	if err == nil {
		return Check{OK: true, Faults: []Fault{},
			Terms: &Terms{Currency: p.Currency, Timezone: p.Timezone, PayoutMinimum: p.Format(p.PayoutMinimum)}}
	}
	var root yaml.Node
	_ = yaml.Unmarshal([]byte(doc), &root)
	var faults []Fault
	for _, e := range flatten(err) {
		f := Fault{Reason: e.Error()}
		var fe *rules.FieldError
		if errors.As(e, &fe) {
			f.Path, f.Reason = fe.Path, fe.Reason
		}
		f.Line = lineOf(&root, f.Path, f.Reason)
		faults = append(faults, f)
	}
	return Check{Faults: faults}
}

// flatten lists the errors joined in err.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// yamlLine finds "line N" in a YAML syntax error.
var yamlLine = regexp.MustCompile(`line (\d+)`)

// segment splits a field path: "a.b[2].c" is a, b, [2], c.
var segment = regexp.MustCompile(`[^.\[\]]+|\[\d+\]`)

// lineOf is the line of the node at path in root: the deepest node the
// path reaches (the parent of a missing field), or for a syntax error the
// line its message names.
func lineOf(root *yaml.Node, path, reason string) int {
	if path == "" {
		if m := yamlLine.FindStringSubmatch(reason); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
	}
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	line := n.Line
	for _, seg := range segment.FindAllString(path, -1) {
		next := child(n, seg)
		if next == nil {
			break
		}
		n, line = next, next.Line
	}
	return line
}

// child is the node a path segment names below n: a mapping's value (its
// key's line is the value's) or a sequence's item.
func child(n *yaml.Node, seg string) *yaml.Node {
	if idx, ok := strings.CutPrefix(seg, "["); ok {
		i, err := strconv.Atoi(strings.TrimSuffix(idx, "]"))
		if n.Kind != yaml.SequenceNode || err != nil || i < 0 || i >= len(n.Content) {
			return nil
		}
		return n.Content[i]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == seg {
			v := *n.Content[i+1]
			v.Line = n.Content[i].Line
			return &v
		}
	}
	return nil
}
