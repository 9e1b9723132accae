package rules

import (
	"time"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"
)

// This file holds the parser's helpers that read one YAML node each,
// reporting faults with the node's path.

// resolve follows aliases; yaml.v3 refuses an alias cycle at parse time,
// and the bound keeps this loop finite regardless.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// absent reports a missing or null value, which takes the default.
func absent(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// fields returns the values of a mapping by key, refusing unknown and
// duplicate keys. ok is false when n is not a mapping.
func (ps *parser) fields(n *yaml.Node, path string, known ...string) (map[string]*yaml.Node, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		ps.failf(path, "must be a mapping")
		return nil, false
	}
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := resolve(n.Content[i])
		if key == nil || key.Kind != yaml.ScalarNode {
			ps.failf(path, "has a key that is not a string")
			continue
		}
		name := key.Value
		if !contains(known, name) {
			ps.failf(joinPath(path, name), "unknown field")
			continue
		}
		if _, dup := out[name]; dup {
			ps.failf(joinPath(path, name), "is given twice")
			continue
		}
		out[name] = n.Content[i+1]
	}
	return out, true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// scalar returns the text of a scalar value.
func (ps *parser) scalar(n *yaml.Node, path string) (string, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		ps.failf(path, "must be a single value")
		return "", false
	}
	return n.Value, true
}

// list returns the items of a sequence, refusing more than limit.
func (ps *parser) list(n *yaml.Node, path string, limit int) ([]*yaml.Node, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		ps.failf(path, "must be a list")
		return nil, false
	}
	if len(n.Content) > limit {
		ps.failf(path, "has %d entries; the limit is %d", len(n.Content), limit)
		return nil, false
	}
	return n.Content, true
}

// optString reads an optional scalar into *dst, keeping the default when
// absent.
func (ps *parser) optString(m map[string]*yaml.Node, key, path string, dst *string) bool {
	if absent(m[key]) {
		return false
	}
	s, ok := ps.scalar(m[key], joinPath(path, key))
	if ok {
		*dst = s
	}
	return ok
}

func (ps *parser) boolean(n *yaml.Node, path string) bool {
	var b bool
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		ps.failf(path, "must be true or false")
	}
	return b
}

func (ps *parser) id(n *yaml.Node, path string) string {
	s, ok := ps.scalar(n, path)
	switch {
	case !ok:
	case s == "":
		ps.failf(path, "must not be empty")
	case len(s) > IDLenMax:
		ps.failf(path, "is longer than %d bytes", IDLenMax)
	}
	return s
}

func (ps *parser) percent(n *yaml.Node, path string) decimal.Decimal {
	s, ok := ps.scalar(n, path)
	if !ok {
		return decimal.Zero
	}
	d, err := parsePercent(path, s)
	if err != nil {
		ps.fail(err)
	}
	return d
}

func (ps *parser) amount(n *yaml.Node, path string) decimal.Decimal {
	s, ok := ps.scalar(n, path)
	if !ok {
		return decimal.Zero
	}
	d, err := ps.prog.parseAmount(path, s)
	if err != nil {
		ps.fail(err)
	}
	return d
}

func (ps *parser) duration(n *yaml.Node, path string) time.Duration {
	s, ok := ps.scalar(n, path)
	if !ok {
		return 0
	}
	d, err := parseDuration(path, s)
	if err != nil {
		ps.fail(err)
	}
	return d
}
