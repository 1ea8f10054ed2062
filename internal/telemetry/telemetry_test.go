package telemetry

import (
	"bytes"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestLogConfigValidate(t *testing.T) {
	tests := []struct {
		cfg  LogConfig
		want string
	}{
		{LogConfig{"info", "text"}, ""},
		{LogConfig{"debug", "json"}, ""},
		{LogConfig{"WARN", "text"}, ""},
		{LogConfig{"loud", "text"}, `level: "loud" is not one of`},
		{LogConfig{"info", "xml"}, `format: "xml" is not one of text, json`},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestNewLogger(t *testing.T) {
	var b bytes.Buffer
	NewLogger(&b, LogConfig{Level: "warn", Format: "json"}).With("plugin", "lake").Info("hidden")
	NewLogger(&b, LogConfig{Level: "warn", Format: "json"}).With("plugin", "lake").Warn("shown")
	if s := b.String(); strings.Contains(s, "hidden") || !strings.Contains(s, `"plugin":"lake"`) || !strings.Contains(s, `"msg":"shown"`) {
		t.Fatalf("log output %q", s)
	}
}

// Every plugin's series share one naming scheme, distinguished by the plugin label.
func TestMetricsSchemeAndCounts(t *testing.T) {
	m := NewMetrics("v1")
	src, dst := m.Plugin("tenant-a"), m.Plugin("lake")
	src.Received.Add(10)
	dst.Received.Add(8)
	dst.Sent.Add(7)
	dst.Dropped("refused", 1)
	dst.Dropped("filtered", 2)
	dst.Up("destination", true)
	src.PartitionLag.WithLabelValues("alerts/dlp").Set(3)
	src.PartitionLag.WithLabelValues("events/page").Set(5)
	src.PartitionMoves.WithLabelValues("acquired").Add(3)
	src.PartitionMoves.WithLabelValues("handed_over").Inc()
	src.PartitionsOwned().Set(2)
	if v := testutil.ToFloat64(dst.DroppedCounter("refused")); v != 1 {
		t.Fatalf("refused = %v", v)
	}
	c, err := m.Counts()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		metric, key string
		want        float64
	}{
		{"logshipper_records_received_total", "tenant-a", 10},
		{"logshipper_records_received_total", "lake", 8},
		{"logshipper_records_sent_total", "lake", 7},
		{"logshipper_records_dropped_total", "lake/refused", 1},
		{"logshipper_records_dropped_total", "lake/filtered", 2},
		{"logshipper_plugin_up", "lake", 1},
		{"logshipper_partition_lag_seconds", "tenant-a/alerts/dlp", 3},
		{"logshipper_partition_lag_seconds", "tenant-a/events/page", 5},
		{"logshipper_partition_moves_total", "tenant-a/acquired", 3},
		{"logshipper_partition_moves_total", "tenant-a/handed_over", 1},
		{"logshipper_partitions_owned", "tenant-a", 2},
	} {
		if got := c[tc.metric][tc.key]; got != tc.want {
			t.Errorf("%s[%s] = %v, want %v", tc.metric, tc.key, got, tc.want)
		}
	}
	// Only the instance that holds partitions has an owned gauge.
	if _, ok := c["logshipper_partitions_owned"]["lake"]; ok {
		t.Errorf("lake, which reads no partitions, has a logshipper_partitions_owned series")
	}
	n, err := testutil.GatherAndCount(m.Registry, "logshipper_build_info")
	if err != nil || n != 1 {
		t.Fatalf("build info: %d %v", n, err)
	}
}

// A cluster member's series carry its node; a single process's carry no node label.
func TestNodeLabel(t *testing.T) {
	tests := []struct {
		node string
		want string // the node label on every series; "" for none
	}{
		{node: "", want: ""},
		{node: "ls-2", want: "ls-2"},
	}
	for _, tt := range tests {
		t.Run("node="+tt.node, func(t *testing.T) {
			m := NewNodeMetrics("v1", tt.node)
			m.Plugin("lake").Sent.Add(2)
			m.Plugin("in").PartitionMoves.WithLabelValues("acquired").Inc()
			m.Plugin("in").PartitionsOwned().Inc()
			fams, err := m.Registry.Gather()
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, f := range fams {
				for _, mt := range f.GetMetric() {
					got := ""
					for _, l := range mt.GetLabel() {
						if l.GetName() == "node" {
							got = l.GetValue()
						}
					}
					if got != tt.want {
						t.Errorf("%s: node label %q; want %q", f.GetName(), got, tt.want)
					}
					seen[f.GetName()] = true
				}
			}
			for _, name := range []string{"logshipper_records_sent_total", "logshipper_partition_moves_total", "logshipper_partitions_owned", "logshipper_build_info", "go_goroutines"} {
				if !seen[name] {
					t.Errorf("no series %s", name)
				}
			}
			c, err := m.Counts()
			if err != nil || c["logshipper_records_sent_total"]["lake"] != 2 {
				t.Errorf("Counts = %v, %v; want lake sent 2", c["logshipper_records_sent_total"], err)
			}
		})
	}
}
