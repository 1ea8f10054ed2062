package cloudwatch

import (
	"encoding/json"
	"testing"
)

// BenchmarkFloorPage is the floor BenchmarkPage is compared with: the same FilterLogEvents page
// decoded with encoding/json, and each CloudTrail message decoded into a map and encoded
// again, nothing else (no HTTP, no signing).
func BenchmarkFloorPage(b *testing.B) {
	page := cloudTrailPage(b)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		var out struct {
			Events []struct {
				EventID       string `json:"eventId"`
				IngestionTime int64  `json:"ingestionTime"`
				LogStreamName string `json:"logStreamName"`
				Message       string `json:"message"`
				Timestamp     int64  `json:"timestamp"`
			} `json:"events"`
			NextToken string `json:"nextToken"`
		}
		if err := json.Unmarshal(page, &out); err != nil || len(out.Events) != pageEvents {
			b.Fatal(err)
		}
		for i := range out.Events {
			var m map[string]any
			if err := json.Unmarshal([]byte(out.Events[i].Message), &m); err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(m); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pageEvents), "ns/event")
}
