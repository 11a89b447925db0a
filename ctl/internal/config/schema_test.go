package config

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const schemaFile = "../../../Documentation/popcornd/popcorn.schema.json"

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func schemaValidate(s *jsonschema.Schema, src string) error {
	j, err := yaml.YAMLToJSON([]byte(src))
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

// The shipped schema accepts what Parse accepts, and rejects the mistakes
// a schema can see.
func TestSchemaAgrees(t *testing.T) {
	s := compileSchema(t)
	ex, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{"example": string(ex), "small": small,
		"tcp": "version: 1\nself: {id: 3}\nnodes:\n  - {id: 3, name: x, tcp: \"192.0.2.1:7600\", shm: {peer: 2}, prefer: tcp}\n"} {
		if _, err := Parse("f", []byte(src)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := schemaValidate(s, src); err != nil {
			t.Errorf("%s: the schema rejects a good file: %v", name, err)
		}
	}
	for name, src := range map[string]string{
		"unknown key":    small + "nodez: []\n",
		"version":        strings.Replace(small, "version: 1", "version: 2", 1),
		"missing nodes":  "version: 1\nself: {id: 0}\n",
		"id range":       small + "  - {id: 64, name: c, shm: {peer: 2}}\n",
		"peer range":     small + "  - {id: 2, name: c, shm: {peer: 8}}\n",
		"no endpoint":    small + "  - {id: 2, name: c}\n",
		"self both":      strings.Replace(small, "{id: 0}", "{id: 0, from_window: true}", 1),
		"self none":      strings.Replace(small, "{id: 0}", "{}", 1),
		"bad name":       small + "  - {id: 2, name: C_1, shm: {peer: 2}}\n",
		"bad address":    small + "service: {address: 10.99.0.300, owner: 0}\nsnapbean: {subnet: 10.97.0.0/24, gateway: 10.97.0.254}\n",
		"mtu":            small + "snapbean: {subnet: 10.97.0.0/24, gateway: 10.97.0.254, mtu: 40}\n",
		"prefer unknown": small + "  - {id: 2, name: c, shm: {peer: 2}, prefer: udp}\n",
	} {
		if _, err := Parse("f", []byte(src)); err == nil {
			t.Fatalf("%s: Parse accepts it", name)
		}
		if err := schemaValidate(s, src); err == nil {
			t.Errorf("%s: the schema accepts a bad file", name)
		}
	}
}
