package rules

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/logshipper/logshipper/internal/event"
)

// mongoSample holds a value of every type a record holds, and the shapes that paths go through.
const mongoSample = `{
	"severity": "high",
	"alert_type": "dlp",
	"type": "nspolicy",
	"count": 3,
	"bytes": 2048,
	"ratio": 0.75,
	"transaction_id": 1234567890123456789,
	"big": 18446744073709551615,
	"negative": -42,
	"ok": true,
	"off": false,
	"nothing": null,
	"url": "https://www.Example.COM/path?q=1",
	"plain": "abc",
	"app": "Box (Personal)",
	"city": "Ærøskøbing",
	"kelvin": "273 \u212a",
	"line": "abc\n",
	"multi": "one\ntwo",
	"timestamp": 1700000000,
	"created": "2023-11-14T22:13:20Z",
	"created_offset": "2023-11-15T00:13:20.250+02:00",
	"user": {"name": "alice", "roles": ["admin", "ops"], "address": {"city": "Lyon"}},
	"tags": ["a", "b"],
	"scores": [1, 10],
	"empty": [],
	"files": [{"name": "a.pdf", "size": 10}, {"name": "b.docx", "size": 2000}, "loose"],
	"matrix": [[1, 2], [3]],
	"dotted.key": 7,
	"weird-key": "w"
}`

func TestCompileMongoMatch(t *testing.T) {
	tests := []struct {
		filter string
		want   bool
	}{
		// empty filter and logical operators
		{`{}`, true},
		{`{"$and": [{}]}`, true},
		{`{"severity": "high", "alert_type": "dlp"}`, true},
		{`{"severity": "high", "alert_type": "malware"}`, false},
		{`{"$and": [{"severity": "high"}, {"bytes": {"$gt": 1000}}]}`, true},
		{`{"$and": [{"severity": "high"}, {"bytes": {"$gt": 5000}}]}`, false},
		{`{"$or": [{"severity": "low"}, {"bytes": {"$gt": 1000}}]}`, true},
		{`{"$or": [{"severity": "low"}, {"bytes": {"$gt": 5000}}]}`, false},
		{`{"$nor": [{"severity": "low"}, {"bytes": {"$gt": 5000}}]}`, true},
		{`{"$nor": [{"severity": "low"}, {"bytes": {"$gt": 1000}}]}`, false},
		{`{"$and": [{"$or": [{"type": "x"}, {"type": "nspolicy"}]}, {"$nor": [{"ok": false}]}]}`, true},
		{`{"severity": "high", "$or": [{"count": 2}, {"count": 3}]}`, true},

		// strings, as Cloud Exchange compares them: equality regardless of case
		{`{"severity": "high"}`, true},
		{`{"severity": "HIGH"}`, true},
		{`{"severity": "hig"}`, false},
		{`{"severity": {"$eq": "High"}}`, true},
		{`{"severity": {"$eq": "low"}}`, false},
		{`{"severity": {"$ne": "HIGH"}}`, false},
		{`{"severity": {"$ne": "low"}}`, true},
		{`{"missing": {"$ne": "x"}}`, true},
		{`{"missing": "x"}`, false},
		{`{"city": "ÆRØSKØBING"}`, true},
		{`{"line": "ABC"}`, true}, // Python's $ matches before a final newline
		{`{"plain": "ABC\n"}`, false},
		// $regex alone is Cloud Exchange's "Like": a regular expression searched in the field,
		// with case, as in MongoDB and Cloud Exchange's evaluator
		{`{"severity": {"$regex": "IG"}}`, false},
		{`{"severity": {"$regex": "ig"}}`, true},
		{`{"severity": {"$regex": "IG", "$options": "i"}}`, true},
		{`{"severity": {"$regex": "low"}}`, false},
		{`{"url": {"$regex": "example.com"}}`, false}, // the URL says Example.COM
		{`{"url": {"$regex": "Example.COM"}}`, true},
		{`{"url": {"$regex": "example.com", "$options": "i"}}`, true},
		{`{"url": {"$regex": "example.org"}}`, false},
		{`{"plain": {"$regex": "a.c"}}`, true}, // a pattern: . is any character
		{`{"plain": {"$regex": "^ABC$"}}`, false},
		{`{"plain": {"$regex": "^abc$"}}`, true},
		{`{"plain": {"$regex": "^b"}}`, false},
		{`{"severity": {"$regex": "^(low|HIGH)$"}}`, false},
		{`{"severity": {"$regex": "^(low|high)$"}}`, true},
		{`{"severity": {"$regex": "^(low|medium)$"}}`, false},
		{`{"url": {"$regex": "Example\\.COM/path"}}`, true},
		{`{"url": {"$regex": "example\\.com/path", "$options": "i"}}`, true},
		{`{"url": {"$regex": "example\\.org"}}`, false},
		{`{"app": {"$regex": "Box \\(Personal"}}`, true},
		{`{"app": {"$regex": "box \\(personal", "$options": "i"}}`, true},
		{`{"app": {"$regex": "\\[personal"}}`, false},
		{`{"kelvin": {"$regex": "k"}}`, false},
		{`{"kelvin": {"$regex": "k", "$options": "i"}}`, true}, // U+212A KELVIN SIGN folds to k
		{`{"kelvin": {"$regex": "^273 k$", "$options": "i"}}`, true},
		{`{"city": {"$regex": "SKØB"}}`, false},
		{`{"city": {"$regex": "SKØB", "$options": "i"}}`, true},
		{`{"severity": {"$regex": ""}}`, true},
		{`{"bytes": {"$regex": "20"}}`, false}, // not a string
		{`{"missing": {"$regex": ""}}`, false},
		// $not with a string is Cloud Exchange's "Not Like"
		{`{"severity": {"$not": "xyz"}}`, true},
		{`{"severity": {"$not": "IG"}}`, true}, // with case, as $regex
		{`{"severity": {"$not": "ig"}}`, false},
		{`{"missing": {"$not": "IG"}}`, true},
		{`{"severity": {"$not": "^h.*h$"}}`, false}, // a pattern, as $regex's
		{`{"severity": {"$not": "^l.*w$"}}`, true},
		// $in and $nin compare exactly, with case, as Cloud Exchange does
		{`{"alert_type": {"$in": ["dlp", "malware"]}}`, true},
		{`{"alert_type": {"$in": ["DLP", "malware"]}}`, false},
		{`{"alert_type": {"$nin": ["dlp", "malware"]}}`, false},
		{`{"alert_type": {"$nin": ["DLP"]}}`, true},
		{`{"alert_type": {"$in": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "dlp"]}}`, true},
		{`{"alert_type": {"$in": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "DLP"]}}`, false},
		{`{"alert_type": {"$in": []}}`, false},
		{`{"alert_type": {"$nin": []}}`, true},
		// strings order byte-wise
		{`{"severity": {"$gt": "a"}}`, true},
		{`{"severity": {"$lt": "a"}}`, false},
		{`{"severity": {"$gte": "high", "$lte": "high"}}`, true},

		// $regex with $options is a regular expression (RE2)
		{`{"severity": {"$regex": "^h.+h$", "$options": ""}}`, true},
		{`{"plain": {"$regex": "a.c", "$options": ""}}`, true},
		{`{"severity": {"$regex": "^H", "$options": ""}}`, false},
		{`{"severity": {"$regex": "^H", "$options": "i"}}`, true},
		{`{"multi": {"$regex": "^two$", "$options": ""}}`, false},
		{`{"multi": {"$regex": "^two$", "$options": "m"}}`, true},
		{`{"multi": {"$regex": "one.two", "$options": ""}}`, false},
		{`{"multi": {"$regex": "one.two", "$options": "s"}}`, true},
		{`{"severity": {"$not": {"$regex": "^l", "$options": ""}}}`, true},
		{`{"tags": {"$regex": "^B$", "$options": "i"}}`, true},
		{`{"count": {"$regex": "3", "$options": ""}}`, false},
		{`{"plain": {"$regex": "B", "$options": ""}}`, false}, // $options without i: case counts
		{"{\"severity\": {\"$regex\": \"^ h i g h $ # the level\", \"$options\": \"x\"}}", true},
		{"{\"app\": {\"$regex\": \"box[ ]\\\\( per sonal \\\\)\", \"$options\": \"xi\"}}", true},
		{"{\"app\": {\"$regex\": \"box[ ]\\\\( per sonal \\\\)\", \"$options\": \"x\"}}", false},
		{`{"plain": {"$regex": "a\\ b", "$options": "x"}}`, false}, // an escaped space stays

		// numbers: int64, uint64 and float64 compare exactly with each other
		{`{"bytes": 2048}`, true},
		{`{"bytes": 2048.0}`, true},
		{`{"bytes": 2049}`, false},
		{`{"bytes": {"$gt": 1000}}`, true},
		{`{"bytes": {"$gte": 2048}}`, true},
		{`{"bytes": {"$gt": 2048}}`, false},
		{`{"bytes": {"$lt": 2048.5}}`, true},
		{`{"bytes": {"$lte": 2047.9}}`, false},
		{`{"bytes": {"$gt": 1000, "$lt": 3000}}`, true},
		{`{"bytes": {"$eq": 2048}}`, true},
		{`{"bytes": {"$ne": 2048}}`, false},
		{`{"bytes": {"$in": [1024, 2048]}}`, true},
		{`{"bytes": {"$in": [1024.0, 2048.0]}}`, true},
		{`{"bytes": {"$nin": [1, 2]}}`, true},
		{`{"ratio": 0.75}`, true},
		{`{"ratio": {"$gt": 0, "$lt": 1}}`, true},
		{`{"negative": {"$lt": 0}}`, true},
		{`{"negative": -42}`, true},
		{`{"negative": {"$gt": -42.5}}`, true},
		// a 19-digit id is compared exactly, not as a float64
		{`{"transaction_id": 1234567890123456789}`, true},
		{`{"transaction_id": 1234567890123456788}`, false},
		{`{"transaction_id": 1234567890123456790}`, false},
		{`{"transaction_id": 1234567890123456789.0}`, false}, // the float is 1234567890123456768
		{`{"transaction_id": 1234567890123456768.0}`, false},
		{`{"transaction_id": {"$gt": 1234567890123456788}}`, true},
		{`{"transaction_id": {"$lt": 1234567890123456789}}`, false},
		{`{"transaction_id": {"$lte": 1234567890123456789}}`, true},
		{`{"transaction_id": {"$gt": 1234567890123456768.0}}`, true},
		{`{"transaction_id": {"$in": [1, 1234567890123456789]}}`, true},
		{`{"transaction_id": {"$in": [1234567890123456788, 1234567890123456790]}}`, false},
		{`{"transaction_id": {"$ne": 1234567890123456788}}`, true},
		// beyond int64
		{`{"big": 18446744073709551615}`, true},
		{`{"big": 18446744073709551614}`, false},
		{`{"big": {"$gt": 9223372036854775807}}`, true},
		{`{"big": {"$lt": 18446744073709551616.0}}`, true},
		{`{"big": {"$gte": 18446744073709551616.0}}`, false},
		{`{"negative": {"$lt": 18446744073709551615}}`, true},
		// numbers compare with numbers only
		{`{"bytes": "2048"}`, false},
		{`{"bytes": {"$in": ["2048"]}}`, false},
		{`{"severity": {"$gt": 5}}`, false},
		{`{"severity": {"$lt": 5}}`, false},
		{`{"bytes": {"$gt": "1000"}}`, false},
		{`{"ok": 1}`, false},

		// booleans
		{`{"ok": true}`, true},
		{`{"ok": false}`, false},
		{`{"off": false}`, true},
		{`{"ok": {"$ne": true}}`, false},
		{`{"ok": {"$in": [true]}}`, true},
		{`{"ok": {"$gt": false}}`, true},
		{`{"ok": "true"}`, false},

		// null and missing fields, as in MongoDB: null equals a missing field
		{`{"nothing": null}`, true},
		{`{"missing": null}`, true},
		{`{"severity": null}`, false},
		{`{"nothing": {"$eq": null}}`, true},
		{`{"nothing": {"$ne": null}}`, false},
		{`{"severity": {"$ne": null}}`, true},
		{`{"missing": {"$ne": null}}`, false},
		{`{"nothing": {"$in": ["null"]}}`, true}, // Cloud Exchange writes null in $in as "null"
		{`{"missing": {"$in": [null]}}`, true},
		{`{"missing": {"$nin": ["null"]}}`, false},
		{`{"severity": {"$nin": ["null"]}}`, true},
		{`{"missing": {"$gte": null}}`, true},
		{`{"nothing": {"$gt": null}}`, false},
		{`{"missing": {"$gt": 1}}`, false},
		{`{"missing": {"$lt": 1}}`, false},
		{`{"nothing": {"$lt": 1}}`, false},
		// $exists
		{`{"nothing": {"$exists": true}}`, true},
		{`{"missing": {"$exists": true}}`, false},
		{`{"missing": {"$exists": false}}`, true},
		{`{"severity": {"$exists": false}}`, false},
		{`{"severity": {"$exists": 1}}`, true},
		{`{"severity": {"$exists": 0}}`, false},
		{`{"empty": {"$exists": true}}`, true},
		{`{"user.name": {"$exists": true}}`, true},
		{`{"user.nope": {"$exists": false}}`, true},
		{`{"severity.x": {"$exists": false}}`, true},

		// nested fields
		{`{"user.name": "alice"}`, true},
		{`{"user.name": "ALICE"}`, true},
		{`{"user.name": "bob"}`, false},
		{`{"user.address.city": "lyon"}`, true},
		{`{"user%address%city": "Lyon"}`, true}, // Cloud Exchange writes . as %
		{`{"user": {"name": "alice"}}`, true},   // an object of sub-field conditions
		{`{"user": {"name": "alice", "address": {"city": {"$in": ["Lyon"]}}}}`, true},
		{`{"user": {"name": "alice", "address": {"city": {"$in": ["Paris"]}}}}`, false},
		{`{"user": {"$exists": true, "name": {"$regex": "lic"}}}`, true},
		{`{"user.name.first": "x"}`, false},
		{`{"user.name.first": {"$exists": false}}`, true},
		{`{"user.missing": null}`, true},
		{`{"dotted.key": 7}`, true}, // a key with a dot in it
		{`{"weird-key": "W"}`, true},

		// arrays: a field holding an array matches when an element does
		{`{"tags": "a"}`, true},
		{`{"tags": "A"}`, true},
		{`{"tags": "z"}`, false},
		{`{"tags": {"$in": ["b", "z"]}}`, true},
		{`{"tags": {"$in": ["z"]}}`, false},
		{`{"tags": {"$nin": ["a"]}}`, false},
		{`{"tags": {"$nin": ["z"]}}`, true},
		{`{"tags": {"$ne": "a"}}`, false},
		{`{"tags": {"$ne": "z"}}`, true},
		{`{"tags": {"$regex": "b"}}`, true},
		{`{"tags": {"$not": "b"}}`, false},
		{`{"tags": ["a", "b"]}`, true}, // or when the whole array is equal
		{`{"tags": ["b", "a"]}`, false},
		{`{"tags": {"$in": [["a", "b"]]}}`, true},
		{`{"tags.0": "a"}`, true},
		{`{"tags.1": "a"}`, false},
		{`{"tags.5": {"$exists": false}}`, true},
		{`{"user.roles": "ops"}`, true},
		{`{"scores": 10}`, true},
		{`{"scores": {"$gt": 5}}`, true},
		{`{"scores": {"$gt": 50}}`, false},
		{`{"scores": {"$gt": 5, "$lt": 3}}`, true}, // each operator by any element, as in MongoDB
		{`{"scores": {"$not": {"$gt": 5, "$lt": 3}}}`, false},
		{`{"empty": "x"}`, false},
		{`{"empty": []}`, true},
		{`{"empty": {"$ne": "x"}}`, true},
		{`{"files.name": "b.docx"}`, true},
		{`{"files.name": "c.docx"}`, false},
		{`{"files.name": {"$regex": "PDF", "$options": "i"}}`, true},
		{`{"files.size": {"$gt": 1000}}`, true},
		{`{"files.size": {"$gt": 5000}}`, false},
		{`{"files.1.name": "b.docx"}`, true},
		{`{"files.0.name": "b.docx"}`, false},
		{`{"files.missing": null}`, true},
		{`{"files.name": {"$exists": true}}`, true},
		{`{"files": "loose"}`, true},
		{`{"matrix": [3]}`, true},
		{`{"matrix": 3}`, false}, // arrays are opened one level only
		{`{"matrix.0": [1, 2]}`, true},

		// dates: ISO 8601 strings compare as dates with dates (RFC 3339) and with Unix seconds
		{`{"timestamp": {"$gt": "2023-11-14T00:00:00Z"}}`, true},
		{`{"timestamp": {"$lt": "2023-11-14T00:00:00Z"}}`, false},
		{`{"timestamp": {"$gte": "2023-11-14T22:13:20Z", "$lte": "2023-11-14T22:13:20Z"}}`, true},
		{`{"timestamp": {"$gt": "2023-11-15T00:13:19+02:00"}}`, true},
		{`{"timestamp": {"$gt": "2023-11-15T00:13:21+0200"}}`, false},
		{`{"timestamp": "2023-11-14T22:13:20Z"}`, true},
		{`{"timestamp": {"$ne": "2023-11-14T22:13:20Z"}}`, false},
		{`{"timestamp": {"$not": {"$gt": "2024-01-01T00:00:00Z"}}}`, true},
		{`{"created": {"$gte": "2023-11-14T22:13:20Z"}}`, true},
		{`{"created": "2023-11-14T22:13:20.000Z"}`, true},
		{`{"created": {"$eq": "2023-11-14t22:13:20z"}}`, true}, // $eq compares strings
		{`{"created_offset": {"$gt": "2023-11-14T22:13:20Z"}}`, true},
		{`{"created_offset": {"$lt": "2023-11-14T22:13:21Z"}}`, true},
		{`{"created": {"$not": "2023-11-14T22:13:20Z"}}`, false},
		{`{"severity": {"$gt": "2023-01-01T00:00:00Z"}}`, false},
		{`{"timestamp": {"$gt": {"__RELATIVE__": {"__amount__": -36500, "__unit__": "day"}}}}`, true},
		{`{"timestamp": {"$gt": {"__RELATIVE__": {"__amount__": -1, "__unit__": "hour"}}}}`, false},
		{`{"timestamp": {"$lt": {"__RELATIVE__": {"__amount__": 5, "__unit__": "minute"}}}}`, true},

		// Cloud Exchange's exports: the "mongo" string, its whole "filters" object, a JSON string
		{`{"$and":[{"alert_type":{"$in":["dlp","malware"]}}]}`, true},
		{`{"$and":[{"alert_type":{"$in":["dlp","malware"]}},{"severity":{"$in":["critical"]}}]}`, false},
		{`{"query": "alert_type IN (\"dlp\")", "mongo": "{\"$and\":[{\"alert_type\":{\"$in\":[\"dlp\"]}}]}", "isValid": true}`, true},
		{`{"mongo": "{\"$and\":[{\"alert_type\":{\"$in\":[\"malware\"]}}]}"}`, false},
		{`"{\"severity\": \"high\"}"`, true},
		{`{"$and":[{"severity":"High"},{"url":{"$regex":"EXAMPLE","$options":"i"}},{"bytes":{"$gte":1024}}]}`, true},
		{`{"$or":[{"user%name":{"$regex":"bob"}},{"type":{"$ne":"nspolicy"}}]}`, false},
	}
	r := rec(mongoSample)
	if _, err := r.Fields(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			rule, err := CompileMongo("r", tc.filter)
			if err != nil {
				t.Fatalf("CompileMongo: %v", err)
			}
			if rule.Name() != "r" || rule.MatchesAll() {
				t.Fatalf("Name = %q, MatchesAll = %v", rule.Name(), rule.MatchesAll())
			}
			got, err := rule.Match(r)
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			if got != tc.want {
				t.Fatalf("Match = %v; want %v", got, tc.want)
			}
		})
	}
}

// A filter may come decoded, from YAML or JSON, or written in Go; it means the same.
func TestCompileMongoValues(t *testing.T) {
	r := rec(mongoSample)
	var fromYAML any
	if err := yaml.Unmarshal([]byte(`
$and:
  - alert_type: {$in: [dlp, malware]}
  - transaction_id: 1234567890123456789
  - big: 18446744073709551615
  - ratio: {$lt: 1}
  - timestamp: {$gt: 2023-11-14T00:00:00Z}
  - user:
      name: ALICE
      address.city: Lyon
  - 1: {$exists: false}
`), &fromYAML); err != nil {
		t.Fatal(err)
	}
	var fromJSON any
	dec := json.NewDecoder(strings.NewReader(`{"transaction_id": 1234567890123456789, "severity": {"$in": ["high"]}}`))
	dec.UseNumber()
	if err := dec.Decode(&fromJSON); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		filter any
		want   bool
	}{
		{"yaml", fromYAML, true},
		{"json with numbers", fromJSON, true},
		{"bytes", []byte(`{"severity": "high"}`), true},
		{"raw message", json.RawMessage(`{"severity": "low"}`), false},
		{"go map", map[string]any{"bytes": 2048, "severity": map[string]any{"$in": []string{"high"}}}, true},
		{"go map with int types", map[string]any{"count": int8(3), "bytes": uint16(2048), "ratio": float32(0.75)}, true},
		{"uint64", map[string]any{"big": uint64(18446744073709551615)}, true},
		{"map of strings", map[string]string{"severity": "HIGH"}, true},
		{"any keys", map[any]any{"severity": "high", "count": map[any]any{"$gte": 3}}, true},
		{"time", map[string]any{"created": time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC)}, true},
		{"time operand", map[string]any{"timestamp": map[string]any{"$lt": time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC)}}, false},
		{"pointer", &map[string]any{"ok": true}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rule, err := CompileMongo("r", tc.filter)
			if err != nil {
				t.Fatalf("CompileMongo: %v", err)
			}
			got, err := rule.Match(r)
			if err != nil || got != tc.want {
				t.Fatalf("Match = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestCompileMongoErrors(t *testing.T) {
	tests := []struct {
		name    string
		filter  any
		path    string // FilterError.Path
		wantSub string // in the error's text
	}{
		{"bad operator", `{"severity": {"$regx": "high"}}`, "severity.$regx", `unknown operator "$regx" (did you mean "$regex"?)`},
		{"unknown operator", `{"severity": {"$frobnicate": 1}}`, "severity.$frobnicate", `unknown operator "$frobnicate" (known here: $eq, $ne`},
		{"logical on a field", `{"severity": {"$or": [{"a": 1}]}}`, "severity.$or", "$or is not allowed here: it goes at the top of a filter"},
		{"field operator at the top", `{"$in": ["a"]}`, "$in", `$in is not allowed here: it goes in a field's condition`},
		{"top-level $not", `{"$not": {"a": 1}}`, "$not", "in a field's condition"},
		{"misspelt $and", `{"$adn": [{"a": 1}]}`, "$adn", `did you mean "$and"?`},
		{"unsupported", `{"files": {"$elemMatch": {"size": 1}}}`, "files.$elemMatch", "the operator $elemMatch is not supported"},
		{"$where", `{"$where": "this.a == 1"}`, "$where", "no JavaScript"},
		{"bad regex", `{"$and": [{"alert_type": "dlp"}, {"severity": {"$regex": "(high", "$options": "i"}}]}`, "$and[1].severity.$regex", `missing closing ) in "(high"`},
		{"lookahead", `{"a": {"$regex": "foo(?=bar)", "$options": ""}}`, "a.$regex", "no lookahead"},
		{"backreference", `{"a": {"$regex": "(a)\\1", "$options": ""}}`, "a.$regex", "no backreferences"},
		{"possessive", `{"a": {"$regex": "a++", "$options": ""}}`, "a.$regex", "possessive"},
		{"unknown option", `{"a": {"$regex": "a", "$options": "q"}}`, "a.$options", `unknown option 'q' (known: i, m, s, x)`},
		{"bad regex alone", `{"a": {"$regex": "box (personal"}}`, "a.$regex", `missing closing ) in "box (personal"`},
		{"lookbehind alone", `{"a": {"$regex": "(?<!x)y"}}`, "a.$regex", "no lookahead, lookbehind"},
		{"backreference alone", `{"a": {"$regex": "(a)\\1"}}`, "a.$regex", "no backreferences"},
		{"named backreference", `{"a": {"$regex": "(?P<x>a)(?P=x)"}}`, "a.$regex", "no backreferences"},
		{"python end of text", `{"a": {"$regex": "a\\Z"}}`, "a.$regex", `write \z for the end of the text`},
		{"bad $not pattern", `{"a": {"$not": "[x"}}`, "a.$not", `missing closing ] in "[x"`},
		{"options not a string", `{"a": {"$regex": "a", "$options": 1}}`, "a.$options", "takes a string of options"},
		{"options alone", `{"a": {"$options": "i"}}`, "a.$options", "no $regex beside it"},
		{"regex not a string", `{"a": {"$regex": 5}}`, "a.$regex", "$regex takes a string, not a number"},
		{"$and not a list", `{"$and": {"a": 1}}`, "$and", "$and takes a list of conditions, not an object"},
		{"$or empty", `{"$or": []}`, "$or", "the list is empty"},
		{"$nor item", `{"$nor": [{"a": 1}, "b"]}`, "$nor[1]", `an item of $nor is an object of conditions, not the string "b"`},
		{"nested error path", `{"$or": [{"a": 1}, {"$and": [{"b": {"$gt": [1]}}]}]}`, "$or[1].$and[0].b.$gt", "$gt takes a number, a string or a date, not a list"},
		{"$gt object", `{"a": {"$gt": {"b": 1}}}`, "a.$gt", "not an object"},
		{"$in not a list", `{"a": {"$in": "x"}}`, "a.$in", "$in takes a list of values, not the string"},
		{"$in object", `{"a": {"$nin": [1, {"b": 2}]}}`, "a.$nin[1]", "cannot be compared with an object"},
		{"$exists string", `{"a": {"$exists": "yes"}}`, "a.$exists", "$exists takes true or false"},
		{"$not number", `{"a": {"$not": 5}}`, "a.$not", "$not takes an operator expression"},
		{"$not empty", `{"a": {"$not": {}}}`, "a.$not", "the object is empty"},
		{"$not field", `{"a": {"$not": {"b": 1}}}`, "a.$not.b", `"b" is not an operator`},
		{"$eq object", `{"a": {"$eq": {"b": 1}}}`, "a.$eq", "equality with an object is not supported"},
		{"empty condition", `{"a": {}}`, "a", "the condition is an empty object"},
		{"empty field name", `{"": 1}`, "", "a field name is empty"},
		{"empty path part", `{"a..b": 1}`, "a..b", `the field path "a..b" has an empty part`},
		{"relative unit", `{"t": {"$gt": {"__RELATIVE__": {"__amount__": 1, "__unit__": "week"}}}}`, "t.$gt.__RELATIVE__.__unit__", `takes "day", "hour" or "minute"`},
		{"relative amount", `{"t": {"$gt": {"__RELATIVE__": {"__amount__": 1.5, "__unit__": "day"}}}}`, "t.$gt.__RELATIVE__.__amount__", "whole number"},
		{"relative incomplete", `{"t": {"$gt": {"__RELATIVE__": {"__unit__": "day"}}}}`, "t.$gt.__RELATIVE__", "needs both"},
		{"relative huge", `{"t": {"$gt": {"__RELATIVE__": {"__amount__": 9223372036854775807, "__unit__": "day"}}}}`, "t.$gt.__RELATIVE__", "too large"},
		{"duplicate key", `{"a": 1, "b": {"c": 1, "c": 2}}`, "b.c", `the key "c" appears twice`},
		{"bad JSON", `{"a": }`, "", "invalid JSON at line 1, column 7"},
		{"bad JSON second line", "{\"a\": 1,\n \"b\" 2}", "", "invalid JSON at line 2, column 6"},
		{"truncated JSON", `{"a": [1, 2`, "", "unexpected end of the JSON text"},
		{"trailing data", `{"a": 1} {"b": 2}`, "", "unexpected data after the JSON value"},
		{"empty text", "  ", "", "the filter is empty"},
		{"number out of range", `{"a": 1e400}`, "a", "the number 1e400 is out of range"},
		{"top-level list", `[{"a": 1}]`, "", "a filter is an object of field conditions, such as {\"severity\": \"high\"}, not a list"},
		{"top-level number", 5, "", "not a number"},
		{"string not JSON", `"severity == high"`, "", "invalid JSON"},
		{"bad mongo string", `{"mongo": "{\"a\": }"}`, "", "mongo: invalid JSON"},
		{"deep", strings.Repeat(`{"$and": [`, 60) + `{}` + strings.Repeat(`]}`, 60), strings.Repeat("$and[0].", 50) + "$and", "nested more than 100 levels deep"},
		{"go value", map[string]any{"a": make(chan int)}, "a", "a value of type chan int cannot be in a filter"},
		{"NaN", map[string]any{"a": map[string]any{"$gt": nanValue()}}, "a.$gt", "NaN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := CompileMongo("my-rule", tc.filter)
			if err == nil {
				t.Fatalf("CompileMongo = %v; want an error", r)
			}
			if r != nil {
				t.Errorf("CompileMongo returned a rule with its error")
			}
			var fe *FilterError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FilterError: %v", err, err)
			}
			if fe.Rule != "my-rule" || !strings.HasPrefix(err.Error(), `rule "my-rule": `) {
				t.Errorf("error %q does not name the rule", err)
			}
			if fe.Path != tc.path {
				t.Errorf("Path = %q; want %q (error %q)", fe.Path, tc.path, err)
			}
			if !strings.Contains(fe.Problem(), tc.wantSub) {
				t.Errorf("error %q does not contain %q", fe.Problem(), tc.wantSub)
			}
			if tc.path != "" && !strings.HasPrefix(fe.Problem(), tc.path+": ") {
				t.Errorf("Problem %q does not start with the path", fe.Problem())
			}
		})
	}
}

func nanValue() float64 {
	var zero float64
	return zero / zero
}

func TestMongoMatchUndecodableRecord(t *testing.T) {
	rule, err := CompileMongo("r", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{``, `not json`, `[1,2]`, `null`} {
		got, err := rule.Match(rec(raw))
		if err == nil || got {
			t.Errorf("Match(%q) = %v, %v; want false and an error", raw, got, err)
		}
	}
}

// Records whose fields a source set, rather than decoded, hold other Go types.
func TestMongoMatchSetFields(t *testing.T) {
	r := &event.Record{}
	r.SetFields(map[string]any{
		"n":    int(5),
		"f":    float32(1.5),
		"u":    uint32(7),
		"j":    json.Number("1234567890123456789"),
		"when": time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		"m":    map[string]string{"a": "b"},
	})
	for filter, want := range map[string]bool{
		`{"n": 5}`:                   true,
		`{"n": {"$gt": 4.5}}`:        true,
		`{"f": 1.5}`:                 true,
		`{"u": {"$in": [7]}}`:        true,
		`{"j": 1234567890123456789}`: true,
		`{"when": {"$gt": "2024-01-01T00:00:00Z"}}`: true,
		`{"when": "2024-01-02T03:04:05Z"}`:          true,
		`{"m.a": "b"}`:                              false, // only map[string]any is an object
		`{"m": {"$exists": true}}`:                  true,
	} {
		rule, err := CompileMongo("r", filter)
		if err != nil {
			t.Fatalf("%s: %v", filter, err)
		}
		if got, err := rule.Match(r); err != nil || got != want {
			t.Errorf("%s: Match = %v, %v; want %v", filter, got, err, want)
		}
	}
}

func TestMongoInSet(t *testing.T) {
	// Many strings go into a map; it must mean the same as the list.
	rule, err := CompileMongo("r", `{"v": {"$in": ["a","b","c","d","e","f","g","h","i","j", 3, null]}}`)
	if err != nil {
		t.Fatal(err)
	}
	for raw, want := range map[string]bool{
		`{"v": "j"}`: true, `{"v": "J"}`: false, `{"v": 3}`: true, `{"v": 3.0}`: true,
		`{"v": null}`: true, `{}`: true, `{"v": 4}`: false, `{"v": ["x", "e"]}`: true,
	} {
		if got, err := rule.Match(rec(raw)); err != nil || got != want {
			t.Errorf("%s: Match = %v, %v; want %v", raw, got, err, want)
		}
	}
}

func TestCompareNumbers(t *testing.T) {
	n := func(v any) number {
		x, ok := toNumber(v)
		if !ok {
			t.Fatalf("toNumber(%v)", v)
		}
		return x
	}
	tests := []struct {
		a, b any
		want int
		ok   bool
	}{
		{int64(1), int64(2), -1, true},
		{int64(-1), uint64(1 << 63), -1, true},
		{uint64(1 << 63), int64(5), 1, true},
		{uint64(1<<64 - 1), uint64(1<<64 - 2), 1, true},
		{int64(9007199254740993), float64(9007199254740992), 1, true},
		{int64(-3), -2.5, -1, true},
		{int64(-2), -2.5, 1, true},
		{int64(3), 3.0, 0, true},
		{int64(1 << 62), 1e300, -1, true},
		{int64(-1 << 62), -1e300, 1, true},
		{uint64(1<<64 - 1), 1.8446744073709552e19, -1, true},
		{uint64(1<<63 + 1), 9.223372036854775808e18, 1, true},
		{uint64(1 << 63), -1.0, 1, true},
		{uint64(1 << 63), 0.5, 1, true},
		{2.5, int64(2), 1, true},
		{2.5, uint64(1 << 63), -1, true},
		{1.5, 1.5, 0, true},
		{nanValue(), 1.0, 0, false},
		{int64(1), nanValue(), 0, false},
		{uint64(1 << 63), nanValue(), 0, false},
	}
	for _, tc := range tests {
		got, ok := compareNumbers(n(tc.a), n(tc.b))
		if got != tc.want || ok != tc.ok {
			t.Errorf("compareNumbers(%v, %v) = %d, %v; want %d, %v", tc.a, tc.b, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFold(t *testing.T) {
	for _, tc := range []struct {
		s, sub string
		want   bool
	}{
		{"Hello World", "WORLD", true},
		{"Hello World", "worlds", false},
		{"Hello", "", true},
		{"", "a", false},
		{"straße", "STRASSE", false}, // simple folding, as Python's re and strings.EqualFold
		{"ÆRØ", "æRø", true},
		{"x\u212ay", "K", true},
		{"ſ", "S", true},
		{"aaab", "aab", true},
		{"\xff\xfeabc", "ABC", true},
	} {
		if got := newContainsFold(tc.sub).test(tc.s); got != tc.want {
			t.Errorf("contains(%q, %q) = %v; want %v", tc.s, tc.sub, got, tc.want)
		}
	}
}

func TestMongoMatchesAllAndSet(t *testing.T) {
	f, err := CompileMongo("filtered", `{"severity": "high"}`)
	if err != nil {
		t.Fatal(err)
	}
	e := mustCompile(t, "expr", `severity == "high"`)
	s, err := NewSet(f, e)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get("filtered"); got != f || got.MatchesAll() {
		t.Errorf("Get(filtered) = %v, MatchesAll %v", got, got.MatchesAll())
	}
	if _, err := NewSet(f, f); err == nil {
		t.Error("a filter rule defined twice is accepted")
	}
}

// Evaluating a filter allocates nothing.
func TestMongoMatchDoesNotAllocate(t *testing.T) {
	rule, err := CompileMongo("r", `{"$and": [
		{"severity": {"$in": ["high", "critical"]}},
		{"alert_type": "DLP"},
		{"user.name": {"$regex": "LIC", "$options": "i"}},
		{"files.size": {"$gt": 1000}},
		{"transaction_id": {"$ne": 1}},
		{"timestamp": {"$gt": {"__RELATIVE__": {"__amount__": -36500, "__unit__": "day"}}}},
		{"$or": [{"missing": {"$exists": true}}, {"tags": "b"}]}
	]}`)
	if err != nil {
		t.Fatal(err)
	}
	r := rec(mongoSample)
	if ok, err := rule.Match(r); !ok || err != nil {
		t.Fatalf("Match = %v, %v", ok, err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = rule.Match(r) }); n != 0 {
		t.Errorf("Match allocates %v times", n)
	}
}

func TestMongoMatchConcurrent(t *testing.T) {
	rules := []*Rule{}
	for _, f := range []string{
		`{"severity": "HIGH", "transaction_id": 1234567890123456789}`,
		`{"user.roles": {"$in": ["admin"]}}`,
		`{"bytes": {"$lt": 10}}`,
		`{"url": {"$regex": "example\\.com/", "$options": "i"}}`,
	} {
		r, err := CompileMongo("r", f)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, r)
	}
	want := []bool{true, true, false, true}
	records := make([]*event.Record, 50)
	for i := range records {
		records[i] = rec(mongoSample)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for _, r := range records {
				for i, rule := range rules {
					if got, err := rule.Match(r); err != nil || got != want[i] {
						t.Errorf("goroutine %d: rule %d: Match = %v, %v", g, i, got, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// dlpAlert is a Netskope DLP alert of a typical size.
const dlpAlert = `{"_id":"f3b1c2d4e5a6978899aabbcc","access_method":"Client","acked":"false","action":"block","activity":"Upload","alert":"yes","alert_name":"DLP-PCI-Upload","alert_type":"DLP","app":"Google Drive","appcategory":"Cloud Storage","category":"Cloud Storage","cci":85,"ccl":"high","count":1,"dlp_file":"q3-cards.xlsx","dlp_incident_id":4012345678901234567,"dlp_profile":"PCI-DSS","dlp_rule":"Credit Card Numbers","dlp_rule_count":14,"dlp_rule_severity":"High","dlp_unique_count":9,"dst_country":"US","dstip":"142.250.72.14","file_path":"/Finance/Reports/q3-cards.xlsx","file_size":48213,"file_type":"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet","hostname":"LAPTOP-7F3K2","md5":"9e107d9d372bb6826bd81d3542a419d6","object":"q3-cards.xlsx","object_type":"File","organization_unit":"Finance","os":"Windows 11","other_categories":["Cloud Storage","Collaboration"],"policy":"Block PCI uploads","severity":"high","site":"Google Drive","src_country":"FR","src_location":"Paris","srcip":"10.1.2.3","timestamp":1700000100,"traffic_type":"CloudApp","type":"nspolicy","url":"https://drive.google.com/upload","user":"alice@example.com","userip":"203.0.113.7","user_info":{"department":"Finance","title":"Analyst","manager":"bob@example.com"}}`

func TestDLPAlertSize(t *testing.T) {
	if n := len(dlpAlert); n < 1200 || n > 1400 {
		t.Errorf("the DLP alert is %d bytes; the benchmark wants about 1.3 kB", n)
	}
	rule, err := CompileMongo("r", benchFilter)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := rule.Match(rec(dlpAlert)); !ok || err != nil {
		t.Fatalf("Match = %v, %v", ok, err)
	}
}

// benchFilter is a Cloud Exchange rule of the usual shape over the DLP alert.
const benchFilter = `{"$and":[
	{"alert_type":{"$in":["DLP","Malware"]}},
	{"dlp_rule_severity":"high"},
	{"dlp_profile":{"$regex":"pci","$options":"i"}},
	{"dlp_incident_id":4012345678901234567},
	{"file_size":{"$gte":1024}},
	{"other_categories":{"$in":["Collaboration"]}},
	{"user_info%department":{"$ne":"HR"}},
	{"$or":[{"src_country":{"$nin":["US","CA"]}},{"action":"alert"}]}
]}`

func BenchmarkMongoMatch(b *testing.B) {
	rule, err := CompileMongo("bench", benchFilter)
	if err != nil {
		b.Fatal(err)
	}
	r := rec(dlpAlert)
	if ok, err := rule.Match(r); err != nil || !ok {
		b.Fatalf("Match = %v, %v", ok, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rule.Match(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMongoMatchRegex is the same with a regular expression instead of Cloud Exchange's
// "Like".
func BenchmarkMongoMatchRegex(b *testing.B) {
	rule, err := CompileMongo("bench", strings.Replace(benchFilter, `{"$regex":"pci"}`, `{"$regex":"^pci-","$options":"i"}`, 1))
	if err != nil {
		b.Fatal(err)
	}
	r := rec(dlpAlert)
	if ok, err := rule.Match(r); err != nil || !ok {
		b.Fatalf("Match = %v, %v", ok, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rule.Match(r); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzCompileMongo(f *testing.F) {
	for _, s := range []string{
		`{}`, benchFilter, `{"a": {"$regex": "(x", "$options": "i"}}`, `{"$or": [{"a.b.0": null}]}`,
		`{"t": {"$gt": {"__RELATIVE__": {"__amount__": -1, "__unit__": "day"}}}}`,
		`{"mongo": "{\"a\": 1}"}`, `"{\"a\": [1, 2.5, true, null]}"`, `{"a": {"$not": {"$in": ["null"]}}}`,
		`{"files": {"name": {"$exists": true}, "size": {"$lte": 18446744073709551615}}}`,
	} {
		f.Add(s)
	}
	records := []*event.Record{rec(mongoSample), rec(dlpAlert), rec(`{"a": {"b": [{"0": 1}, [null]]}}`)}
	for _, r := range records {
		if _, err := r.Fields(); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, filter string) {
		rule, err := CompileMongo("fuzz", filter)
		if err != nil {
			var fe *FilterError
			if rule != nil || !errors.As(err, &fe) || fe.Rule != "fuzz" {
				t.Fatalf("CompileMongo = %v, %v", rule, err)
			}
			return
		}
		for _, r := range records {
			if _, err := rule.Match(r); err != nil {
				t.Fatalf("Match: %v", err)
			}
		}
	})
}
