package loadrun

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestSourceOptionLines(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []sourceOption
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "lag=5s", want: []sourceOption{{"lag", "5s"}}},
		{in: " lag = 5s , poll_interval=1s,", want: []sourceOption{{"lag", "5s"}, {"poll_interval", "1s"}}},
		{in: "page_size=1000", want: []sourceOption{{"page_size", "1000"}}},
		{in: "lag", wantErr: true},
		{in: "lag=", wantErr: true},
		{in: "Lag=5s", wantErr: true},
		{in: "lag: 5s", wantErr: true},
		{in: "a b=1", wantErr: true},
	} {
		got, err := sourceOptionLines(tc.in)
		if (err != nil) != tc.wantErr || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("sourceOptionLines(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestWithOptionsReplacesInPlace(t *testing.T) {
	base := []sourceOption{{"lag", "1s"}, {"overlap", "2m"}}
	got := withOptions(base, []sourceOption{{"overlap", "5m"}, {"page_size", "100"}})
	want := []sourceOption{{"lag", "1s"}, {"overlap", "5m"}, {"page_size", "100"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("withOptions = %v, want %v", got, want)
	}
	if base[1].value != "2m" {
		t.Errorf("withOptions changed its input: %v", base)
	}
}

// A plain run's configuration has each -source-opts key once, in place of the run's own.
func TestPlainConfigTakesSourceOptions(t *testing.T) {
	o := Options{Records: 10, Seed: 1, TrailSamples: "../cloudtrailrecord/testdata/panther-rule-tests.ndjson",
		SourceOptions: "lag=30s,page_size=500"}
	j, err := newCloudTrail(context.Background(), o, Plain, func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	cfg := string(j.config("/tmp/x", ""))
	if strings.Count(cfg, "lag:") != 1 || !strings.Contains(cfg, "    lag: 30s\n") || !strings.Contains(cfg, "    page_size: 500\n") ||
		!strings.Contains(cfg, "    poll_interval: 1s\n") {
		t.Errorf("configuration:\n%s", cfg)
	}
}
