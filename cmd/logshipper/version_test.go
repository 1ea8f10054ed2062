package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestDescribeBuild(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	tests := []struct {
		name      string
		ldVersion string
		bi        *debug.BuildInfo
		short     string
		line      []string // parts the version command's line holds
	}{
		{"no build info", "", nil, "dev", []string{"dev ("}},
		{"ldflags wins", "v1.2.3", &debug.BuildInfo{Main: debug.Module{Version: "v1.0.0"}, Settings: vcs},
			"v1.2.3", []string{"v1.2.3 (", "commit 0123456789ab (modified)", "2026-12-01T10:00:00Z"}},
		{"module version", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0", []string{"v1.4.0 ("}},
		{"devel with vcs stamp", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			"dev-0123456789ab+dirty", []string{"dev (commit 0123456789ab (modified), 2026-12-01T10:00:00Z"}},
		{"clean tree", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs[:3]},
			"dev-0123456789ab", []string{"dev (commit 0123456789ab, 2026-12-01T10:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := describeBuild(tt.ldVersion, tt.bi)
			if got := b.Short(); got != tt.short {
				t.Errorf("Short() = %q, want %q", got, tt.short)
			}
			for _, want := range tt.line {
				if !strings.Contains(b.String(), want) {
					t.Errorf("String() = %q, lacks %q", b.String(), want)
				}
			}
		})
	}
}
