package stdout

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
)

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s.b.String(), "\n"), "\n")
}

func TestDestinationSuite(t *testing.T) {
	var buf *syncBuffer
	plugintest.RunDestinationSuite(t, plugintest.DestinationHarness{
		New: func(*testing.T) plugin.Destination {
			buf = &syncBuffer{}
			return New(buf)
		},
		Delivered: func(*testing.T) []string { return buf.lines() },
		Key:       plugintest.RawKey,
	})
}

func rec(raw string) *event.Record { return &event.Record{Raw: []byte(raw)} }

func TestWritesOneLinePerRecordAndFlushes(t *testing.T) {
	var buf syncBuffer
	d := New(&buf)
	if err := d.Write(context.Background(), []*event.Record{rec(`{"a":1}`), rec(`{"b":"ü"}`)}); err != nil {
		t.Fatal(err)
	}
	// Flushed when Write returns, before any Close.
	if got := buf.lines(); !slices.Equal(got, []string{`{"a":1}`, `{"b":"ü"}`}) {
		t.Fatalf("output %q", got)
	}
}

// flaky fails its first write, taking nothing, then works.
type flaky struct {
	syncBuffer
	fail int
}

func (f *flaky) Write(p []byte) (int, error) {
	if f.fail > 0 {
		f.fail--
		return 0, errors.New("resource temporarily unavailable")
	}
	return f.syncBuffer.Write(p)
}

func TestRecoversAfterAWriteError(t *testing.T) {
	out := &flaky{fail: 1}
	d := New(out)
	b := []*event.Record{rec(`{"n":1}`), rec(`{"n":2}`)}
	if err := d.Write(context.Background(), b); err == nil {
		t.Fatal("Write succeeded although the output failed")
	}
	// The engine retries the batch: it goes through once the output works again, once.
	if err := d.Write(context.Background(), b); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := out.lines(); !slices.Equal(got, []string{`{"n":1}`, `{"n":2}`}) {
		t.Fatalf("output %q", got)
	}
}

func TestRecordsSpanningLines(t *testing.T) {
	var buf syncBuffer
	d := New(&buf)
	err := d.Write(context.Background(), []*event.Record{
		rec("{\n  \"id\": \"pretty\",\r\n  \"v\": [1, 2]\n}"),
		rec("{\"broken\":\n"),
		rec(`{"id":"plain"}`),
	})
	var be *plugin.BatchError
	var re *plugin.RefusedError
	if !errors.As(err, &be) || len(be.Failed) != 1 || !errors.As(be.Failed[1], &re) {
		t.Fatalf("Write returned %v, want record 1 refused", err)
	}
	if got := buf.lines(); !slices.Equal(got, []string{`{"id":"pretty","v":[1,2]}`, `{"id":"plain"}`}) {
		t.Fatalf("output %q", got)
	}
}

func TestStreamValidation(t *testing.T) {
	for _, tt := range []struct {
		stream string
		ok     bool
	}{
		{"stdout", true},
		{"stderr", true},
		{"", false},
		{"STDOUT", false},
		{"stdin", false},
		{"/dev/stdout", false},
	} {
		err := (&Config{Stream: tt.stream}).Validate()
		if (err == nil) != tt.ok {
			t.Errorf("stream %q: Validate() = %v, want ok=%v", tt.stream, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "stream:") {
			t.Errorf("stream %q: problem %q does not name the key", tt.stream, err)
		}
	}
}

func TestFactory(t *testing.T) {
	f := Factory()
	if f.Type != "stdout" || f.Kind != plugin.KindDestination {
		t.Fatalf("factory %s %s", f.Type, f.Kind)
	}
	c := f.NewConfig().(*Config)
	if c.Stream != "stdout" {
		t.Fatalf("default stream %q (the README says stdout)", c.Stream)
	}
	for stream, want := range map[string]*os.File{"stdout": os.Stdout, "stderr": os.Stderr} {
		d, err := f.NewDestination(&Config{Stream: stream}, plugintest.Settings(t, "out", nil))
		if err != nil {
			t.Fatal(err)
		}
		if got := d.(*Destination).out; got != want {
			t.Errorf("stream %s writes to %v", stream, got)
		}
	}
}
