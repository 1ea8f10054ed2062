package securitylake

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
)

// npmModules is tools/npm/node_modules of the repository, where scripts/setup.sh installs
// hyparquet; the test fails when node or hyparquet is missing.
func npmModules(t *testing.T) (node, modules string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not on PATH: run scripts/setup.sh (the Security Lake tests read their Parquet back with hyparquet)")
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
	modules = filepath.Join(dir, "tools", "npm", "node_modules")
	for _, p := range []string{"hyparquet", "hyparquet-compressors"} {
		if _, err := os.Stat(filepath.Join(modules, p, "package.json")); err != nil {
			t.Fatalf("%s is not installed in %s: run scripts/setup.sh", p, modules)
		}
	}
	return node, modules
}

// readerFile is what testdata/read_parquet.mjs prints for one file.
type readerFile struct {
	File      string           `json:"file"`
	Codecs    []string         `json:"codecs"`
	RowGroups int              `json:"row_groups"`
	Rows      []map[string]any `json:"rows"`
}

// readWithHyparquet reads Parquet files with hyparquet.
func readWithHyparquet(t *testing.T, files []string) map[string]readerFile {
	t.Helper()
	return runReader(t, nil, files)
}

// readOCSFWithHyparquet reads Parquet files with hyparquet, each row as an OCSF JSON record
// (64-bit integers as numbers, absent optional columns left out): what ocsf.ValidateJSON takes
// once marshalled again.
func readOCSFWithHyparquet(t *testing.T, files []string) map[string]readerFile {
	t.Helper()
	return runReader(t, []string{"--ocsf"}, files)
}

func runReader(t *testing.T, flags, files []string) map[string]readerFile {
	t.Helper()
	node, modules := npmModules(t)
	cmd := exec.Command(node, append(append([]string{"testdata/read_parquet.mjs", modules}, flags...), files...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node read_parquet.mjs: %v\n%s", err, stderr.String())
	}
	got := map[string]readerFile{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 256<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var f readerFile
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("reading hyparquet's output: %v", err)
		}
		got[f.File] = f
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// expectedRow is a testEvent as a reader of its Parquet gives it: columns by name, 64-bit
// integers as strings (hyparquet reads them as BigInt), an empty optional string as null.
func expectedRow(ev *testEvent) map[string]any {
	num := func(n int64) any { return json.Number(strconv.FormatInt(n, 10)) }
	obs := []any{}
	for _, o := range ev.Observables {
		obs = append(obs, map[string]any{"name": o.Name, "type_id": num(int64(o.TypeID)), "value": o.Value})
	}
	unmapped := map[string]any{}
	for k, v := range ev.Unmapped {
		unmapped[k] = v
	}
	var msg any
	if ev.Message != "" {
		msg = ev.Message
	}
	return map[string]any{
		"activity_id": num(int64(ev.ActivityID)), "category_uid": num(int64(ev.CategoryUID)),
		"class_uid": num(int64(ev.Class)), "type_uid": strconv.FormatInt(ev.TypeUID, 10),
		"severity_id": num(int64(ev.SeverityID)), "time": strconv.FormatInt(ev.Time, 10),
		"message": msg,
		"metadata": map[string]any{"version": ev.Metadata.Version, "uid": ev.Metadata.UID,
			"product": map[string]any{"name": ev.Metadata.Product.Name, "vendor_name": ev.Metadata.Product.VendorName}},
		"cloud": map[string]any{"provider": ev.Cloud.Provider, "region": ev.Cloud.Region,
			"account": map[string]any{"uid": ev.Cloud.Account.UID}},
		"observables": obs,
		"unmapped":    unmapped,
		"raw_data":    ev.RawData,
	}
}

// An independent reader (hyparquet, JavaScript) reads every object back: each is zstd
// Parquet, and each row is the event of its record, column by column.
func TestIndependentReader(t *testing.T) {
	npmModules(t) // fail early, before moto starts, when the reader is missing
	eachBackend(t, func(t *testing.T, m *backend) {
		bucket := m.bucket(t)
		cfg := m.testConfig(bucket)
		cfg.RowGroupSize = 64 << 10 // several row groups in an object
		d := newTestDest(t, cfg)
		recs := []*event.Record{
			rec("r1", `"msg":"ünïcødé — 日本語 — 😀","account":"111122223333","region":"eu-west-1"`),
			rec("r2", `"msg":"quote \" backslash \\ newline \n tab \t nul \u0000 \u2028"`),
			rec("r3", `"class":3002,"msg":"<html> & 'apos'"`),
			rec("r4", ``),
			rec("r5", `"msg":"`+strings.Repeat("long ", 20000)+`"`),
			rec("r6", `"time":1796205600123,"n":12345678901234567890`),
		}
		for i := range 200 {
			recs = append(recs, rec(fmt.Sprint("bulk-", i), fmt.Sprintf(`"msg":"bulk record %d","time":%d`, i, testDay.UnixMilli()+int64(i))))
		}
		if err := d.Write(context.Background(), recs); err != nil {
			t.Fatalf("Write: %v", err)
		}
		want := map[string]map[string]any{}
		for _, r := range recs {
			ev, err := testMapper().Map(r)
			if err != nil {
				t.Fatal(err)
			}
			want[r.ID] = expectedRow(ev.(*testEvent))
		}
		dir := t.TempDir()
		var files []string
		for i, o := range m.objects(t, bucket) {
			f := filepath.Join(dir, fmt.Sprintf("%d.parquet", i))
			if err := os.WriteFile(f, o.body, 0o600); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		if len(files) != 4 {
			t.Fatalf("%d objects, want 4 (two accounts, two classes, two days)", len(files))
		}
		seen, groups := 0, 0
		for _, f := range readWithHyparquet(t, files) {
			groups = max(groups, f.RowGroups)
			if !reflect.DeepEqual(f.Codecs, []string{"ZSTD"}) {
				t.Errorf("%s: column chunks compressed with %v, want ZSTD only", f.File, f.Codecs)
			}
			for _, row := range f.Rows {
				md, _ := row["metadata"].(map[string]any)
				id, _ := md["uid"].(string)
				w, ok := want[id]
				if !ok {
					t.Errorf("%s: a row of no record written: %v", f.File, row)
					continue
				}
				delete(want, id)
				seen++
				if !reflect.DeepEqual(row, w) {
					gb, _ := json.Marshal(row)
					wb, _ := json.Marshal(w)
					t.Errorf("%s: row %s reads back as\n  %.600s\nwant\n  %.600s", f.File, id, gb, wb)
				}
			}
		}
		if len(want) > 0 {
			t.Errorf("%d records not read back, %d were", len(want), seen)
		}
		if groups < 2 {
			t.Errorf("no object of several row groups was read (the largest has %d)", groups)
		}
	})
}
