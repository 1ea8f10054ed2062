package netskope

import (
	"encoding/json"
	"strings"
	"testing"
)

// BenchmarkFloorPage is the floor BenchmarkParsePage is compared with: the same page decoded
// with encoding/json into maps and each record encoded again, nothing else.
func BenchmarkFloorPage(b *testing.B) {
	const n = 10000
	body := benchPage(n)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var page struct {
			OK     int              `json:"ok"`
			Result []map[string]any `json:"result"`
			Wait   int              `json:"wait_time"`
			HWM    int64            `json:"timestamp_hwm"`
		}
		d := json.NewDecoder(strings.NewReader(string(body)))
		d.UseNumber() // 19-digit ids keep their digits, as ours do
		if err := d.Decode(&page); err != nil || len(page.Result) != n {
			b.Fatal(err)
		}
		for _, r := range page.Result {
			if _, err := json.Marshal(r); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}
