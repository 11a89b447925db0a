package daemon

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/popcorn-kernel/popcorn/ctl/internal/config"
	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
)

const good = `version: 1
self: {id: 0}
nodes:
  - {id: 0, name: a, shm: {peer: 0}}
  - {id: 1, name: b, shm: {peer: 1}}
`

func newTest(t *testing.T, src string) (*Daemon, string, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "popcorn.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{File: file, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Dial:   func() (*pcnl.Client, error) { return nil, pcnl.ErrNotLoaded },
		Resync: time.Hour})
	return d, file, err
}

func TestBadFileNoDaemon(t *testing.T) {
	_, _, err := newTest(t, "version: 1\n")
	if es, ok := config.AsErrors(err); !ok || len(es) != 2 {
		t.Fatalf("got %v, want the two missing keys", err)
	}
}

// Without the module, a reconcile fails, is counted, and /healthz says why.
func TestNotLoaded(t *testing.T) {
	d, _, err := newTest(t, good)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.reconcile(); err == nil {
		t.Fatal("reconciled without a kernel")
	}
	if got := testutil.ToFloat64(d.m.failures); got != 1 {
		t.Errorf("failures %v, want 1", got)
	}
	rec := httptest.NewRecorder()
	d.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "popcorn_msg is not loaded") {
		t.Errorf("/healthz %d %q", rec.Code, rec.Body.String())
	}
}

// A bad file on SIGHUP is refused; the one in force stays.
func TestReloadKeepsGoodFile(t *testing.T) {
	d, file, err := newTest(t, good)
	if err != nil {
		t.Fatal(err)
	}
	before := d.cfg
	if err := os.WriteFile(file, []byte("version: 1\nnodes: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.loadFile()
	if d.cfg != before || testutil.ToFloat64(d.m.loadErrors) != 1 {
		t.Fatal("a bad file replaced the good one")
	}
	if err := os.WriteFile(file, []byte(strings.Replace(good, "name: b", "name: c", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	d.loadFile()
	if n, _ := d.cfg.Node(1); n.Name != "c" {
		t.Fatal("a good file was not taken")
	}
}

// Run stops on its context, telling the service manager it is ready and
// then stopping.
func TestRunNotifies(t *testing.T) {
	d, _, err := newTest(t, good)
	if err != nil {
		t.Fatal(err)
	}
	states := make(chan string, 16)
	d.o.Notify = func(s string) { states <- s }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	if s := <-states; !strings.HasPrefix(s, "READY=1\nSTATUS=not in line") {
		t.Errorf("first state %q", s)
	}
	cancel()
	<-done
	if s := <-states; s != "STOPPING=1" {
		t.Errorf("last state %q", s)
	}
}

// What /metrics serves passes promtool's lint.
func TestMetricsLint(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("no promtool (.ci/setup installs it)")
	}
	d, _, err := newTest(t, good)
	if err != nil {
		t.Fatal(err)
	}
	d.reconcile()
	d.m.rtt.WithLabelValues("1").Observe(0.0002)
	rec := httptest.NewRecorder()
	d.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(rec.Body.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool: %v\n%s", err, out)
	}
	for _, want := range []string{"popcorn_kernel_loaded 0", "popcorn_reconcile_failures_total 1", `popcorn_node_rtt_seconds_count{node="1"} 1`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("no %q in /metrics", want)
		}
	}
}
