package rules

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Fault is one fault of a rules document, located in it.
type Fault struct {
	// Path is the field at fault ("commission.rules[1].rate"), "" for the
	// whole document.
	Path string
	// Reason says what is wrong.
	Reason string
	// Line is the 1-based line of the field, 0 when unknown.
	Line int
}

// Check parses a rules document as Parse does and locates each fault in
// it: the program of a valid document, else every fault at its line (a
// field's own line, a missing field's parent's, or the line a YAML syntax
// error names). For editors that show faults as one types.
func Check(doc []byte) (*Program, []Fault) {
	p, err := Parse(doc)
	if err == nil {
		return p, nil
	}
	var root yaml.Node
	_ = yaml.Unmarshal(doc, &root)
	var faults []Fault
	for _, e := range flatten(err) {
		f := Fault{Reason: e.Error()}
		var fe *FieldError
		if errors.As(e, &fe) {
			f.Path, f.Reason = fe.Path, fe.Reason
		}
		f.Line = lineOf(&root, f.Path, f.Reason)
		faults = append(faults, f)
	}
	return nil, faults
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
