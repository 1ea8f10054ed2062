package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/cluster"
)

// net/http's own messages about the admin server reach the structured log, as a WARN line of
// the admin component.
func TestAdminServerLogsThroughSlog(t *testing.T) {
	var buf bytes.Buffer
	srv := adminServer(http.NewServeMux(), slog.New(slog.NewJSONHandler(&buf, nil)))
	srv.ErrorLog.Printf("http: Accept error: too many open files")
	out := buf.String()
	for _, want := range []string{`"level":"WARN"`, `"component":"admin"`, `"msg":"http: Accept error: too many open files"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log line %q lacks %s", out, want)
		}
	}
}

type fakeCluster struct {
	st  cluster.Status
	err error
}

func (f fakeCluster) Status(context.Context) (cluster.Status, error) { return f.st, f.err }

// /readyz: every plugin running, and in cluster mode the member reaching the cluster.
func TestReadiness(t *testing.T) {
	running := map[string]string{"in": "", "out": ""}
	st := cluster.Status{Node: "a", Members: []cluster.Member{{Node: "a"}, {Node: "b"}},
		Leases: []cluster.LeaseInfo{{Plugin: "in", Partition: "p1", Owner: "a", Progress: time.Now().Add(-90 * time.Second)},
			{Plugin: "in", Partition: "p3", Owner: "a"}, {Plugin: "in", Partition: "p2", Owner: "b"}}}
	tests := []struct {
		name     string
		engine   map[string]string
		cl       clusterStatuser
		code     int
		want     []string // in the JSON body
		wantNone []string // not in it
	}{
		{name: "single process", engine: running, code: 200, want: []string{`"ready":true`}, wantNone: []string{"cluster"}},
		{name: "a plugin down", engine: map[string]string{"in": "", "out": "stopped: boom"}, code: 503, want: []string{`"ready":false`, `"out":"stopped: boom"`}},
		{name: "cluster connected", engine: running, cl: fakeCluster{st: st}, code: 200,
			want: []string{`"ready":true`, `"cluster":"connected"`, `"node":"a"`, `"members":2`, `"partitions_owned":2`,
				`{"plugin":"in","partition":"p1","lag_seconds":90}`, `{"plugin":"in","partition":"p3"}`}, wantNone: []string{`"p2"`}},
		{name: "cluster disconnected", engine: running, cl: fakeCluster{err: errors.New("nats: no servers available")}, code: 503,
			want: []string{`"ready":false`, `"cluster":"disconnected"`, `"cluster":"disconnected: nats: no servers available"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := readiness(context.Background(), tt.engine, tt.cl)
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Errorf("code %d; want %d (%s)", code, tt.code, b)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("%s lacks %s", b, w)
				}
			}
			for _, w := range tt.wantNone {
				if strings.Contains(string(b), w) {
					t.Errorf("%s has %s", b, w)
				}
			}
		})
	}
}
