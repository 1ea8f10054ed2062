package cloudwatch_test

import (
	"reflect"
	"testing"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/plugins/destinations/stdout"
	"github.com/logshipper/logshipper/plugins/sources/cloudwatch"
)

func registry(t *testing.T) *plugin.Registry {
	t.Helper()
	r, err := plugin.NewRegistry(cloudwatch.Factory(), stdout.Factory())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The sample configuration is valid, and the values it calls defaults are the defaults.
func TestSampleConfig(t *testing.T) {
	cfg := plugintest.CheckSampleConfig(t, "sample.yaml", registry(t))
	p, ok := cfg.Plugin("cloudtrail-cwl")
	if !ok {
		t.Fatal("sample.yaml has no plugin cloudtrail-cwl")
	}
	got := *p.Options.(*cloudwatch.Config)
	want := *cloudwatch.NewConfig().(*cloudwatch.Config)
	want.AWS.AccessKeyID, want.AWS.SecretAccessKey, want.AWS.Endpoint = got.AWS.AccessKeyID, got.AWS.SecretAccessKey, got.AWS.Endpoint
	want.Regions, want.OtherRegions, want.LogGroup = got.Regions, got.OtherRegions, got.LogGroup
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sample options\n%+v\ndiffer from the defaults\n%+v", got, want)
	}
}

func TestREADMEDocumentsEveryOption(t *testing.T) {
	plugintest.CheckDocumentedOptions(t, "README.md", cloudwatch.NewConfig())
	plugintest.CheckDocumentedOptions(t, "README.md", &awsauth.Config{})
}
