package loadrun

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestChooseVictim(t *testing.T) {
	for _, tc := range []struct {
		name       string
		own        map[string]string
		done       []string // partitions with nothing left
		victim     string
		partitions []string
	}{
		{"most partitions with records left", map[string]string{"a": "ls1", "b": "ls2", "c": "ls2", "d": "ls3"}, nil, "ls2", []string{"b", "c"}},
		{"finished partitions do not count", map[string]string{"a": "ls1", "b": "ls2", "c": "ls2", "d": "ls1"}, []string{"b", "c"}, "ls1", []string{"a", "d"}},
		{"a tie goes to the first by name", map[string]string{"a": "ls3", "b": "ls2"}, nil, "ls2", []string{"b"}},
		{"nothing left", map[string]string{"a": "ls1"}, []string{"a"}, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, parts := chooseVictim(tc.own, func(p string) bool { return !slices.Contains(tc.done, p) })
			if v != tc.victim || !slices.Equal(parts, tc.partitions) {
				t.Fatalf("chooseVictim = %q %v; want %q %v", v, parts, tc.victim, tc.partitions)
			}
		})
	}
}

// TestHeldBy: after the kill, the partitions timed are those whose lease still names the victim
// and that have records left; one it handed over before the kill is not.
func TestHeldBy(t *testing.T) {
	own := map[string]string{"a": "ls1", "b": "ls2", "c": "ls1", "d": "ls1"}
	left := func(p string) bool { return p != "d" }
	for _, tc := range []struct {
		owner string
		want  []string
	}{
		{"ls1", []string{"a", "c"}},
		{"ls2", []string{"b"}},
		{"ls3", nil},
	} {
		if got := heldBy(own, tc.owner, left); !slices.Equal(got, tc.want) {
			t.Errorf("heldBy(%s) = %v; want %v", tc.owner, got, tc.want)
		}
	}
}

// TestMeasureTakeover: the acquisition is read from the other members' logs (the victim's own
// and lines before the kill left out), and the first record counts only from a sample taken
// once the new owner held the partition, so an answer still in flight at the kill is not taken
// for the new owner's.
func TestMeasureTakeover(t *testing.T) {
	dir := t.TempDir()
	kill := time.Date(2026, 12, 6, 6, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return kill.Add(d).Format(time.RFC3339Nano) }
	line := func(d time.Duration, plugin, part string) string {
		return `{"time":"` + at(d) + `","level":"INFO","msg":"partition acquired","plugin":"` + plugin + `","partition":"` + part + `"}`
	}
	logs := map[string]string{
		"ls1": strings.Join([]string{
			line(-time.Minute, "netskope", "alerts/dlp"), // before the kill
			line(15*time.Second, "netskope", "alerts/dlp"),
			line(16*time.Second, "other", "events/page"), // another plugin
			`not json "partition acquired"`,
		}, "\n"),
		"ls2": line(15500*time.Millisecond, "netskope", "events/page"),
		"ls3": line(time.Second, "netskope", "events/audit"), // the victim's own
	}
	paths := map[string]string{}
	for node, text := range logs {
		paths[node] = filepath.Join(dir, node+".log")
		if err := os.WriteFile(paths[node], []byte(text+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := map[string]int64{"alerts/dlp": 10, "events/page": 5, "events/audit": 3}
	sample := func(d time.Duration, dlp, page, audit int64) takeoverSample {
		return takeoverSample{at: kill.Add(d), counts: map[string]int64{"alerts/dlp": dlp, "events/page": page, "events/audit": audit}}
	}
	samples := []takeoverSample{
		sample(100*time.Millisecond, 11, 5, 3), // in flight at the kill: before any takeover
		sample(15200*time.Millisecond, 11, 5, 3),
		sample(17*time.Second, 12, 5, 3),
		sample(18*time.Second, 12, 6, 3),
	}
	tk := &Takeover{Victim: "ls3", Partitions: []string{"alerts/dlp", "events/audit", "events/page"}}
	if err := measureTakeover(tk, kill, base, samples, paths, "netskope"); err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{"alerts/dlp": 15 * time.Second, "events/page": 15500 * time.Millisecond}
	if !mapsEqual(tk.Acquired, want) {
		t.Errorf("Acquired = %v; want %v", tk.Acquired, want)
	}
	if tk.Owner["alerts/dlp"] != "ls1" || tk.Owner["events/page"] != "ls2" || tk.Owner["events/audit"] != "" {
		t.Errorf("Owner = %v", tk.Owner)
	}
	wantFirst := map[string]time.Duration{"alerts/dlp": 15200 * time.Millisecond, "events/page": 18 * time.Second}
	if !mapsEqual(tk.First, wantFirst) {
		t.Errorf("First = %v; want %v", tk.First, wantFirst)
	}
	if lo, hi, n := Range(tk.First); lo != 15200*time.Millisecond || hi != 18*time.Second || n != 2 {
		t.Errorf("Range(First) = %s, %s, %d", lo, hi, n)
	}
}

func mapsEqual(a, b map[string]time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
