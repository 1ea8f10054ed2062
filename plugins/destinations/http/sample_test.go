package httpdest_test

import (
	"reflect"
	"testing"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/plugins/all"
	httpdest "github.com/logshipper/logshipper/plugins/destinations/http"
)

// The sample configuration is valid, and the plain http entry's options that it calls
// defaults are the defaults.
func TestSampleConfig(t *testing.T) {
	cfg := plugintest.CheckSampleConfig(t, "sample.yaml", all.Registry())
	p, ok := cfg.Plugin("siem-http")
	if !ok {
		t.Fatal("sample.yaml has no plugin siem-http")
	}
	got := *p.Options.(*httpdest.Config)
	want := *httpdest.NewConfig().(*httpdest.Config)
	want.URL, want.Token, want.Headers, want.TLS = got.URL, got.Token, got.Headers, got.TLS
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sample options\n%+v\ndiffer from the defaults\n%+v", got, want)
	}
	if _, ok := cfg.Plugin("splunk"); !ok {
		t.Fatal("sample.yaml has no plugin splunk")
	}
}

func TestREADMEDocumentsEveryOption(t *testing.T) {
	plugintest.CheckDocumentedOptions(t, "README.md", httpdest.NewConfig())
}
