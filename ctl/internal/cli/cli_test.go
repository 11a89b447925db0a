package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"

	"github.com/popcorn-kernel/popcorn/api"
	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
)

func TestSummarize(t *testing.T) {
	var samples []time.Duration
	for i := 100; i >= 1; i-- {
		samples = append(samples, time.Duration(i)*time.Microsecond)
	}
	s := summarize(3, 64, true, samples)
	if s.MinUs != 1 || s.MaxUs != 100 || s.P50Us != 50 || s.P99Us != 99 || s.Count != 100 {
		t.Fatalf("summary %+v", s)
	}
	if s.Samples[0] != 100_000 {
		t.Fatalf("samples reordered: %v", s.Samples[:3])
	}
	if one := summarize(1, 0, false, []time.Duration{7 * time.Microsecond}); one.P99Us != 7 || one.P50Us != 7 {
		t.Fatalf("one sample %+v", one)
	}
	if empty := summarize(1, 0, false, nil); empty.Count != 0 {
		t.Fatalf("no samples %+v", empty)
	}
}

// run executes popcornctl with args; dial fails so no kernel is needed.
func run(args ...string) (string, error) {
	cmd := NewRootCmd(func() (*pcnl.Client, error) { return nil, pcnl.ErrNotLoaded })
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestBadArgumentsNeverReachTheKernel(t *testing.T) {
	for _, args := range [][]string{
		{"node", "add", "64", "--self"},
		{"node", "add", "x", "--self"},
		{"node", "add", "1"},
		{"node", "add", "1", "--self", "--transport", "shm"},
		{"node", "add", "1", "--transport", "shm"},
		{"ping", "1", "-c", "0"},
		{"ping", "1", "-s", "-1"},
		{"ping", "1", "-s", "4194305"},
		{"bench", "1", "--count", "0"},
		{"-o", "yaml", "node", "list"},
	} {
		_, err := run(args...)
		if err == nil || err == pcnl.ErrNotLoaded {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

func TestMissingModuleIsAClearError(t *testing.T) {
	_, err := run("node", "list")
	if err != pcnl.ErrNotLoaded || !strings.Contains(err.Error(), "insmod popcorn_msg.ko") {
		t.Fatalf("error %v", err)
	}
}

func TestPrintJSON(t *testing.T) {
	o := &options{output: "json"}
	var out bytes.Buffer
	if err := o.print(&out, []pcnl.Node{{ID: 1, Up: true}}, nil); err != nil {
		t.Fatal(err)
	}
	var nodes []pcnl.Node
	if err := json.Unmarshal(out.Bytes(), &nodes); err != nil || len(nodes) != 1 || !nodes[0].Up {
		t.Fatalf("json %q: %v", out.String(), err)
	}
}

// The command's context reaches the client: with it cancelled (Ctrl-C
// before the request went out), ping and bench send nothing.
func TestPingAndBenchTakeTheCommandContext(t *testing.T) {
	family := genetlink.Family{ID: 33, Name: api.FamilyName, Version: api.FamilyVersion}
	dial := func() (*pcnl.Client, error) {
		return pcnl.New(genltest.Dial(genltest.ServeFamily(family,
			func(req genetlink.Message, _ netlink.Message) ([]genetlink.Message, error) {
				t.Errorf("command %d sent", req.Header.Command)
				return nil, nil
			})))
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, args := range [][]string{{"ping", "1", "-c", "5"}, {"bench", "1"}} {
		cmd := NewRootCmd(dial)
		cmd.SetArgs(args)
		cmd.SetOut(&bytes.Buffer{})
		if err := cmd.ExecuteContext(ctx); !errors.Is(err, pcnl.ErrInterrupted) {
			t.Errorf("%v: %v, want interrupted", args, err)
		}
	}
}
