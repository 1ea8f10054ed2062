package awssource

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestEPSYAML(t *testing.T) {
	for _, tc := range []struct {
		doc     string
		want    int
		wantErr bool
	}{
		{"eps: 10", 10, false},
		{"eps: ''", 0, false},
		{"eps: ~", 0, false},
		{"eps: ten", 0, true},
		{"eps: [1]", 0, true},
	} {
		var v struct {
			EPS *EPS `yaml:"eps"`
		}
		err := yaml.Unmarshal([]byte(tc.doc), &v)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err %v", tc.doc, err)
			continue
		}
		if err == nil && v.EPS.Limit() != tc.want {
			t.Errorf("%s: limit %d, want %d", tc.doc, v.EPS.Limit(), tc.want)
		}
	}
}

func TestIdentifiers(t *testing.T) {
	ids, err := ParseIdentifierPatterns("# comment\nacct-$1 = \"recipientAccountId\":\"(\\d+)\"\n\nconsole=ConsoleLogin\nempty-\\1=user=(\\w*)")
	if err != nil {
		t.Fatal(err)
	}
	for msg, want := range map[string]string{
		`{"recipientAccountId":"1234"}`: "acct-1234",
		`"eventName":"ConsoleLogin"`:    "console",
		"user=bob":                      "empty-bob",
		"nothing":                       "",
	} {
		got, _ := ids.Match(msg)
		if got != want {
			t.Errorf("Match(%q) = %q, want %q", msg, got, want)
		}
	}
	if _, err := ParseIdentifierPatterns("no equals sign\nx=("); err == nil {
		t.Error("bad patterns were accepted")
	}
}
