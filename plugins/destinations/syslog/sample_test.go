package syslog_test

import (
	"reflect"
	"testing"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/plugins/all"
	"github.com/logshipper/logshipper/plugins/destinations/syslog"
)

// The sample configuration is valid, and the option values it calls defaults are the defaults.
func TestSampleConfig(t *testing.T) {
	cfg := plugintest.CheckSampleConfig(t, "sample.yaml", all.Registry())
	p, ok := cfg.Plugin("siem")
	if !ok {
		t.Fatal("sample.yaml has no plugin siem")
	}
	got := *p.Options.(*syslog.Config)
	want := *syslog.NewConfig().(*syslog.Config)
	want.Address = got.Address
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sample options %+v differ from the defaults %+v", got, want)
	}
}

func TestREADMEDocumentsEveryOption(t *testing.T) {
	plugintest.CheckDocumentedOptions(t, "README.md", syslog.NewConfig())
}
