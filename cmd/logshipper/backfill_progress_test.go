package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
)

// With a progress bar, a log line never lands on the bar's line, and the bar is drawn again
// below every log line, so per-batch lines do not scroll it away.
func TestProgressBarStaysBelowLogLines(t *testing.T) {
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var term lockedBuffer
	b := newProgressDisplay(&term, progressBar, from, from.Add(time.Hour), time.Now())
	log := slog.New(slog.NewTextHandler(b.logs(), nil)).With("plugin", "lake")
	stop := b.start()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(term.String(), "] ") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	for i := range 3 {
		b.update(plugin.BackfillProgress{Part: "alerts/dlp", Position: from.Add(time.Duration(i+1) * 10 * time.Minute), Records: int64(100 * (i + 1))})
		log.Info("batch delivered", "records", 100)
	}
	stop()
	out := term.String()
	if !strings.Contains(out, "msg=\"batch delivered\"") {
		t.Fatalf("no log line:\n%q", out)
	}
	// What the terminal shows: each log line on a line of its own, the bar only on the last.
	lines := screen(out)
	logs := 0
	for i, l := range lines {
		isBar := strings.HasPrefix(l, "[")
		switch {
		case strings.Contains(l, "level=INFO") && strings.Contains(l, "records,"):
			t.Errorf("line %d holds a log line and the bar: %q", i, l)
		case strings.Contains(l, "level=INFO"):
			logs++
		case isBar && i != len(lines)-1:
			t.Errorf("line %d: a bar left above the last line: %q", i, l)
		}
	}
	if logs != 3 || !strings.HasPrefix(lines[len(lines)-1], "[") || !strings.Contains(lines[len(lines)-1], "300 records") {
		t.Errorf("screen:\n%s", strings.Join(lines, "\n"))
	}
	// While the bar is up, it is drawn again right after every log line.
	for rest := out; ; {
		i := strings.Index(rest, "level=INFO")
		if i < 0 {
			break
		}
		rest = rest[i:]
		rest = rest[strings.Index(rest, "\n")+1:]
		if !strings.HasPrefix(strings.TrimPrefix(rest, clearLine), "[") {
			t.Errorf("no bar below a log line; what follows: %q", rest)
		}
	}
}

// screen plays out as a terminal would: "\r\033[K" erases the current line, "\n" ends it.
// It returns the lines shown, the last one included when not empty.
func screen(out string) []string {
	var lines []string
	var cur strings.Builder
	for len(out) > 0 {
		switch {
		case strings.HasPrefix(out, clearLine):
			cur.Reset()
			out = out[len(clearLine):]
		case out[0] == '\n':
			lines = append(lines, cur.String())
			cur.Reset()
			out = out[1:]
		default:
			cur.WriteByte(out[0])
			out = out[1:]
		}
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}
