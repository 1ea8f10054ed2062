package event

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestFieldsDecodesOnce(t *testing.T) {
	r := &Record{Raw: []byte(`{"a":1,"b":"x"}`)}
	m1, err := r.Fields()
	if err != nil {
		t.Fatal(err)
	}
	// A changed Raw is not decoded again: the first decode is kept.
	r.Raw = []byte(`{"c":2}`)
	m2, err := r.Fields()
	if err != nil {
		t.Fatal(err)
	}
	if reflect.ValueOf(m1).UnsafePointer() != reflect.ValueOf(m2).UnsafePointer() {
		t.Fatal("second Fields call returned a different map")
	}
	if _, ok := m2["a"]; !ok || len(m2) != 2 {
		t.Fatalf("Fields = %v; want the first decode", m2)
	}
}

func TestFieldsErrorIsKept(t *testing.T) {
	r := &Record{Raw: []byte(`{bad`)}
	_, err1 := r.Fields()
	r.Raw = []byte(`{}`)
	m, err2 := r.Fields()
	if err1 == nil || err2 == nil || err1 != err2 || m != nil {
		t.Fatalf("Fields = %v, %v then %v; want the same error twice", m, err1, err2)
	}
}

func TestFieldsValues(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want map[string]any
	}{
		{"empty object", `{}`, map[string]any{}},
		{"white space around", " \n\t{\"a\":\"b\"}\r\n ", map[string]any{"a": "b"}},
		{"strings bools null", `{"s":"x","t":true,"f":false,"n":null}`,
			map[string]any{"s": "x", "t": true, "f": false, "n": nil}},
		{"small integers", `{"zero":0,"one":1,"neg":-7,"negzero":-0}`,
			map[string]any{"zero": int64(0), "one": int64(1), "neg": int64(-7), "negzero": int64(0)}},
		{"19-digit id stays exact", `{"id":1234567890123456789}`,
			map[string]any{"id": int64(1234567890123456789)}},
		{"int64 limits", `{"max":9223372036854775807,"min":-9223372036854775808}`,
			map[string]any{"max": int64(math.MaxInt64), "min": int64(math.MinInt64)}},
		{"past int64 is uint64", `{"a":9223372036854775808,"b":18446744073709551615}`,
			map[string]any{"a": uint64(math.MaxInt64) + 1, "b": uint64(math.MaxUint64)}},
		{"past uint64 is float64", `{"a":18446744073709551616}`,
			map[string]any{"a": float64(18446744073709551616)}},
		{"below int64 is float64", `{"a":-9223372036854775809}`,
			map[string]any{"a": float64(-9223372036854775809)}},
		{"floats", `{"a":1.5,"b":-0.25,"c":1e3,"d":1.0,"e":2E-2}`,
			map[string]any{"a": 1.5, "b": -0.25, "c": 1000.0, "d": 1.0, "e": 0.02}},
		{"float out of range kept as text", `{"a":1e400}`, map[string]any{"a": "1e400"}},
		{"nested maps and arrays", `{"m":{"i":1,"f":0.5,"deep":{"u":18446744073709551615}},"a":[1,2.5,"x",[3,{"k":4}],null]}`,
			map[string]any{
				"m": map[string]any{"i": int64(1), "f": 0.5, "deep": map[string]any{"u": uint64(math.MaxUint64)}},
				"a": []any{int64(1), 2.5, "x", []any{int64(3), map[string]any{"k": int64(4)}}, nil},
			}},
		{"unicode and escapes", `{"é":"\u00e9\n","k":"a\"b"}`, map[string]any{"é": "é\n", "k": `a"b`}},
		{"duplicate keys: last wins", `{"a":1,"a":2}`, map[string]any{"a": int64(2)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &Record{Raw: []byte(tc.raw)}
			got, err := r.Fields()
			if err != nil {
				t.Fatalf("Fields: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Fields =\n %#v\nwant\n %#v", got, tc.want)
			}
		})
	}
}

func TestFieldsErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  string
	}{
		{"nil Raw", ""},
		{"white space only", "  \n"},
		{"array", `[1,2]`},
		{"empty array", `[]`},
		{"string", `"hello"`},
		{"number", `42`},
		{"bool", `true`},
		{"null", `null`},
		{"truncated", `{"a":1`},
		{"not JSON", `hello world`},
		{"single quotes", `{'a':1}`},
		{"trailing comma", `{"a":1,}`},
		{"two objects", `{"a":1}{"b":2}`},
		{"two objects on one line", `{"a":1} {"b":2}`},
		{"trailing garbage", `{"a":1} x`},
		{"trailing bracket", `{"a":1}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &Record{Raw: []byte(tc.raw)}
			m, err := r.Fields()
			if err == nil {
				t.Fatalf("Fields(%q) = %v; want an error", tc.raw, m)
			}
			if m != nil {
				t.Errorf("Fields returned %v with its error", m)
			}
			if !strings.Contains(err.Error(), "decode record") {
				t.Errorf("error %q does not say what failed", err)
			}
		})
	}
}

func TestSetFields(t *testing.T) {
	t.Run("before Fields", func(t *testing.T) {
		r := &Record{Raw: []byte(`{"a":1}`)}
		m := map[string]any{"event_type": "dlp"}
		r.SetFields(m)
		got, err := r.Fields()
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("Fields = %v, %v; want %v", got, err, m)
		}
		if string(r.Raw) != `{"a":1}` {
			t.Fatalf("SetFields changed Raw to %s", r.Raw)
		}
	})
	t.Run("after Fields", func(t *testing.T) {
		r := &Record{Raw: []byte(`{"a":1}`)}
		if _, err := r.Fields(); err != nil {
			t.Fatal(err)
		}
		m := map[string]any{"b": int64(2)}
		r.SetFields(m)
		got, err := r.Fields()
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("Fields = %v, %v; want %v", got, err, m)
		}
	})
	t.Run("clears a decode error", func(t *testing.T) {
		r := &Record{Raw: []byte(`not json`)}
		if _, err := r.Fields(); err == nil {
			t.Fatal("want a decode error")
		}
		r.SetFields(map[string]any{"msg": "not json"})
		got, err := r.Fields()
		if err != nil || got["msg"] != "not json" {
			t.Fatalf("Fields = %v, %v", got, err)
		}
	})
}

func TestSize(t *testing.T) {
	if n := (&Record{Raw: []byte(`{"a":1}`)}).Size(); n != 7 {
		t.Fatalf("Size = %d; want 7", n)
	}
	if n := (&Record{}).Size(); n != 0 {
		t.Fatalf("Size of an empty record = %d", n)
	}
}

func TestFieldsConcurrent(t *testing.T) {
	r := &Record{Raw: []byte(`{"id":1234567890123456789,"user":{"name":"a"}}`)}
	var wg sync.WaitGroup
	maps := make([]map[string]any, 32)
	for i := range maps {
		wg.Go(func() {
			m, err := r.Fields()
			if err != nil {
				t.Error(err)
				return
			}
			_ = m["user"].(map[string]any)["name"]
			maps[i] = m
		})
	}
	wg.Wait()
	for i := range maps {
		if reflect.ValueOf(maps[i]).UnsafePointer() != reflect.ValueOf(maps[0]).UnsafePointer() {
			t.Fatal("concurrent Fields calls decoded more than once")
		}
	}
}

// benchRecord builds a record of about 1.3 kB shaped like a security-gateway event.
func benchRecord() []byte {
	var b strings.Builder
	b.WriteString(`{"_id":"f3a9c1d2e4b5a6978c0d1e2f","transaction_id":1234567890123456789,"timestamp":1718000000,`)
	b.WriteString(`"type":"nspolicy","alert":"yes","alert_type":"DLP","severity":"high","action":"block",`)
	b.WriteString(`"user":{"name":"alice@example.com","id":42,"groups":["eng","sec","ops"],"location":{"country":"FR","city":"Lyon","lat":45.764,"lon":4.8357}},`)
	b.WriteString(`"src_ip":"192.0.2.10","dst_ip":"198.51.100.7","src_port":51234,"dst_port":443,"bytes_in":18234,"bytes_out":734,`)
	b.WriteString(`"app":"Google Drive","category":"Cloud Storage","ccl":"excellent","url":"https://drive.example.com/file/d/abcdef/view?usp=sharing",`)
	b.WriteString(`"policy":"Block uploads of source code","dlp_rule":"Source code","dlp_file":"main.go","file_size":20480,"file_type":"text/x-go",`)
	b.WriteString(`"md5":"d41d8cd98f00b204e9800998ecf8427e","sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",`)
	b.WriteString(`"device":"Windows 11","browser":"Chrome","os_version":"10.0.22631","instance_id":"corp","access_method":"Client",`)
	b.WriteString(`"traffic_type":"CloudApp","count":1,"score":0.87,"tags":["upload","dlp","blocked",1,2.5,null,true],`)
	b.WriteString(`"request_headers":{"user-agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0","accept":"*/*"},`)
	b.WriteString(`"notes":"` + strings.Repeat("x", 120) + `"}`)
	return []byte(b.String())
}

func TestBenchRecordIsValid(t *testing.T) {
	raw := benchRecord()
	if n := len(raw); n < 1200 || n > 1500 {
		t.Fatalf("bench record is %d bytes; want about 1.3 kB", n)
	}
	m, err := (&Record{Raw: raw}).Fields()
	if err != nil {
		t.Fatal(err)
	}
	if m["transaction_id"] != int64(1234567890123456789) {
		t.Fatalf("transaction_id = %#v", m["transaction_id"])
	}
}

func BenchmarkRecordFields(b *testing.B) {
	raw := benchRecord()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		r := &Record{Raw: raw}
		if _, err := r.Fields(); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleRecord_Fields() {
	r := &Record{Raw: []byte(`{"id":1234567890123456789,"big":18446744073709551615,"ratio":0.5}`)}
	m, _ := r.Fields()
	fmt.Printf("%T %T %T\n", m["id"], m["big"], m["ratio"])
	// Output: int64 uint64 float64
}

func TestRecordBytes(t *testing.T) {
	inner := []byte(`{"eventName":"GetObject"}`)
	tests := []struct {
		name string
		r    *Record
		want string
	}{
		{"bare record", &Record{Raw: inner}, string(inner)},
		{"envelope", &Record{Raw: []byte(`{"message":"..."}`), Payload: inner}, string(inner)},
		{"empty payload is still the payload", &Record{Raw: []byte(`{}`), Payload: []byte{}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(tc.r.RecordBytes()); got != tc.want {
				t.Fatalf("RecordBytes = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestNetskopeSubtype(t *testing.T) {
	for in, want := range map[string]string{
		"dlp": "dlp", "DLP": "dlp", "Compromised Credential": "compromisedcredential",
		"compromisedcredential": "compromisedcredential", "ips": "ctep", "C2": "ctep", "ctep": "ctep",
		"Security Assessment": "securityassessment", "": "",
		"uba": "uba", "anomaly": "uba", "Anomaly": "uba",
	} {
		if got := NetskopeSubtype(in); got != want {
			t.Errorf("NetskopeSubtype(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNetskopeUBA(t *testing.T) {
	tests := []struct {
		kind    Kind
		subtype string
		want    bool
	}{
		{KindNetskopeAlert, "uba", true},
		// A record that names itself an anomaly is a uba endpoint's alert once spelled.
		{KindNetskopeAlert, NetskopeSubtype("anomaly"), true},
		{KindNetskopeAlert, "dlp", false},
		// The rule reads the endpoint, not the spelling a record gives: "anomaly" unspelled is
		// no endpoint's name.
		{KindNetskopeAlert, "anomaly", false},
		{KindNetskopeEvent, "uba", false},
		{KindCloudTrail, "uba", false},
		{"", "uba", false},
	}
	for _, tc := range tests {
		if got := NetskopeUBA(tc.kind, tc.subtype); got != tc.want {
			t.Errorf("NetskopeUBA(%q, %q) = %v, want %v", tc.kind, tc.subtype, got, tc.want)
		}
	}
}
