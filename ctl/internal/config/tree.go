package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Pos is a place in the file, both counted from 1.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

// Error is one mistake in a file.
type Error struct {
	File string `json:"file"`
	Pos
	Msg string `json:"msg"`
}

func (e Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors is every mistake in a file, in the order they appear.
type Errors []Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

type kind int

const (
	kindNull kind = iota
	kindScalar
	kindMap
	kindSeq
)

func (k kind) String() string {
	return [...]string{"nothing", "a value", "a mapping", "a list"}[k]
}

// value is a YAML node reduced to what a config is made of: scalars (as
// written), mappings with their keys in order, and lists.
type value struct {
	kind  kind
	pos   Pos
	str   string
	pairs []pair
	items []*value
}

type pair struct {
	key   *value
	value *value
}

func tokenPos(tk *token.Token) Pos {
	if tk == nil || tk.Position == nil {
		return Pos{1, 1}
	}
	return Pos{tk.Position.Line, tk.Position.Column}
}

// unsupported is the mistake of anchors, aliases, tags and merge keys: a
// machine's description needs none, and they make positions lie.
const unsupported = "anchors, aliases, tags and merge keys are not supported"

// parseTree reads one YAML document. A syntax error is returned with its
// position; an empty file is a nil value.
func parseTree(src []byte) (*value, *Error) {
	// Keys given twice are ours to report, all of them, with the first's line.
	f, err := parser.ParseBytes(src, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return nil, syntaxError(err)
	}
	var body ast.Node
	for _, d := range f.Docs {
		if d.Body == nil {
			continue
		}
		if _, ok := d.Body.(*ast.CommentGroupNode); ok {
			continue
		}
		if body != nil {
			return nil, &Error{Pos: tokenPos(d.Body.GetToken()), Msg: "a second YAML document: the file holds one"}
		}
		body = d.Body
	}
	if body == nil {
		return nil, nil
	}
	return reduce(body)
}

func syntaxError(err error) *Error {
	var se *yaml.SyntaxError
	if errors.As(err, &se) {
		return &Error{Pos: tokenPos(se.Token), Msg: "YAML: " + se.Message}
	}
	return &Error{Pos: Pos{1, 1}, Msg: "YAML: " + err.Error()}
}

func reduce(n ast.Node) (*value, *Error) {
	pos := tokenPos(n.GetToken())
	switch n := n.(type) {
	case *ast.NullNode:
		return &value{kind: kindNull, pos: pos}, nil
	case *ast.StringNode:
		return &value{kind: kindScalar, pos: pos, str: n.Value}, nil
	case *ast.LiteralNode:
		return &value{kind: kindScalar, pos: pos, str: n.Value.Value}, nil
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return &value{kind: kindScalar, pos: pos, str: n.GetToken().Value}, nil
	case *ast.MappingValueNode:
		return reduceMap(pos, []*ast.MappingValueNode{n})
	case *ast.MappingNode:
		if len(n.Values) > 0 {
			pos = tokenPos(n.Values[0].Key.GetToken())
		}
		return reduceMap(pos, n.Values)
	case *ast.SequenceNode:
		v := &value{kind: kindSeq, pos: pos}
		for _, it := range n.Values {
			r, err := reduce(it)
			if err != nil {
				return nil, err
			}
			v.items = append(v.items, r)
		}
		return v, nil
	case *ast.CommentGroupNode:
		return &value{kind: kindNull, pos: pos}, nil
	}
	return nil, &Error{Pos: pos, Msg: unsupported}
}

func reduceMap(pos Pos, pairs []*ast.MappingValueNode) (*value, *Error) {
	v := &value{kind: kindMap, pos: pos}
	for _, p := range pairs {
		if _, ok := p.Key.(*ast.MergeKeyNode); ok {
			return nil, &Error{Pos: tokenPos(p.Key.GetToken()), Msg: unsupported}
		}
		k, err := reduce(p.Key)
		if err != nil {
			return nil, err
		}
		if k.kind != kindScalar {
			return nil, &Error{Pos: k.pos, Msg: "a key must be a plain word"}
		}
		if p.Value == nil {
			v.pairs = append(v.pairs, pair{k, &value{kind: kindNull, pos: k.pos}})
			continue
		}
		val, err := reduce(p.Value)
		if err != nil {
			return nil, err
		}
		v.pairs = append(v.pairs, pair{k, val})
	}
	return v, nil
}

func sortErrors(es Errors) {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Col < es[j].Col
	})
}
