package securitylake

import (
	"errors"
	"fmt"
	"time"

	"github.com/logshipper/logshipper/internal/event"
)

// testEvent stands for an OCSF class of internal/ocsf: a struct with parquet tags holding the
// base event's attributes, nested objects, a list and a map.
type testEvent struct {
	ActivityID  int32             `parquet:"activity_id"`
	CategoryUID int32             `parquet:"category_uid"`
	Class       int32             `parquet:"class_uid"`
	TypeUID     int64             `parquet:"type_uid"`
	SeverityID  int32             `parquet:"severity_id"`
	Time        int64             `parquet:"time"`
	Message     string            `parquet:"message,optional"`
	Metadata    testMetadata      `parquet:"metadata"`
	Cloud       testCloud         `parquet:"cloud"`
	Observables []testObservable  `parquet:"observables,list"`
	Unmapped    map[string]string `parquet:"unmapped"`
	RawData     string            `parquet:"raw_data"`
}

type testMetadata struct {
	Version string      `parquet:"version"`
	UID     string      `parquet:"uid"`
	Product testProduct `parquet:"product"`
}

type testProduct struct {
	Name       string `parquet:"name"`
	VendorName string `parquet:"vendor_name"`
}

type testCloud struct {
	Provider string      `parquet:"provider"`
	Region   string      `parquet:"region"`
	Account  testAccount `parquet:"account"`
}

type testAccount struct {
	UID string `parquet:"uid"`
}

type testObservable struct {
	Name   string `parquet:"name"`
	TypeID int32  `parquet:"type_id"`
	Value  string `parquet:"value"`
}

func (e *testEvent) ClassUID() int        { return int(e.Class) }
func (e *testEvent) EventTime() time.Time { return time.UnixMilli(e.Time) }
func (e *testEvent) CloudAccount() string { return e.Cloud.Account.UID }
func (e *testEvent) CloudRegion() string  { return e.Cloud.Region }

var _ ocsfEvent = (*testEvent)(nil)

// testDay is the default time of a test record: 2026-12-01 10:00 UTC.
var testDay = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// testMapper maps a record's fields to a testEvent: id (the record's ID when absent), class
// (6003 when absent), account, region, time (Unix milliseconds; testDay when absent), msg; the
// record's bytes go to raw_data. A record with "fail" is refused by the mapping, one with
// "invalid" by validation.
func testMapper() mapper {
	return mapper{
		Map: func(r *event.Record) (ocsfEvent, error) {
			f, err := r.Fields()
			if err != nil {
				return nil, err
			}
			if s, ok := f["fail"].(string); ok {
				return nil, errors.New(s)
			}
			ev := &testEvent{ActivityID: 1, CategoryUID: 6, Class: 6003, SeverityID: 1, Time: testDay.UnixMilli(),
				Metadata: testMetadata{Version: "1.1.0", UID: r.ID, Product: testProduct{Name: "test", VendorName: "logshipper"}},
				Cloud:    testCloud{Provider: "AWS"},
				RawData:  string(r.Raw),
			}
			if s, ok := f["id"].(string); ok {
				ev.Metadata.UID = s
			}
			if n, ok := number(f["class"]); ok {
				ev.Class = int32(n)
			}
			ev.TypeUID = int64(ev.Class)*100 + int64(ev.ActivityID)
			ev.CategoryUID = ev.Class / 1000
			if n, ok := number(f["time"]); ok {
				ev.Time = n
			}
			ev.Cloud.Account.UID, _ = f["account"].(string)
			ev.Cloud.Region, _ = f["region"].(string)
			if s, ok := f["msg"].(string); ok {
				ev.Message = s
				ev.Observables = []testObservable{{Name: "msg", TypeID: 99, Value: s}}
			}
			if _, ok := f["invalid"]; ok {
				ev.Metadata.Version = ""
			}
			ev.Unmapped = map[string]string{"source": r.Source}
			return ev, nil
		},
		Validate: func(ev ocsfEvent) error {
			if ev.(*testEvent).Metadata.Version != "1.1.0" {
				return fmt.Errorf("metadata.version is %q, not 1.1.0", ev.(*testEvent).Metadata.Version)
			}
			return nil
		},
	}
}

// number is a decoded JSON number as an int64.
func number(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case float64:
		return int64(n), true
	case uint64:
		return int64(n), true
	case int:
		return int64(n), true
	}
	return 0, false
}
