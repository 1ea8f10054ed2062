package event

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
)

// Sample is one sample record a user gave (`rules test`, `mapping preview`, the console's
// test panels), named by where it was: "file:3" for NDJSON's line 3, "file[2]" for a JSON
// array's third element.
type Sample struct {
	Where  string
	Record *Record
}

// ParseSamples reads sample records: a JSON array, or NDJSON (one record a line, blank lines
// skipped). name names the input in each Sample's Where.
func ParseSamples(data []byte, name string) ([]Sample, error) {
	trimmed := bytes.TrimSpace(data)
	var out []Sample
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(trimmed, &arr); err != nil {
			return nil, fmt.Errorf("%s: not a JSON array: %w", name, err)
		}
		for i, raw := range arr {
			out = append(out, Sample{Where: fmt.Sprintf("%s[%d]", name, i), Record: &Record{Raw: raw}})
		}
		return out, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		out = append(out, Sample{Where: fmt.Sprintf("%s:%d", name, n), Record: &Record{Raw: bytes.Clone(line)}})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}
