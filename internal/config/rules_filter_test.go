package config_test

import (
	"testing"

	"github.com/logshipper/logshipper/internal/event"
)

// Rules written as filters load and match records as Cloud Exchange matches them.
func TestLoadFilterRules(t *testing.T) {
	cfg := loadGood(t, "filters.yaml", map[string]string{"TITLE": "analyst"})
	dlp := &event.Record{Raw: []byte(`{"alert_type":"dlp","severity":"HIGH","dlp_profile":"PCI-DSS","file_size":48213,` +
		`"dlp_incident_id":4012345678901234567,"url":"https://Drive.Google.com/upload","user_info":{"department":"Finance","title":"Analyst"}}`)}
	other := &event.Record{Raw: []byte(`{"alert_type":"DLP","severity":"low","dlp_profile":"GDPR","file_size":10,` +
		`"dlp_incident_id":4012345678901234568,"url":"https://example.com/","user_info":{"department":"HR"}}`)}
	want := map[string][2]bool{ // the rule's match on dlp, on other
		"high-expr":      {false, false}, // expr-lang compares with case
		"dlp-or-malware": {true, false},  // $in compares with case, as Cloud Exchange does
		"pci-uploads":    {true, false},
		"ce-object":      {true, false},
		"regex":          {true, false},
		"from-env":       {true, false},
	}
	for name, w := range want {
		rule, ok := cfg.Rules.Get(name)
		if !ok {
			t.Fatalf("no rule %q (rules: %q)", name, cfg.Rules.Names())
		}
		if rule.MatchesAll() {
			t.Errorf("%s: MatchesAll", name)
		}
		for i, rec := range []*event.Record{dlp, other} {
			got, err := rule.Match(rec)
			if err != nil || got != w[i] {
				t.Errorf("%s: Match(record %d) = %v, %v; want %v", name, i, got, err, w[i])
			}
		}
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("Warnings = %q", cfg.Warnings)
	}
}
