package mapping

import (
	"os"
	"path/filepath"
	"testing"
)

// Any bytes given as a mapping file are either refused with an error or load into a set whose
// mappings apply to a record without panicking.
func FuzzParse(f *testing.F) {
	for _, glob := range []string{"testdata/ce/cloudtrail/mappings.json"} {
		files, _ := filepath.Glob(glob)
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`{"jsonData":"{\"taxonomy\":{\"alerts\":{\"dlp\":{\"extension\":{\"eventName\":{\"mapping_field\":\"alert_name\"}}}}}}"}`))
	f.Add([]byte("taxonomy:\n  events:\n    audit:\n      extension:\n        eventName: {mapping_field: audit_log_event}\n"))
	record := map[string]any{"_id": "a", "alert_name": "x", "timestamp": int64(1700000000), "user": "u@example.com", "srcip": "10.0.0.1"}
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Parse(data, "fuzz.json")
		if err != nil {
			return
		}
		for _, kind := range []string{"alerts", "events"} {
			for _, sub := range []string{"dlp", "audit", "policy"} {
				if m, ok := set.For(kind, sub); ok {
					if out, err := m.Apply(record); err == nil {
						_ = out.AppendJSON(nil)
					}
				}
			}
		}
	})
}
