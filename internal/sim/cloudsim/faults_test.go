package cloudsim

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/sim/awssim"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
	"github.com/logshipper/logshipper/internal/sim/lake"
	"github.com/logshipper/logshipper/internal/sim/netskope"
)

func loadYAML(t *testing.T, yaml string) (*Config, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return Load(p)
}

// Every fault key of the configuration reaches the running simulator.
func TestFaultKeys(t *testing.T) {
	c, err := loadYAML(t, `
netskope:
  faults: {throttle_rate: 0.25, server_error_rate: 0.1, slow_rate: 0.2, slow_delay: 300ms}
aws:
  logs:
    faults: {slow_rate: 0.3, slow_delay: 2s, cut_rate: 0.05, ops: [FilterLogEvents]}
  lake:
    faults: {slow_rate: 0.4, slow_delay: 1500ms, cut_rate: 0.15, latency: 1ms}
`)
	if err != nil {
		t.Fatal(err)
	}
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "127.0.0.1:0", ""
	s, err := Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"netskope", s.Netskope.Faults(), netskope.Faults{ThrottleRate: 0.25, ServerErrorRate: 0.1, SlowRate: 0.2, SlowDelay: 300 * time.Millisecond}},
		{"logs", s.Logs.Faults(), cwlogs.Faults{SlowRate: 0.3, SlowDelay: 2 * time.Second, CutRate: 0.05, Ops: []string{"FilterLogEvents"}}},
		{"lake", s.Lake.Faults(), lake.Faults{SlowRate: 0.4, SlowDelay: 1500 * time.Millisecond, CutRate: 0.15, Latency: time.Millisecond}},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s faults %+v, want %+v", tc.name, tc.got, tc.want)
		}
	}
}

// aws.lake.calls_per_second decodes and becomes the PutAuditEvents quota. The quota is checked
// before the body, so an empty body tells an admitted call (ValidationException) from a
// refused one (ThrottlingException) without depending on the machine's speed.
func TestLakeCallsPerSecond(t *testing.T) {
	for _, tc := range []struct {
		name      string
		yaml      string
		want      float64
		calls     int
		throttled int
	}{
		{"default", "aws: {lake: {duplicate_mode: dedupe}}\n", 0, 1, 0},
		{"one call per 1000 s", "aws: {lake: {calls_per_second: 0.001}}\n", 0.001, 3, 2},
		{"no limit", "aws: {lake: {calls_per_second: -1}}\n", -1, 300, 0},
		{"an integer", "aws: {lake: {calls_per_second: 250}}\n", 250, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadYAML(t, tc.yaml)
			if err != nil {
				t.Fatal(err)
			}
			if c.AWS.Lake.CallsPerSecond != tc.want {
				t.Fatalf("calls_per_second %v, want %v", c.AWS.Lake.CallsPerSecond, tc.want)
			}
			ls, err := newLake(c.AWS.Lake, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer ls.Close()
			caller := awssim.Caller{AccountID: "123456789012", Region: "us-east-1", Service: "cloudtrail-data"}
			throttled := 0
			for i := 0; i < tc.calls; i++ {
				req := httptest.NewRequest(http.MethodPost, "/PutAuditEvents?channelArn="+DemoChannelARN, strings.NewReader(`{}`))
				req = req.WithContext(awssim.WithCaller(req.Context(), caller))
				rec := httptest.NewRecorder()
				ls.DataHandler().ServeHTTP(rec, req)
				switch code := rec.Header().Get("X-Amzn-ErrorType"); code {
				case "ThrottlingException":
					throttled++
				case "ValidationException":
				default:
					t.Fatalf("call %d: %d %s %s", i, rec.Code, code, rec.Body)
				}
			}
			if throttled != tc.throttled {
				t.Fatalf("%d of %d calls throttled, want %d", throttled, tc.calls, tc.throttled)
			}
		})
	}
	if _, err := loadYAML(t, "aws: {lake: {calls_per_second: fast}}\n"); err == nil {
		t.Fatal("calls_per_second: fast loaded")
	}
}
