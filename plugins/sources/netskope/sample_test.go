package netskope_test

import (
	"reflect"
	"testing"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/plugins/destinations/stdout"
	"github.com/logshipper/logshipper/plugins/sources/netskope"
)

// registry holds the plugins sample.yaml uses. (plugins/all lists every built-in plugin; this
// test does not depend on it, so it runs whether or not the plugin is listed there yet.)
func registry(t *testing.T) *plugin.Registry {
	t.Helper()
	r, err := plugin.NewRegistry(netskope.Factory(), stdout.Factory())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The sample configuration is valid, and the option values it calls defaults are the defaults.
func TestSampleConfig(t *testing.T) {
	cfg := plugintest.CheckSampleConfig(t, "sample.yaml", registry(t))
	p, ok := cfg.Plugin("netskope-acme")
	if !ok {
		t.Fatal("sample.yaml has no plugin netskope-acme")
	}
	got := *p.Options.(*netskope.Config)
	if got.Tenant != "http://127.0.0.1:4568" || got.APIToken.Value() != "cloudsim-demo-token" {
		t.Errorf("tenant %q token %v: the cloudsim defaults", got.Tenant, got.APIToken)
	}
	want := *netskope.NewConfig().(*netskope.Config)
	want.Tenant, want.APIToken = got.Tenant, got.APIToken
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sample options %+v differ from the defaults %+v", got, want)
	}
}

func TestREADMEDocumentsEveryOption(t *testing.T) {
	plugintest.CheckDocumentedOptions(t, "README.md", netskope.NewConfig())
}
