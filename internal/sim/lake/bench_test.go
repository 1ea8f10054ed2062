package lake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// benchEventData is a Netskope DLP alert mapped to the integrations schema (about 1.3 kB).
func benchEventData(tb testing.TB) string {
	m := baseEvent()
	m["userIdentity"] = map[string]any{
		"type": "NetskopeUser", "principalId": "alice@example.com",
		"details": map[string]any{"organization_unit": "acme/eng", "userkey": "alice@example.com", "user_id": 4711},
	}
	m["requestParameters"] = map[string]any{
		"app": "Box", "appcategory": "Cloud Storage", "activity": "Upload", "object": "q3-forecast.xlsx",
		"object_type": "File", "file_size": 184223, "file_type": "application/vnd.ms-excel",
		"url": "https://app.box.com/upload/files/content", "site": "Box", "access_method": "Client",
		"browser": "Chrome", "os": "Windows 10", "device": "Windows Device", "instance_id": "acme.app.box.com",
	}
	m["responseElements"] = map[string]any{"action": "block", "policy": "DLP-PCI-Block", "dlp_rule": "PCI-DSS", "dlp_rule_count": 3}
	m["additionalEventData"] = map[string]any{
		"_id": "f1c2d3e4a5b6c7d8e9f0a1b2", "alert_type": "DLP", "severity": "high", "acked": "false",
		"transaction_id": "3817391648201937465", "dst_country": "US", "src_country": "DE",
		"dstip": "74.112.186.144", "srcip": "10.1.2.3", "traffic_type": "CloudApp",
		"md5": "d41d8cd98f00b204e9800998ecf8427e", "dlp_incident_id": "2970123456789012345",
	}
	return eventJSON(tb, m)
}

// benchBody builds a PutAuditEvents body of n events whose ids are fixed-width placeholders,
// and returns the offsets of the ids so that each iteration can write new ones in place.
func benchBody(tb testing.TB, n int) ([]byte, []int) {
	data := benchEventData(tb)
	evs := make([]inEvent, n)
	for i := range evs {
		evs[i] = inEvent{ID: fmt.Sprintf("ID%014d", i), EventData: data, EventDataChecksum: strp(checksum(data))}
	}
	body := []byte(bodyOf(tb, evs))
	var offs []int
	for i := range evs {
		off := bytes.Index(body, []byte(`"id":"`+evs[i].ID+`"`))
		if off < 0 {
			tb.Fatal("id not found")
		}
		offs = append(offs, off+len(`"id":"`)+2)
	}
	return body, offs
}

func putIDs(body []byte, offs []int, call uint64) {
	for i, off := range offs {
		v := call*uint64(len(offs)) + uint64(i)
		for j := 13; j >= 0; j-- {
			body[off+j] = byte('0' + v%10)
			v /= 10
		}
	}
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkPutAuditEvents measures the handler (no network) on calls of 100 events of about
// 1.3 kB with checksums, every id new, on all cores.
func BenchmarkPutAuditEvents(b *testing.B) {
	s := newTestService(b, func(o *Options) { o.CallsPerSecond = -1; o.MaxStoredEvents = 200_000 })
	h := withCaller(s.DataHandler(), testCaller)
	tmpl, offs := benchBody(b, MaxEventsPerCall)
	target := "/PutAuditEvents?channelArn=" + testChanARN
	var calls atomic.Uint64
	b.SetBytes(int64(len(tmpl)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		body := bytes.Clone(tmpl)
		rd := bytes.NewReader(body)
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			putIDs(body, offs, calls.Add(1))
			rd.Reset(body)
			req := httptest.NewRequest(http.MethodPost, target, rd)
			h.ServeHTTP(w, req)
		}
	})
	b.StopTimer()
	cpu := cpuTime() - cpu0
	st := s.Stats()
	if st.Total != int64(b.N)*MaxEventsPerCall || len(st.Failed) != 0 {
		b.Fatalf("stored %d of %d, failed %v", st.Total, b.N*MaxEventsPerCall, st.Failed)
	}
	b.ReportMetric(float64(st.Total)/b.Elapsed().Seconds(), "events/s")
	// CPU time per event depends less on what else the machine is running.
	if cpu > 0 {
		b.ReportMetric(cpu.Seconds()*1e6/float64(st.Total), "cpu-µs/event")
	}
}

// BenchmarkValidateEventData measures the eventData validator alone.
func BenchmarkValidateEventData(b *testing.B) {
	data := []byte(benchEventData(b))
	rules := &validateRules{account: testAccount}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, e := validateEventData(data, rules); e != nil {
			b.Fatal(e.msg)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecodeEventDataMap is the alternative the validator avoids: encoding/json into a map.
func BenchmarkDecodeEventDataMap(b *testing.B) {
	data := []byte(benchEventData(b))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBenchEventDataSize(t *testing.T) {
	n := len(benchEventData(t))
	if n < 1100 || n > 1600 {
		t.Errorf("bench eventData is %d bytes, want about 1.3 kB", n)
	}
	body, offs := benchBody(t, 3)
	putIDs(body, offs, 7)
	if !strings.Contains(string(body), `"id":"ID00000000000021"`) {
		t.Errorf("%s", body[:200])
	}
}
