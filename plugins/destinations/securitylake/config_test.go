package securitylake_test

import (
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/plugins/all"
	"github.com/logshipper/logshipper/plugins/destinations/securitylake"
)

// The sample configuration is valid and holds the Security Lake destination.
func TestSampleConfig(t *testing.T) {
	cfg := plugintest.CheckSampleConfig(t, "sample.yaml", all.Registry())
	p, ok := cfg.Plugin("lake")
	if !ok {
		t.Fatal("sample.yaml has no plugin lake")
	}
	if _, ok := p.Options.(*securitylake.Config); !ok {
		t.Fatalf("plugin lake has options %T", p.Options)
	}
}

func TestREADMEDocumentsEveryOption(t *testing.T) {
	plugintest.CheckDocumentedOptions(t, "README.md", securitylake.NewConfig())
}

// Validate names each wrong key.
func TestValidate(t *testing.T) {
	valid := func() *securitylake.Config {
		c := securitylake.NewConfig().(*securitylake.Config)
		c.Bucket, c.SourceName, c.AWS.Region = "aws-security-data-lake-us-east-1-x1", "logshipper", "us-east-1"
		return c
	}
	if err := valid().Validate(); err != nil {
		t.Fatalf("a valid configuration: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(*securitylake.Config)
		want   string
	}{
		{"no bucket", func(c *securitylake.Config) { c.Bucket = "" }, "bucket: missing"},
		{"bad bucket", func(c *securitylake.Config) { c.Bucket = "Bad_Bucket" }, "bucket:"},
		{"no region", func(c *securitylake.Config) { c.AWS.Region = "" }, "region: missing"},
		{"no source", func(c *securitylake.Config) { c.SourceName = "" }, "source_name: missing"},
		{"bad source", func(c *securitylake.Config) { c.SourceName = "a/b" }, "source_name:"},
		{"bad version", func(c *securitylake.Config) { c.SourceVersion = "1 0" }, "source_version:"},
		{"bad class source", func(c *securitylake.Config) { c.ClassSources = map[int]string{3002: "a b"} }, "class_sources:"},
		{"bad class", func(c *securitylake.Config) { c.ClassSources = map[int]string{0: "x"} }, "class_sources: 0"},
		{"prefix without slash", func(c *securitylake.Config) { c.Prefix = "ext" }, "prefix:"},
		{"prefix from root", func(c *securitylake.Config) { c.Prefix = "/ext/" }, "prefix:"},
		{"no account at all", func(c *securitylake.Config) { c.AccountFromRecord = false }, "account_id: missing"},
		{"bad account", func(c *securitylake.Config) { c.AccountID = "12 34" }, "account_id:"},
		{"small part", func(c *securitylake.Config) { c.PartSize = 1 << 20 }, "part_size:"},
		{"file below part", func(c *securitylake.Config) { c.MaxFileSize = 1 << 20 }, "max_file_size:"},
		{"too many parts", func(c *securitylake.Config) { c.PartSize, c.MaxFileSize = 5<<20, 60<<30 }, "max_file_size:"},
		{"small row group", func(c *securitylake.Config) { c.RowGroupSize = 1 }, "row_group_size:"},
		{"age", func(c *securitylake.Config) { c.MaxFileAge = 48 * time.Hour }, "max_file_age:"},
		{"idle", func(c *securitylake.Config) { c.MaxFileIdle = 0 }, "max_file_idle:"},
		{"idle past age", func(c *securitylake.Config) { c.MaxFileIdle = 10 * time.Minute }, "max_file_idle:"},
		{"open files", func(c *securitylake.Config) { c.MaxOpenFiles = 0 }, "max_open_files:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.change(c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate: %v, want an error with %q", err, tc.want)
			}
		})
	}
}
