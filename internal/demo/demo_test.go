package demo

import (
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/plugins/all"
)

// The embedded configuration loads, and its defaults are cloudsim's demo world, so that
// `demo --print-config` runs as it is against `cloudsim serve`.
func TestDemoEmbeddedConfig(t *testing.T) {
	def := cloudsim.Default()
	acct := def.AWS.Accounts[0]
	for _, want := range []string{
		cloudsim.DemoChannelARN,
		"${AWS_ACCESS_KEY_ID:-" + acct.AccessKeyID + "}",
		"${AWS_SECRET_ACCESS_KEY:-" + acct.SecretAccessKey + "}",
		"${NETSKOPE_API_TOKEN:-" + def.Netskope.Tokens[0].Value + "}",
		"${NETSKOPE_TENANT:-http://" + def.Netskope.Listen + "}",
		"${AWS_ENDPOINT:-http://" + def.AWS.Listen + "}",
	} {
		if !strings.Contains(string(Config), want) {
			t.Errorf("demo.yaml lacks %q", want)
		}
	}
	res := config.Resolver{Env: func(k string) (string, bool) {
		if k == "DEMO_DIR" {
			return t.TempDir(), true
		}
		return "", false
	}}
	cfg, err := config.Parse(Config, "demo.yaml", all.Registry(), res)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Rules.Get(ruleName); !ok {
		t.Fatalf("no rule %s", ruleName)
	}
	names := map[string]bool{}
	for _, p := range cfg.Plugins {
		names[p.Name] = true
	}
	for _, n := range []string{sourceName, lakeName, archiveName} {
		if !names[n] {
			t.Errorf("no plugin configuration %s", n)
		}
	}
}

func TestDemoSettled(t *testing.T) {
	base := func() counts {
		return counts{
			mReceived: {sourceName: 10, lakeName: 6, archiveName: 10},
			mSent:     {lakeName: 5, archiveName: 10},
			mDropped:  {lakeName + "/filtered": 4, lakeName + "/unsupported_by_destination": 1},
		}
	}
	if !settled(base(), 10) {
		t.Error("everything accounted for: not settled")
	}
	if settled(base(), 11) {
		t.Error("fewer read than the tenant holds: settled")
	}
	c := base()
	c[mSent][lakeName] = 4
	if settled(c, 10) {
		t.Error("a record in flight to the lake: settled")
	}
	c = base()
	c[mReceived][archiveName] = 9
	if settled(c, 10) {
		t.Error("a record not yet routed to the archive: settled")
	}
	if !settled(counts{}, 0) {
		t.Error("nothing read, nothing wanted: not settled")
	}
}

func TestDemoPrettyEventData(t *testing.T) {
	text, note, err := prettyEventData([]byte(`{"version":"1.0","UID":"7","additionalEventData":{"b":1,"a":{"x":[1,2]},"c":"3"}}`), 2)
	if err != nil {
		t.Fatal(err)
	}
	want := `  {
    "version": "1.0",
    "UID": "7",
    "additionalEventData": {
      "b": 1,
      "a": {
        "x": [
          1,
          2
        ]
      }
    }
  }`
	if text != want || !strings.Contains(note, "the first 2 of its 3 fields") {
		t.Errorf("got\n%s\n%s", text, note)
	}
	if _, _, err := prettyEventData([]byte(`[1]`), 2); err == nil {
		t.Error("an array: no error")
	}
}
