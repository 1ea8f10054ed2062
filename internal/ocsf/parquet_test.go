package ocsf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// classStructs is one value of every class struct.
var classStructs = []Event{
	&APIActivity{}, &Authentication{}, &WebResourcesActivity{}, &NetworkActivity{},
	&DeviceInventoryInfo{}, &DetectionFinding{},
}

// TestParquetSchemaOfEveryClass checks parquet-go makes a schema of every class whose top-level
// columns are the class's OCSF attributes, named as in JSON, required attributes required
// columns, and time an INT64 of milliseconds (OCSF's timestamp_t), not a Parquet timestamp, so
// a reader turning the row back into JSON gives the integer OCSF wants.
func TestParquetSchemaOfEveryClass(t *testing.T) {
	if len(classStructs) != len(classes) {
		t.Fatalf("%d class structs, %d classes in the schema table", len(classStructs), len(classes))
	}
	for _, c := range classStructs {
		t.Run(fmt.Sprintf("%T", c), func(t *testing.T) {
			s := parquet.SchemaOf(c)
			spec := classes[int64(classUIDOf(c))]
			for _, f := range s.Fields() {
				if _, ok := spec.attrs[f.Name()]; !ok {
					t.Errorf("column %q is not an attribute of %s", f.Name(), spec.name)
				}
			}
			for name, a := range spec.attrs {
				if !a.required || a.profile != "" {
					continue // a profile's attribute is required only where the profile is declared
				}
				f, ok := fieldNamed(s, name)
				if !ok {
					t.Errorf("required attribute %s has no column", name)
					continue
				}
				if f.Optional() {
					t.Errorf("required attribute %s is an optional column", name)
				}
			}
			tf, _ := fieldNamed(s, "time")
			if lt := tf.Type().LogicalType(); tf.Type().Kind() != parquet.Int64 || isTimestamp(lt) {
				t.Errorf("time: %v %v, want INT64, not a Parquet timestamp", tf.Type().Kind(), lt)
			}
		})
	}
}

func isTimestamp(lt *format.LogicalType) bool {
	if lt == nil {
		return false
	}
	_, ok := lt.Value.(*format.TimestampType)
	return ok
}

// classUIDOf reads the class_uid a struct of the class gets from setClass, by its type.
func classUIDOf(c Event) int {
	switch c.(type) {
	case *APIActivity:
		return ClassAPIActivity
	case *Authentication:
		return ClassAuthentication
	case *WebResourcesActivity:
		return ClassWebResourcesActivity
	case *NetworkActivity:
		return ClassNetworkActivity
	case *DeviceInventoryInfo:
		return ClassDeviceInventoryInfo
	case *DetectionFinding:
		return ClassDetectionFinding
	}
	return 0
}

func fieldNamed(s *parquet.Schema, name string) (parquet.Field, bool) {
	for _, f := range s.Fields() {
		if f.Name() == name {
			return f, true
		}
	}
	return nil, false
}

// TestParquetRoundTrip writes every mapped sample as a Parquet row (zstd, as a Security Lake
// file is written) and reads it back with parquet-go: the record read is the record written,
// attribute for attribute, and still validates.
func TestParquetRoundTrip(t *testing.T) {
	var samples []sample
	samples = append(samples, awsdocsSamples(t)...)
	panther, _ := pantherCloudTrailSamples(t)
	samples = append(samples, panther...)
	samples = append(samples, netskopeRecordSamples(t)...)
	samples = append(samples, pantherNetskopeSamples(t)...)
	byClass := map[int][]Event{}
	for _, ev := range mapAll(t, samples) {
		byClass[ev.ClassUID()] = append(byClass[ev.ClassUID()], ev)
	}
	for class := range classes {
		if len(byClass[int(class)]) == 0 {
			t.Errorf("no sample maps to class %d", class)
		}
	}
	for class, evs := range byClass {
		var got []Event
		switch class {
		case ClassAPIActivity:
			got = roundTrip[APIActivity](t, evs)
		case ClassAuthentication:
			got = roundTrip[Authentication](t, evs)
		case ClassWebResourcesActivity:
			got = roundTrip[WebResourcesActivity](t, evs)
		case ClassNetworkActivity:
			got = roundTrip[NetworkActivity](t, evs)
		case ClassDeviceInventoryInfo:
			got = roundTrip[DeviceInventoryInfo](t, evs)
		case ClassDetectionFinding:
			got = roundTrip[DetectionFinding](t, evs)
		default:
			t.Fatalf("class %d has no round trip", class)
		}
		for i := range evs {
			want, _ := json.Marshal(evs[i])
			have, _ := json.Marshal(got[i])
			if !bytes.Equal(want, have) {
				t.Fatalf("class %d row %d differs after the round trip:\nwrote %s\n read %s", class, i, want, have)
			}
			if err := Validate(got[i]); err != nil {
				t.Fatalf("class %d row %d read back: %v", class, i, err)
			}
		}
	}
}

// roundTrip writes evs (all *T) to one Parquet file and reads them back.
func roundTrip[T any](t *testing.T, evs []Event) []Event {
	t.Helper()
	rows := make([]T, len(evs))
	for i, ev := range evs {
		rows[i] = *any(ev).(*T)
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf, parquet.Compression(&zstd.Codec{}))
	if _, err := w.Write(rows); err != nil {
		t.Fatalf("write %T rows: %v", rows[0], err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close %T writer: %v", rows[0], err)
	}
	r := parquet.NewGenericReader[T](bytes.NewReader(buf.Bytes()))
	defer r.Close()
	if n := r.NumRows(); n != int64(len(rows)) {
		t.Fatalf("file has %d rows, wrote %d", n, len(rows))
	}
	read := make([]T, len(rows))
	n, err := r.Read(read)
	if n != len(rows) {
		t.Fatalf("read %d of %d %T rows: %v", n, len(rows), rows[0], err)
	}
	out := make([]Event, len(read))
	for i := range read {
		out[i] = any(&read[i]).(Event)
	}
	return out
}

// TestParquetColumnNamesAreOCSF walks every leaf column of every class: each path element is
// a snake_case OCSF name (parquet-go's list and map groups aside).
func TestParquetColumnNamesAreOCSF(t *testing.T) {
	for _, c := range classStructs {
		for _, path := range parquet.SchemaOf(c).Columns() {
			for _, p := range path {
				if p == "list" || p == "element" || p == "key_value" || p == "key" || p == "value" {
					continue
				}
				if p != strings.ToLower(p) || strings.ContainsAny(p, " -.") {
					t.Errorf("%T column %v: %q is not an OCSF attribute name", c, path, p)
				}
			}
		}
	}
}

// TestParquetWriterOfEvents writes Events through parquet-go's schema-driven writer
// (parquet.NewWriter with parquet.SchemaOf(ev)), the way a destination that holds only the
// Event interface writes a file of one class, and reads the rows back as the class struct.
func TestParquetWriterOfEvents(t *testing.T) {
	var evs []Event
	for _, ev := range mapAll(t, netskopeRecordSamples(t)) {
		if ev.ClassUID() == ClassDetectionFinding {
			evs = append(evs, ev)
		}
	}
	if len(evs) < 2 {
		t.Fatalf("%d Detection Finding samples, want several", len(evs))
	}
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, parquet.SchemaOf(evs[0]), parquet.Compression(&zstd.Codec{}))
	for _, ev := range evs {
		if err := w.Write(ev); err != nil {
			t.Fatalf("write %T: %v", ev, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := parquet.NewGenericReader[DetectionFinding](bytes.NewReader(buf.Bytes()))
	defer r.Close()
	rows := make([]DetectionFinding, len(evs))
	if n, err := r.Read(rows); n != len(evs) {
		t.Fatalf("read %d of %d rows: %v", n, len(evs), err)
	}
	for i := range rows {
		want, _ := json.Marshal(evs[i])
		have, _ := json.Marshal(&rows[i])
		if !bytes.Equal(want, have) {
			t.Fatalf("row %d:\nwrote %s\n read %s", i, want, have)
		}
	}
}
