package loadrun

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Floor is what the plainest Go program does with the same records: decode each into a map
// with encoding/json and encode it again, nothing else (no I/O, no filtering, no mapping).
type Floor struct {
	Records int           // records measured (a sample of the run's)
	CPU     time.Duration // this process's CPU time for them, garbage collection included
}

// CPUPerMillion is CPU seconds per million records.
func (f Floor) CPUPerMillion() float64 {
	if f.Records == 0 {
		return 0
	}
	return f.CPU.Seconds() / float64(f.Records) * 1e6
}

// floorSample is how many records the floor measures: enough for a stable figure.
const floorSample = 100_000

// measureFloor decodes and re-encodes up to floorSample of recs with encoding/json, in a
// process of its own (this one holds cloudsim's backlog, whose garbage collection would be
// counted): the records go to a file, and `<this program> -floor FILE` (FloorMain) is timed by
// the kernel like the shipper.
func measureFloor(dir string, recs [][]byte) (Floor, error) {
	if len(recs) > floorSample {
		recs = recs[:floorSample]
	}
	path := filepath.Join(dir, "floor.ndjson")
	var b bytes.Buffer
	for _, r := range recs {
		b.Write(r)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return Floor{}, fmt.Errorf("floor: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return Floor{}, fmt.Errorf("floor: %w", err)
	}
	cmd := exec.Command(self, "-floor", path)
	out, err := cmd.Output()
	if err != nil {
		return Floor{}, fmt.Errorf("floor: %s -floor %s: %w", self, path, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return Floor{}, fmt.Errorf("floor: %q: %w", out, err)
	}
	ps := cmd.ProcessState
	return Floor{Records: n, CPU: ps.UserTime() + ps.SystemTime()}, nil
}

// FloorMain is the floor's process: it decodes each line of path into a map with
// encoding/json, encodes it again, and prints how many records it did.
func FloorMain(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	n := 0
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		var m map[string]any
		if len(line) == 0 || json.Unmarshal(line, &m) != nil {
			continue
		}
		if _, err := json.Marshal(m); err != nil {
			continue
		}
		n++
	}
	fmt.Println(n)
	return nil
}
