package awss3sqs_test

import (
	"reflect"
	"testing"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/plugins/destinations/stdout"
	"github.com/logshipper/logshipper/plugins/sources/awss3sqs"
)

// The sample configuration is valid, and the values it calls defaults are the defaults.
func TestSampleConfig(t *testing.T) {
	r, err := plugin.NewRegistry(awss3sqs.Factory(), stdout.Factory())
	if err != nil {
		t.Fatal(err)
	}
	cfg := plugintest.CheckSampleConfig(t, "sample.yaml", r)
	p, ok := cfg.Plugin("cloudtrail-s3")
	if !ok {
		t.Fatal("sample.yaml has no plugin cloudtrail-s3")
	}
	got := *p.Options.(*awss3sqs.Config)
	want := *awss3sqs.NewConfig().(*awss3sqs.Config)
	want.AWS.AccessKeyID, want.AWS.SecretAccessKey, want.AWS.Endpoint, want.AWS.Region = got.AWS.AccessKeyID, got.AWS.SecretAccessKey, got.AWS.Endpoint, got.AWS.Region
	want.QueueURL = got.QueueURL
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sample options\n%+v\ndiffer from the defaults\n%+v", got, want)
	}
}

func TestREADMEDocumentsEveryOption(t *testing.T) {
	plugintest.CheckDocumentedOptions(t, "README.md", awss3sqs.NewConfig())
	plugintest.CheckDocumentedOptions(t, "README.md", &awsauth.Config{})
}
