package securitylake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/ocsf"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
)

// The built-in mapper (internal/ocsf) stores real Netskope and CloudTrail records, each class
// in its own objects, and every row read back is a valid OCSF 1.1.0 event of the class its
// key names; a record the mapping cannot read goes to the dead letters with the reason.
func TestBuiltInMapperStoresRealRecords(t *testing.T) {
	eachBackend(t, func(t *testing.T, m *backend) {
		bucket := m.bucket(t)
		cfg := m.testConfig(bucket)
		cfg.ValidateMode = ValidateAll
		d, err := New(context.Background(), cfg, plugintest.Settings(t, "lake", nil), defaultMapper())
		if err != nil {
			t.Fatal(err)
		}
		var recs []*event.Record
		want := map[int]int{} // class_uid → records
		for _, tc := range []struct {
			file    string
			kind    event.Kind
			subtype string
			class   int
		}{
			{"../../../internal/mapping/testdata/records/alert_dlp.json", event.KindNetskopeAlert, "dlp", 2004},
			{"../../../internal/mapping/testdata/records/alert_compromisedcredential.json", event.KindNetskopeAlert, "compromisedcredential", 2004},
			{"../../../internal/mapping/testdata/records/event_page.json", event.KindNetskopeEvent, "page", 6001},
			{"../../../internal/mapping/testdata/records/event_network.json", event.KindNetskopeEvent, "network", 4001},
			{"../../../internal/mapping/testdata/records/event_audit.json", event.KindNetskopeEvent, "audit", 3002}, // a sign-in
		} {
			raw, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, &event.Record{Raw: bytes.TrimSpace(raw), Kind: tc.kind, Subtype: tc.subtype, Source: "ns"})
			ev, err := ocsf.FromRecord(recs[len(recs)-1])
			if err != nil {
				t.Fatalf("%s: %v", tc.file, err)
			}
			if ev.ClassUID() != tc.class {
				t.Fatalf("%s maps to class %d, want %d", tc.file, ev.ClassUID(), tc.class)
			}
			want[tc.class]++
		}
		files, _ := filepath.Glob("../../../internal/cloudtrailrecord/testdata/awsdocs/*sign-in*__record.json")
		if len(files) == 0 {
			t.Fatal("no CloudTrail sign-in samples")
		}
		for _, f := range files[:3] {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, &event.Record{Raw: bytes.TrimSpace(raw), Kind: event.KindCloudTrail, Source: "cw"})
			ev, err := ocsf.FromRecord(recs[len(recs)-1])
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			want[ev.ClassUID()]++
		}
		bad := &event.Record{Raw: []byte(`{"_id":"x","timestamp":"not a time"}`), Kind: event.KindNetskopeAlert, Subtype: "dlp"}
		err = d.Write(context.Background(), append(recs, bad))
		be, ok := errors.AsType[*plugin.BatchError](err)
		if !ok || be.Failed[len(recs)] == nil {
			t.Fatalf("Write: %v, want the last record refused", err)
		}
		for i, f := range be.Failed {
			if i != len(recs) {
				t.Errorf("record %d (%s): %v", i, recs[i].Kind, f)
			}
		}
		if re, ok := errors.AsType[*plugin.RefusedError](be.Failed[len(recs)]); !ok || re.Code != "OCSFMapping" {
			t.Errorf("the unreadable record: %v, want refused OCSFMapping", be.Failed[len(recs)])
		}
		if err := d.Close(context.Background()); err != nil {
			t.Fatal(err)
		}

		// Read back by an independent reader (hyparquet): every row is of the class its object's
		// name says, with a type_uid of that class and the metadata OCSF requires.
		dir := t.TempDir()
		var paths []string
		for key, body := range m.rawObjects(t, bucket) {
			p := filepath.Join(dir, strings.ReplaceAll(key, "/", "_"))
			if err := os.WriteFile(p, body, 0o600); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, p)
		}
		if len(paths) == 0 {
			t.Fatal("no object stored")
		}
		got := map[int]int{}
		for path, f := range readOCSFWithHyparquet(t, paths) {
			for _, row := range f.Rows {
				// Every row, as the independent reader gives it, is a valid OCSF 1.1.0 record.
				b, err := json.Marshal(row)
				if err != nil {
					t.Fatal(err)
				}
				if err := ocsf.ValidateJSON(b); err != nil {
					t.Errorf("%s: a row read back is not valid OCSF %s: %v\n%.1000s", filepath.Base(path), ocsf.Version, err, b)
				}
				class, err := strconv.Atoi(fmt.Sprint(row["class_uid"]))
				if err != nil || !strings.Contains(filepath.Base(path), "_"+strconv.Itoa(class)+"_") {
					t.Errorf("%s holds a row of class %v", filepath.Base(path), row["class_uid"])
				}
				typ, _ := strconv.Atoi(fmt.Sprint(row["type_uid"]))
				act, _ := strconv.Atoi(fmt.Sprint(row["activity_id"]))
				if typ != class*100+act {
					t.Errorf("%s: type_uid %v, activity_id %v in class %d", filepath.Base(path), row["type_uid"], row["activity_id"], class)
				}
				md, _ := row["metadata"].(map[string]any)
				if md == nil || md["version"] != ocsf.Version || md["product"] == nil {
					t.Errorf("%s: metadata %v, want version %s and a product", filepath.Base(path), row["metadata"], ocsf.Version)
				}
				got[class]++
			}
		}
		for class, n := range want {
			if got[class] != n {
				t.Errorf("class %d: %d rows stored, want %d (all: %v, want %v)", class, got[class], n, got, want)
			}
		}
	})
}

// rawObjects returns every object in bucket by key.
func (m *backend) rawObjects(t *testing.T, bucket string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	p := s3.NewListObjectsV2Paginator(m.client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("ListObjectsV2 %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			g, err := m.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				t.Fatalf("GetObject %s: %v", aws.ToString(o.Key), err)
			}
			b, err := io.ReadAll(g.Body)
			g.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			out[aws.ToString(o.Key)] = b
		}
	}
	return out
}
