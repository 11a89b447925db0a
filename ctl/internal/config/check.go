package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// checker collects every mistake it finds in a tree.
type checker struct {
	errs Errors
}

func (c *checker) errorf(p Pos, format string, args ...any) {
	c.errs = append(c.errs, Error{Pos: p, Msg: fmt.Sprintf(format, args...)})
}

// fields checks that v is a mapping of known keys, none given twice, and
// returns it by key.
func (c *checker) fields(v *value, what string, known ...string) map[string]*value {
	if v.kind != kindMap {
		c.errorf(v.pos, "%s: want a mapping, not %s", what, v.kind)
		return nil
	}
	m := make(map[string]*value, len(v.pairs))
	for _, p := range v.pairs {
		k := p.key.str
		switch {
		case !slices.Contains(known, k):
			c.errorf(p.key.pos, "%s: unknown key %q (known: %s)", what, k, strings.Join(known, ", "))
		case m[k] != nil:
			c.errorf(p.key.pos, "%s: key %q given twice (first at line %d)", what, k, m[k].pos.Line)
		default:
			m[k] = p.value
		}
	}
	return m
}

// need returns m[key], reporting at parent's position when it is missing.
func (c *checker) need(m map[string]*value, parent *value, what, key string) *value {
	v := m[key]
	if v == nil && m != nil {
		c.errorf(parent.pos, "%s: missing key %q", what, key)
	}
	return v
}

// scalar is v's text, if v is a scalar.
func (c *checker) scalar(v *value, what string) (string, bool) {
	if v.kind != kindScalar {
		c.errorf(v.pos, "%s: want a value, not %s", what, v.kind)
		return "", false
	}
	return v.str, true
}

// intIn is v as a decimal integer in lo..hi.
func (c *checker) intIn(v *value, what string, lo, hi int) (int, bool) {
	s, ok := c.scalar(v, what)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		c.errorf(v.pos, "%s: %q is not a whole number in %d..%d", what, s, lo, hi)
		return 0, false
	}
	return n, true
}

func (c *checker) boolean(v *value, what string) (bool, bool) {
	s, ok := c.scalar(v, what)
	if !ok {
		return false, false
	}
	switch s {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	c.errorf(v.pos, "%s: %q is not true or false", what, s)
	return false, false
}

// parsed is v's text run through parse, reporting parse's error at v.
func parsed[T any](c *checker, v *value, what string, parse func(string) (T, error)) (T, bool) {
	var zero T
	s, ok := c.scalar(v, what)
	if !ok {
		return zero, false
	}
	t, err := parse(s)
	if err != nil {
		c.errorf(v.pos, "%s: %v", what, err)
		return zero, false
	}
	return t, true
}

// list is v's items, if v is a list.
func (c *checker) list(v *value, what string) []*value {
	if v.kind != kindSeq {
		c.errorf(v.pos, "%s: want a list, not %s", what, v.kind)
		return nil
	}
	return v.items
}
