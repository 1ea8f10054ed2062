package awsauth_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugin"
	filesrc "github.com/logshipper/logshipper/plugins/sources/file"
)

// lakeConfig is how an AWS plugin embeds Config: inline, beside its own keys.
type lakeConfig struct {
	AWS        awsauth.Config `yaml:",inline"`
	ChannelARN string         `yaml:"channel_arn"`
}

func (c *lakeConfig) Validate() error {
	var p config.Problems
	if c.ChannelARN == "" {
		p.Addf("channel_arn: missing")
	}
	return p.Err()
}

func lakeRegistry(t *testing.T) *plugin.Registry {
	r, err := plugin.NewRegistry(filesrc.Factory(), plugin.Factory{
		Type: "lakefake", Kind: plugin.KindDestination, Summary: "test only",
		NewConfig: func() plugin.Config { return &lakeConfig{} },
		NewDestination: func(plugin.Config, plugin.Settings) (plugin.Destination, error) {
			return nil, errors.New("test only")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const loaderYAML = `plugins:
  - name: in
    type: file
    paths: [x]
  - name: lake
    type: lakefake
    channel_arn: arn:aws:cloudtrail:us-east-1:123456789012:channel/abc
%s
siem_mappings:
  - {source: in, destination: lake}
`

// The keys decode through the project's strict loader with interpolated secrets, and the
// problems carry the plugin's path.
func TestThroughConfigLoader(t *testing.T) {
	env := map[string]string{"KEY": "AKIAIOSFODNN7EXAMPLE", "SECRET": "s3cr3t/value", "PROXY_PW": "pr0xypw"}
	res := config.Resolver{Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }, Dir: t.TempDir()}
	good := `    access_key_id: ${KEY}
    secret_access_key: ${SECRET}
    assume_role_arn: arn:aws:iam::123456789012:role/lake-writer
    external_id: ext-1
    region: eu-west-1
    endpoint: http://127.0.0.1:4566
    proxy: http://shipper:${PROXY_PW}@proxy.corp:3128
    tls:
      insecure_skip_verify: false`
	cfg, err := config.Parse(fmt.Appendf(nil, loaderYAML, good), "test.yaml", lakeRegistry(t), res)
	if err != nil {
		t.Fatal(err)
	}
	var lc *lakeConfig
	for _, p := range cfg.Plugins {
		if p.Name == "lake" {
			lc = p.Options.(*lakeConfig)
		}
	}
	a := lc.AWS
	if a.AccessKeyID.Value() != "AKIAIOSFODNN7EXAMPLE" || a.SecretAccessKey.Value() != "s3cr3t/value" || a.ExternalID != "ext-1" ||
		a.Region != "eu-west-1" || a.Proxy.URL != "http://proxy.corp:3128" || a.Proxy.Username != "shipper" || a.Proxy.Password.Value() != "pr0xypw" {
		t.Fatalf("%+v", a)
	}
	// Credentials written in the proxy URL (the deprecated form of proxy.username and
	// proxy.password) are moved there, with a deprecation warning naming the plugin and the keys.
	warned := false
	for _, w := range cfg.Warnings {
		if strings.Contains(w, "plugins[1] (lake): proxy: deprecated") && strings.Contains(w, "proxy.username, proxy.password") {
			warned = true
		}
		if strings.Contains(w, "pr0xypw") {
			t.Errorf("the proxy password in a warning: %s", w)
		}
	}
	if !warned {
		t.Errorf("no deprecation warning for the credentials in the proxy URL: %q", cfg.Warnings)
	}

	bad := `    access_key_id: ${KEY}
    assume_role_arn: lake-writer
    proxy: ftp://proxy
    tls:
      ca_fle: x.pem`
	_, err = config.Parse(fmt.Appendf(nil, loaderYAML, bad), "test.yaml", lakeRegistry(t), res)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"ca_fle", `did you mean "ca_file"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("%s\nlacks %q", msg, want)
		}
	}
	bad = strings.Replace(bad, "ca_fle", "ca_file", 1)
	bad = strings.Replace(bad, "x.pem", "", 1)
	_, err = config.Parse(fmt.Appendf(nil, loaderYAML, bad), "test.yaml", lakeRegistry(t), res)
	if err == nil {
		t.Fatal("no error")
	}
	msg = err.Error()
	for _, want := range []string{"secret_access_key: missing", "assume_role_arn:", "proxy: url: scheme \"ftp\""} {
		if !strings.Contains(msg, want) {
			t.Errorf("%s\nlacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "AKIAIOSFODNN7EXAMPLE") {
		t.Errorf("key id in %s", msg)
	}
	t.Log(msg)
}
