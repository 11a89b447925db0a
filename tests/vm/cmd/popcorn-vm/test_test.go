package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/popcorn-kernel/popcorn/tests/vm"
)

func suites(names ...string) []vm.Suite {
	var s []vm.Suite
	for _, n := range names {
		s = append(s, vm.Suite{Name: n, Guests: 1, Script: n + ".sh"})
	}
	return s
}

func names(s []vm.Suite) string {
	var n []string
	for _, v := range s {
		n = append(n, v.Name)
	}
	return strings.Join(n, " ")
}

func TestSelectSuites(t *testing.T) {
	all := suites("ring2", "msg2", "net")
	if sel, err := selectSuites(all, nil); err != nil || names(sel) != "ring2 msg2 net" {
		t.Fatalf("no selection: %q %v", names(sel), err)
	}
	// The manifest's order, not the command line's.
	if sel, err := selectSuites(all, []string{"net", "ring2"}); err != nil || names(sel) != "ring2 net" {
		t.Fatalf("selection: %q %v", names(sel), err)
	}
	for _, only := range [][]string{{"nett"}, {"net", "bogus"}, {""}} {
		_, err := selectSuites(all, only)
		if err == nil {
			t.Errorf("%q accepted", only)
			continue
		}
		bad := only[len(only)-1]
		if !strings.Contains(err.Error(), `unknown suite "`+bad+`"`) {
			t.Errorf("%q: error %q does not name the unknown suite", only, err)
		}
	}
}

func TestRunSuitesStopsWhenInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ran []string
	var out bytes.Buffer
	// Ctrl-C arrives while the first suite runs: it fails, nothing else starts.
	err := runSuites(ctx, &out, []vm.Kernel{{Release: "6.1.0-56-cloud-amd64"}}, suites("a", "b", "c"),
		func(ctx context.Context, k vm.Kernel, s vm.Suite, w io.Writer) error {
			ran = append(ran, s.Name)
			cancel()
			return ctx.Err()
		})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want interrupted", err)
	}
	if strings.Join(ran, " ") != "a" {
		t.Fatalf("ran %v after the interrupt", ran)
	}
	if !strings.Contains(out.String(), "not ok 1 6.1/a") || strings.Contains(out.String(), "6.1/b") {
		t.Fatalf("report:\n%s", out.String())
	}
}

func TestRunSuitesReport(t *testing.T) {
	var out bytes.Buffer
	ks := []vm.Kernel{{Release: "6.1.0-56-cloud-amd64"}, {Release: "6.12.117+deb12-cloud-amd64"}}
	err := runSuites(context.Background(), &out, ks, suites("a", "b"),
		func(ctx context.Context, k vm.Kernel, s vm.Suite, w io.Writer) error {
			io.WriteString(w, "1..1\n")
			if k.Series() == "6.12" && s.Name == "b" {
				return errors.New("failed")
			}
			return nil
		})
	if err == nil || !strings.Contains(err.Error(), "1 of 4") {
		t.Fatalf("error %v, want 1 of 4 failed", err)
	}
	for _, want := range []string{"1..4\n", "ok 1 6.1/a", "ok 3 6.12/a", "not ok 4 6.12/b", "    1..1\n", "pass:3 fail:1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
