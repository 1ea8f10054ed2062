package netskope

import (
	"encoding/json"
	"strings"
	"testing"
)

// BenchmarkFloorPage is the floor BenchmarkParsePage is compared with: the same page decoded
// with encoding/json into maps and each record encoded again, nothing else.
func BenchmarkFloorPage(b *testing.B) {
	rec := `{"_id":"f0e1d2c3b4a5968778695a4b","timestamp":1700000000,"_insertion_epoch_timestamp":1700000001,` +
		`"type":"nspolicy","alert_type":"DLP","user":"alice@example.com","app":"Box","url":"https://app.box.com/files/0/f/123",` +
		`"transaction_id":9007199254740993123,"app_session_id":4611686018427387904,"srcip":"10.1.2.3","dstip":"52.1.2.3",` +
		`"dlp_profile":"PCI","dlp_rule":"credit cards","dlp_match_info":[{"count":3,"name":"cc"}],"policy":"Block uploads",` +
		`"action":"block","activity":"Upload","object":"report.xlsx","file_size":123456,"md5":"d41d8cd98f00b204e9800998ecf8427e",` +
		`"browser":"Chrome","os":"Windows 11","device":"Windows Device","site":"Box","category":"Cloud Storage","ccl":"high",` +
		`"organization_unit":"Sales","hostname":"LAPTOP-1","supporting_data":{"data_type":"incidents","data_values":["a","b"]}}`
	const n = 10000
	body := []byte(`{"ok":1,"result":[` + strings.TrimSuffix(strings.Repeat(rec+",", n), ",") + `],"wait_time":0,"timestamp_hwm":1700000001}`)
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
