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

// readyz answers 200 when every plugin configuration runs, else 503 with the ones that do not.
func (a *App) readyz(w http.ResponseWriter, _ *http.Request) {
	notReady := map[string]string{}
	for name, s := range a.engine.Status() {
		if s != "" && s != "finished" {
			notReady[name] = s
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if len(notReady) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ready": len(notReady) == 0, "not_ready": notReady})
}

// adminServer is the admin endpoints' server. net/http's own complaints (an accept error, a
// handler's panic) go to the structured log like every other line, not to stderr as plain text.
func adminServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: slog.NewLogLogger(log.With("component", "admin").Handler(), slog.LevelWarn)}
}
