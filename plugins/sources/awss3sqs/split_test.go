package awss3sqs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugintest"
)

// split gives the same records however the input arrives (a byte at a time, in halves, with
// its last read returning EOF with data), values crossing every read boundary: the elements
// encoding/json finds in the Records array, in order, whatever their kind, with the fields
// around Records (strings with escapes, nested arrays, numbers) skipped.
func TestSplitReadSizes(t *testing.T) {
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	var elems []string
	for i := range 300 {
		switch i % 6 {
		case 0:
			elems = append(elems, `"a string \" with ] and } inside"`)
		case 1:
			elems = append(elems, fmt.Sprint(12345678+i))
		case 2:
			elems = append(elems, `{"nested":[1,[2,{"x":"]"}]],"n":-1.5e3}`)
		default:
			elems = append(elems, ctRecord(fmt.Sprintf("e%d-%s", i, strings.Repeat("x", i*7)), at))
		}
	}
	file := " {\"before\":[1,{\"Records\":2}],\"s\":\"\\u0052ecords\",\n\"Records\" : [ " + strings.Join(elems, " ,\n") + " ] , \"after\":null}  "
	var want struct{ Records []json.RawMessage }
	if err := json.Unmarshal([]byte(file), &want); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]func() io.Reader{
		"whole":         func() io.Reader { return bytes.NewReader([]byte(file)) },
		"one byte":      func() io.Reader { return iotest.OneByteReader(strings.NewReader(file)) },
		"halves":        func() io.Reader { return iotest.HalfReader(strings.NewReader(file)) },
		"EOF with data": func() io.Reader { return iotest.DataErrReader(strings.NewReader(file)) },
		"gzip":          func() io.Reader { return bytes.NewReader(gz([]byte(file))) },
	} {
		t.Run(name, func(t *testing.T) {
			s := &Source{cfg: NewConfig().(*Config), set: plugintest.Settings(t, "x", nil)}
			o := &objectReader{s: s, ref: objectRef{Bucket: "b", Key: "k", Region: "us-east-1"}}
			var got []*event.Record
			var n int
			var err error
			if name == "gzip" {
				data, _ := io.ReadAll(r())
				n, err = o.parse(data, func(rec *event.Record) error { got = append(got, rec); return nil })
			} else {
				n, err = o.split(r(), func(rec *event.Record) error { got = append(got, rec); return nil })
			}
			if err != nil {
				t.Fatal(err)
			}
			if n != len(want.Records) || len(got) != len(want.Records) {
				t.Fatalf("%d elements, %d records; want %d", n, len(got), len(want.Records))
			}
			for i, rec := range got {
				w := string(want.Records[i])
				switch {
				case w[0] == '{' && string(rec.Raw) != w:
					t.Errorf("element %d: %s, want %s", i, rec.Raw, w)
				case w[0] != '{' && string(rec.Raw) != `{"message":`+w+`}`:
					t.Errorf("element %d: %s, want it wrapped: %s", i, rec.Raw, w)
				}
			}
		})
	}
}

// A file cut anywhere is not a CloudTrail log file, whatever it gave before the cut; every
// record it gave is one of the file's, whole.
func TestSplitCutAnywhere(t *testing.T) {
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	file := `{"Records":[` + ctRecord("e1", at) + `,` + ctRecord("e2", at) + `,"x",7]}`
	for cut := 0; cut < len(file); cut++ {
		s := &Source{cfg: NewConfig().(*Config), set: plugintest.Settings(t, "x", nil)}
		o := &objectReader{s: s, ref: objectRef{Bucket: "b", Key: "k"}}
		_, err := o.split(iotest.OneByteReader(strings.NewReader(file[:cut])), func(rec *event.Record) error {
			if !strings.Contains(file, string(rec.Raw)) && !strings.HasPrefix(string(rec.Raw), `{"message":`) {
				t.Errorf("cut at %d: record %s is not one of the file's", cut, rec.Raw)
			}
			return nil
		})
		if !isPoison(err) {
			t.Errorf("cut at %d (%q): %v, want a poison error", cut, file[max(0, cut-10):cut], err)
		}
	}
}
