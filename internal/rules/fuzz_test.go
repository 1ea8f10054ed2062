package rules

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
)

// fuzzRecords are seed records: the package's samples, the mapping package's Netskope records
// and the Netskope audit records of the repository's testdata/netskope.
func fuzzRecords(f *testing.F) [][]byte {
	f.Helper()
	out := [][]byte{[]byte(sample), []byte(dlpAlert), []byte(mongoSample), []byte(`{}`), []byte(`[]`), []byte(`{"a":1}{"b":2}`)}
	files, _ := filepath.Glob(filepath.Join("..", "mapping", "testdata", "records", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			out = append(out, b)
		}
	}
	if fh, err := os.Open("../../testdata/netskope/panther-audit-tests.ndjson"); err == nil {
		defer fh.Close()
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var line struct {
				Log json.RawMessage `json:"log"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && len(line.Log) > 0 {
				out = append(out, line.Log)
			}
		}
	}
	return out
}

// FuzzExpr: an expression either fails to compile with an error, or gives a rule that judges
// any record (a result or an error, never a panic, never true with an error) without changing
// the record's fields, which every route and worker share.
func FuzzExpr(f *testing.F) {
	exprs := []string{
		`severity == "high"`, `bytes > 1000 && ratio < 1`, `transaction_id == 1234567890123456789`,
		`"admin" in user.roles`, `$env["weird-key"] == "w"`, `missing?.name == "x"`,
		`severity matches "^h.+h$"`, `len(user.roles) == 2`, `any(tags, # == "a")`,
		`user.address.city startsWith "L"`, `alert_type in ["dlp", "malware"] and not (severity == "low")`,
		`id > 9223372036854775807`, `nested.n > 1e19`, `list[0] > 0`, `count > 1`, `type == "dlp"`,
		"severity == \"high\"\n  && bytes > 1000", `upper(severity) == "HIGH"`, `filter(tags, # != "b")[0] == "a"`,
	}
	recs := fuzzRecords(f)
	for i, e := range exprs {
		f.Add(e, recs[i%len(recs)])
	}
	f.Fuzz(func(t *testing.T, src string, raw []byte) {
		rule, err := CompileExpr("fuzz", src)
		if err != nil {
			if rule != nil {
				t.Fatalf("CompileExpr = %v with error %v", rule, err)
			}
			return
		}
		if rule == nil || rule.Name() != "fuzz" || rule.MatchesAll() {
			t.Fatalf("CompileExpr(%q) = %v", src, rule)
		}
		r := &event.Record{Raw: raw}
		fields, ferr := r.Fields()
		var before []byte
		if ferr == nil {
			before, _ = json.Marshal(fields)
		}
		ok, err := rule.Match(r)
		if ferr != nil {
			if err == nil || ok {
				t.Fatalf("Match on an undecodable record = %v, %v", ok, err)
			}
			return
		}
		if err != nil && ok {
			t.Fatalf("Match = true with error %v", err)
		}
		after, _ := json.Marshal(fields)
		if string(before) != string(after) {
			t.Fatalf("Match changed the record's fields:\nbefore %s\nafter  %s", before, after)
		}
	})
}
