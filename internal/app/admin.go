package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/logshipper/logshipper/internal/cluster"
)

// serveAdmin serves /metrics, /healthz and /readyz on addr, and /debug/pprof/ when asked,
// until stop is called.
func (a *App) serveAdmin(addr string, withPProf bool) (stop func(), err error) {
	mux := http.NewServeMux()
	paths := "/metrics /healthz /readyz"
	if withPProf {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
		paths += " /debug/pprof/"
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin: listen on %s: %w (set admin.listen to another address, or to \"\" to turn it off)", addr, err)
	}
	srv := adminServer(mux, a.log)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("admin server stopped", "error", err)
		}
	}()
	a.log.Info("admin endpoints serving", "address", ln.Addr().String(), "paths", paths)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// readyz answers 200 when every plugin configuration runs (and, in cluster mode, the member
// reaches the cluster), else 503 with what is not ready.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	var cl clusterStatuser
	if a.cluster != nil {
		cl = a.cluster
	}
	code, body := readiness(r.Context(), a.status(), cl)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// clusterStatuser is what /readyz asks of the cluster.
type clusterStatuser interface {
	Status(ctx context.Context) (cluster.Status, error)
}

var _ clusterStatuser = (*cluster.Cluster)(nil)

// readyzClusterTimeout bounds /readyz's read of the cluster's members and leases.
const readyzClusterTimeout = 2 * time.Second

// readiness is /readyz's answer from the engine's status of each plugin configuration and, in
// cluster mode (cl not nil), the cluster's: "cluster": "connected" with this member's node and
// the partitions it holds, or "disconnected" (not ready) when the members and leases cannot be
// read.
func readiness(ctx context.Context, engine map[string]string, cl clusterStatuser) (int, map[string]any) {
	notReady := map[string]string{}
	for name, s := range engine {
		if s != "" && s != "finished" {
			notReady[name] = s
		}
	}
	body := map[string]any{}
	if cl != nil {
		ctx, cancel := context.WithTimeout(ctx, readyzClusterTimeout)
		st, err := cl.Status(ctx)
		cancel()
		if err != nil {
			body["cluster"] = "disconnected"
			notReady["cluster"] = "disconnected: " + err.Error()
		} else {
			body["cluster"] = "connected"
			body["node"] = st.Node
			body["members"] = len(st.Members)
			// The partitions this member reads, with their lag when their source reported
			// progress (as `cluster status` shows it).
			type owned struct {
				Plugin    string   `json:"plugin"`
				Partition string   `json:"partition"`
				Lag       *float64 `json:"lag_seconds,omitempty"`
			}
			parts := []owned{}
			now := time.Now()
			for _, l := range st.Leases {
				if l.Owner != st.Node {
					continue
				}
				o := owned{Plugin: l.Plugin, Partition: l.Partition}
				if !l.Progress.IsZero() {
					lag := now.Sub(l.Progress).Round(time.Second).Seconds()
					o.Lag = &lag
				}
				parts = append(parts, o)
			}
			body["partitions_owned"] = len(parts)
			body["partitions"] = parts
		}
	}
	body["ready"] = len(notReady) == 0
	body["not_ready"] = notReady
	code := http.StatusOK
	if len(notReady) > 0 {
		code = http.StatusServiceUnavailable
	}
	return code, body
}

// adminServer is the admin endpoints' server. net/http's own complaints (an accept error, a
// handler's panic) go to the structured log like every other line, not to stderr as plain text.
func adminServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: slog.NewLogLogger(log.With("component", "admin").Handler(), slog.LevelWarn)}
}
