package cloudtrailrecord

import (
	"encoding/json"
	"testing"
)

// BenchmarkParse parses every panther record; ns/record is the figure to read.
func BenchmarkParse(b *testing.B) {
	recs := pantherRecords(b)
	var n int
	for _, r := range recs {
		n += len(r)
	}
	b.SetBytes(int64(n / len(recs)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = Parse(recs[i%len(recs)])
	}
}

// BenchmarkParseInto reuses one Event.
func BenchmarkParseInto(b *testing.B) {
	recs := pantherRecords(b)
	var ev Event
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = ParseInto(&ev, recs[i%len(recs)])
	}
}

// BenchmarkSplitQRadar unwraps the QRadar text form then parses.
func BenchmarkSplitQRadar(b *testing.B) {
	recs := pantherRecords(b)
	in := make([][]byte, len(recs))
	for i, r := range recs {
		in[i] = []byte("{LogStreamName: 123456789012_CloudTrail_us-east-1, Timestamp: 1700000000000, Message: " + string(r) + ", IngestionTime: 1700000000500, EventId: 3792}")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		items, _ := Split(in[i%len(in)])
		_, _ = Parse(items[0].Record)
	}
}

// BenchmarkSplitCloudWatch unwraps the CloudWatch JSON envelope (message is a JSON string,
// so it is decoded into a new slice) then parses.
func BenchmarkSplitCloudWatch(b *testing.B) {
	recs := pantherRecords(b)
	in := make([][]byte, len(recs))
	for i, r := range recs {
		msg, _ := json.Marshal(string(r))
		in[i] = []byte(`{"logGroup":"ct","logStream":"s","timestamp":1700000000000,"ingestionTime":1700000000500,"eventId":"3792","message":` + string(msg) + `}`)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		items, _ := Split(in[i%len(in)])
		_, _ = Parse(items[0].Record)
	}
}

// BenchmarkFloorMap is the floor DESIGN §7 names: encoding/json into map[string]any and back.
func BenchmarkFloorMap(b *testing.B) {
	recs := pantherRecords(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var m map[string]any
		_ = json.Unmarshal(recs[i%len(recs)], &m)
		_, _ = json.Marshal(m)
	}
}

// BenchmarkFloorStruct is encoding/json into a typed struct of the fields Parse reads, the
// alternative to the hand scanner.
func BenchmarkFloorStruct(b *testing.B) {
	type identity struct {
		Type, PrincipalID, ARN, AccountID, AccessKeyID, UserName, InvokedBy string
	}
	type rec struct {
		EventVersion, EventTime, EventSource, EventName, AwsRegion, SourceIPAddress, UserAgent string
		EventID, EventType, RequestID, RecipientAccountID, ErrorCode, ErrorMessage             string
		ReadOnly, ManagementEvent                                                              *bool
		UserIdentity                                                                           identity
		ResponseElements, AdditionalEventData, RequestParameters, Resources                    json.RawMessage
	}
	recs := pantherRecords(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var r rec
		_ = json.Unmarshal(recs[i%len(recs)], &r)
	}
}

// BenchmarkIdentify is what a source pays to label a record (against BenchmarkParseInto).
func BenchmarkIdentify(b *testing.B) {
	recs := pantherRecords(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = Identify(recs[i%len(recs)])
	}
}
