package daemon

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves /metrics and /healthz: 200 while the kernel is in line
// with the file, 503 with the reason otherwise.
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(d.m.reg, promhttp.HandlerOpts{ErrorLog: nil}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if err := d.Health(); err != nil {
			http.Error(w, "not in line with the file: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// Server is an HTTP server for Handler on addr.
func (d *Daemon) Server(addr string) *http.Server {
	return &http.Server{Addr: addr, Handler: d.Handler(), ReadHeaderTimeout: 5 * time.Second}
}

// Notifier sends sd_notify(3) states to the socket systemd names in
// NOTIFY_SOCKET; without one it does nothing.
func Notifier() func(string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return func(string) {}
	}
	if path[0] == '@' {
		path = "\x00" + path[1:]
	}
	addr := &net.UnixAddr{Name: path, Net: "unixgram"}
	return func(state string) {
		c, err := net.DialUnix("unixgram", nil, addr)
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte(state))
	}
}
