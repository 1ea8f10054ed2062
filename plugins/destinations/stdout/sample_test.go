package stdout_test

import (
	"testing"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/plugins/all"
	"github.com/logshipper/logshipper/plugins/destinations/stdout"
)

func TestSampleConfig(t *testing.T) {
	cfg := plugintest.CheckSampleConfig(t, "sample.yaml", all.Registry())
	p, ok := cfg.Plugin("console")
	if !ok {
		t.Fatal("sample.yaml has no plugin console")
	}
	if got := p.Options.(*stdout.Config).Stream; got != "stdout" {
		t.Fatalf("sample stream %q", got)
	}
}

func TestREADMEDocumentsEveryOption(t *testing.T) {
	plugintest.CheckDocumentedOptions(t, "README.md", stdout.NewConfig())
}
