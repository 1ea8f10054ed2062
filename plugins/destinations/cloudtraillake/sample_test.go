package cloudtraillake_test

import (
	"testing"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/plugins/all"
	"github.com/logshipper/logshipper/plugins/destinations/cloudtraillake"
)

// The sample configuration is valid and holds the lake destination.
func TestSampleConfig(t *testing.T) {
	cfg := plugintest.CheckSampleConfig(t, "sample.yaml", all.Registry())
	p, ok := cfg.Plugin("lake")
	if !ok {
		t.Fatal("sample.yaml has no plugin lake")
	}
	if _, ok := p.Options.(*cloudtraillake.Config); !ok {
		t.Fatalf("plugin lake has options %T", p.Options)
	}
}

func TestREADMEDocumentsEveryOption(t *testing.T) {
	plugintest.CheckDocumentedOptions(t, "README.md", cloudtraillake.NewConfig())
}
