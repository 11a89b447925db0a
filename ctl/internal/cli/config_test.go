package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const example = "../../../Documentation/popcornd/popcorn.yaml"

func TestConfigCheck(t *testing.T) {
	out, err := run("config", "check", example)
	if err != nil || out != example+": ok, 3 nodes\n" {
		t.Fatalf("good file: %q %v", out, err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nself: {id: 0}\nnodes: [{id: 0, name: a}]\n"), 0o644)
	_, err = run("config", "check", bad)
	if err == nil || err.Error() != bad+":3:10: nodes[0]: give shm, tcp or both: how this node is reached" {
		t.Fatalf("bad file: %v", err)
	}
	out, err = run("-o", "json", "config", "check", bad)
	var got struct {
		Errors []struct {
			Line, Col int
			Msg       string
		}
	}
	if !IsQuiet(err) || json.Unmarshal([]byte(out), &got) != nil || len(got.Errors) != 1 || got.Errors[0].Line != 3 {
		t.Fatalf("bad file as json: %q %v", out, err)
	}
}

// config apply checks the file before it asks for the kernel.
func TestConfigApplyBadFileFirst(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, nil, 0o644)
	if _, err := run("config", "apply", "--dry-run", bad); err == nil || !strings.Contains(err.Error(), "the file is empty") {
		t.Fatalf("empty file: %v", err)
	}
}

func TestVersion(t *testing.T) {
	out, err := run("version")
	if err != nil || !strings.HasPrefix(out, "popcornctl ") || !strings.Contains(out, "(popcorn_msg not loaded)") {
		t.Fatalf("%q %v", out, err)
	}
	out, err = run("-o", "json", "version")
	var v versions
	if err != nil || json.Unmarshal([]byte(out), &v) != nil || v.Family != 1 || v.Kernel != 0 {
		t.Fatalf("json %q %v", out, err)
	}
}

// Every command of the tree gets its man page.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	if _, err := run("man", dir); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"popcornctl.8", "popcornctl-config-check.8", "popcornctl-status.8", "popcornctl-completion-bash.8"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil || !strings.Contains(string(b), ".SH NAME") {
			t.Errorf("%s: %v", page, err)
		}
	}
}
