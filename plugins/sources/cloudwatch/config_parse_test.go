package cloudwatch_test

import (
	"testing"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/plugins/sources/cloudwatch"
)

// parseEPS parses a configuration whose source cw has line among its options and returns its
// eps_throttle, 0 when none is set.
func parseEPS(t *testing.T, line string) (int, error) {
	doc := `data_dir: /tmp/x
plugins:
  - name: cw
    type: aws_cloudwatch_logs
    regions: [us-east-1]
    log_group: g
` + line + `
  - name: console
    type: stdout
siem_mappings:
  - source: cw
    destination: console
`
	cfg, err := config.Parse([]byte(doc), "t.yaml", registry(t), config.Resolver{Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		return 0, err
	}
	p, _ := cfg.Plugin("cw")
	if e := p.Options.(*cloudwatch.Config).EPSThrottle; e != nil {
		return int(*e), nil
	}
	return 0, nil // nil: no limit
}

// eps_throttle as a configuration file gives it: left out, it is the default; a number is that
// limit; a word is refused; empty, null or 0 is no limit (DESIGN §5: "empty means no limit";
// the README: "`0` or empty ... = no limit").
func TestEPSThrottleEmptyMeansNoLimit(t *testing.T) {
	if n, err := parseEPS(t, ""); err != nil || n != cloudwatch.DefaultEPSThrottle {
		t.Errorf("no eps_throttle: %d, %v; want the default %d", n, err, cloudwatch.DefaultEPSThrottle)
	}
	if n, err := parseEPS(t, "    eps_throttle: 250"); err != nil || n != 250 {
		t.Errorf("eps_throttle: 250: %d, %v", n, err)
	}
	if _, err := parseEPS(t, "    eps_throttle: lots"); err == nil {
		t.Errorf("eps_throttle: lots accepted")
	}
	for _, line := range []string{`    eps_throttle:`, `    eps_throttle: ""`, `    eps_throttle: ~`, `    eps_throttle: 0`} {
		n, err := parseEPS(t, line)
		if err != nil {
			t.Errorf("%q: rejected: %v", line, err)
			continue
		}
		if n != 0 {
			t.Errorf("%q: eps_throttle = %d, want 0 (no limit)", line, n)
		}
	}
}
