package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// What run would refuse when it starts (opening data_dir, building the plugins, listening),
// because of the configuration, validate refuses too, with the same message, its path and
// line: run's first stage, the load, refuses it before anything is built.
func TestValidateAndRunRefuseAlike(t *testing.T) {
	tests := []struct {
		name   string
		config string // %[1]s is a fresh directory
		setup  func(t *testing.T, dir string)
		want   string
	}{
		{
			name:   "data_dir is a file",
			config: "data_dir: %[1]s/taken\n",
			setup:  func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "taken"), "x") },
			want:   "line 2: data_dir: %[1]s/taken is a file, not a directory",
		},
		{
			name:   "data_dir under a file",
			config: "data_dir: %[1]s/taken/data\n",
			setup:  func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "taken"), "x") },
			want:   "line 2: data_dir: %[1]s/taken/data cannot be made: %[1]s/taken is a file, not a directory",
		},
		{
			name:   "file destination path is a directory",
			config: "data_dir: %[1]s/data\n",
			setup:  func(t *testing.T, dir string) { mkdir(t, filepath.Join(dir, "out.ndjson")) },
			want:   "line 5: plugins[1] (out): path: %[1]s/out.ndjson is a directory, not a file",
		},
		{
			name: "two netskope sources on one index",
			config: `data_dir: %[1]s/data
plugins:
  - {name: in, type: file, paths: ["%[1]s/*.log"]}
  - {name: out, type: file, path: "%[1]s/out.ndjson"}
  - {name: eu, type: netskope, tenant: acme.goskope.com, api_token: t, event_types: [audit], index_prefix: shared}
  - {name: us, type: netskope, tenant: acme.goskope.com, api_token: t, event_types: [page], index_prefix: shared}
siem_mappings:
  - {source: in, destination: out}
  - {source: eu, destination: out}
  - {source: us, destination: out}
`,
			want: `line 7: plugins[3] (us): index_prefix: "shared" on https://acme.goskope.com is already read by plugins[2] (eu); two readers of one index split its pages between them: give one of them its own index_prefix`,
		},
		{
			name:   "admin port out of range",
			config: "data_dir: %[1]s/data\nadmin: {listen: \"127.0.0.1:99999\"}\n",
			want:   `line 3: admin: listen: "127.0.0.1:99999": the port is not 0-65535 (or a service name of this machine)`,
		},
		{
			name:   "data_dir not writable",
			config: "data_dir: %[1]s/ro/data\n",
			setup: func(t *testing.T, dir string) {
				if os.Geteuid() == 0 {
					t.Skip("root may write anywhere")
				}
				mkdir(t, filepath.Join(dir, "ro"))
				if err := os.Chmod(filepath.Join(dir, "ro"), 0o500); err != nil {
					t.Fatal(err)
				}
			},
			want: "line 2: data_dir: %[1]s/ro/data cannot be made: %[1]s/ro is not writable by this user",
		},
	}
	const rest = `plugins:
  - {name: in, type: file, paths: ["%[1]s/*.log"]}
  - {name: out, type: file, path: "%[1]s/out.ndjson"}
siem_mappings: [{source: in, destination: out}]
`
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			text := "\n" + tc.config
			if !strings.Contains(text, "plugins:") {
				text += rest
			}
			p := filepath.Join(dir, "c.yaml")
			writeFile(t, p, fmt.Sprintf(text, dir))
			want := p + ": " + strings.ReplaceAll(tc.want, "%[1]s", dir)
			before := listTree(t, dir)
			var lines [2]string
			for i, command := range []string{"validate", "run"} {
				_, errOut, code := runCLI(t, "", command, "-c", p)
				if code != 1 {
					t.Fatalf("%s: exit %d, want 1:\n%s", command, code, errOut)
				}
				for _, l := range strings.Split(errOut, "\n") {
					if strings.HasPrefix(l, want) {
						lines[i] = l
					}
				}
				if lines[i] == "" {
					t.Errorf("%s: output lacks %q:\n%s", command, want, errOut)
				}
			}
			if lines[0] != lines[1] {
				t.Errorf("validate says %q, run %q", lines[0], lines[1])
			}
			if after := listTree(t, dir); after != before {
				t.Errorf("validate or run created files:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// listTree names every file and directory under dir, one a line.
func listTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		b.WriteString(path + "\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
