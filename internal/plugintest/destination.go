package plugintest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
)

// The cases of RunDestinationSuite, by subtest name (for DestinationHarness.Skip).
const (
	CaseBatches          = "Batches"
	CaseEmptyBatch       = "EmptyBatch"
	CaseConcurrentWrites = "ConcurrentWrites"
	CaseClose            = "Close"
	CaseUnusualBytes     = "UnusualBytes"
)

// DestinationHarness is what RunDestinationSuite needs to drive one destination type.
type DestinationHarness struct {
	// Setup, when set, prepares a fresh far end for one case; it is called first with the
	// case's t. A harness may instead make the far end in New, which is called once a case.
	Setup func(t *testing.T)
	// New builds a destination instance writing to the far end of the current case.
	New func(t *testing.T) plugin.Destination
	// Delivered returns the keys of what arrived at the far end, in the order it arrived
	// (one entry per arrival: a record delivered twice is there twice). The suite calls it
	// after Close, and again until it is complete or DefaultTimeout passes.
	Delivered func(t *testing.T) []string
	// Key returns the key of a record as Delivered reports it. RawKey (the record's bytes) makes
	// the UnusualBytes case check that records arrive byte-exact; IDKey (the record's "id"
	// field) suits a far end that re-encodes records.
	Key func(rec *event.Record) string
	// Adapt, when set, turns each record the suite writes into one this destination takes,
	// for a destination that takes only some kinds of record (CloudTrail Lake takes Netskope
	// events and alerts). It is given the suite's record, whose Raw is a JSON object with an
	// "id" member, ID that id, Source "plugintest" and no Kind, and returns the record to
	// write (a new one, or the same one changed); Key is applied to what it returns. When nil,
	// the suite's records are written as they are.
	Adapt func(rec *event.Record) *event.Record
	// Skip names cases that do not apply to this destination, with the reason.
	Skip map[string]string
}

// RawKey keys a record by its bytes.
func RawKey(rec *event.Record) string { return string(rec.Raw) }

// IDKey keys a record by its "id" field (the records the suites make all have one); it returns
// "" for a record without one.
func IDKey(rec *event.Record) string {
	f, err := rec.Fields()
	if err != nil {
		return ""
	}
	s, _ := f["id"].(string)
	return s
}

// NewRecord returns a record whose Raw is a JSON object with the given id and the extra fields,
// with ID set to id and Source to "plugintest".
func NewRecord(id string, extra map[string]any) *event.Record {
	m := map[string]any{"id": id}
	for k, v := range extra {
		m[k] = v
	}
	raw, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return &event.Record{Raw: raw, ID: id, Source: "plugintest"}
}

// RunDestinationSuite checks that a destination delivers what it is given:
//
//   - Batches: every record of batches of 1, 7 and 60 records arrives exactly once, each batch's
//     records in order, once the destination is closed.
//   - EmptyBatch: writing a nil or empty batch succeeds and delivers nothing.
//   - ConcurrentWrites: batches written from several goroutines at once all arrive, once each,
//     each batch in order (run the suite with -race).
//   - Close: Close delivers what was written; a second Close and a Write after Close return
//     (an error or nil) without panicking.
//   - UnusualBytes: records holding non-ASCII text, escaped newlines, quotes, backslashes,
//     control characters, U+2028, HTML characters and a large value arrive intact (byte-exact
//     when Key is RawKey).
//
// Every record written goes through the harness's Adapt, when it has one.
//
// Every call to the destination must return within DefaultTimeout.
func RunDestinationSuite(t *testing.T, h DestinationHarness) {
	t.Helper()
	if h.New == nil || h.Delivered == nil || h.Key == nil {
		t.Fatal("plugintest: DestinationHarness needs New, Delivered and Key")
	}
	cases := []struct {
		name string
		run  func(*destCase, *testing.T)
	}{
		{CaseBatches, (*destCase).batches},
		{CaseEmptyBatch, (*destCase).emptyBatch},
		{CaseConcurrentWrites, (*destCase).concurrentWrites},
		{CaseClose, (*destCase).close},
		{CaseUnusualBytes, (*destCase).unusualBytes},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if why, ok := h.Skip[c.name]; ok {
				t.Skip(why)
			}
			if h.Setup != nil {
				h.Setup(t)
			}
			c.run(&destCase{h: h}, t)
		})
	}
}

type destCase struct {
	h DestinationHarness
}

// makeBatch returns n records with ids prefix-0, prefix-1, ...
func makeBatch(prefix string, n int) []*event.Record {
	out := make([]*event.Record, n)
	for i := range out {
		out[i] = NewRecord(fmt.Sprintf("%s-%d", prefix, i), map[string]any{"seq": i, "msg": "record " + prefix})
	}
	return out
}

// adapt returns recs made into records the destination takes (the harness's Adapt), in place.
func (c *destCase) adapt(recs []*event.Record) []*event.Record {
	if c.h.Adapt == nil {
		return recs
	}
	for i, r := range recs {
		recs[i] = c.h.Adapt(r)
	}
	return recs
}

// batch is makeBatch's records made into records the destination takes.
func (c *destCase) batch(prefix string, n int) []*event.Record {
	return c.adapt(makeBatch(prefix, n))
}

// call runs f, failing the test if it does not return within DefaultTimeout.
func call(t *testing.T, what string, f func() error) error {
	t.Helper()
	err := callTimeout(f)
	if errors.Is(err, errTimedOut) {
		t.Fatalf("%s did not return within %s", what, DefaultTimeout)
	}
	return err
}

var errTimedOut = fmt.Errorf("did not return within %s", DefaultTimeout)

// callTimeout runs f and returns its error, or errTimedOut if it did not return within
// DefaultTimeout. Unlike call it may be used from any goroutine.
func callTimeout(f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(DefaultTimeout):
		return errTimedOut
	}
}

func (c *destCase) write(t *testing.T, d plugin.Destination, recs []*event.Record) {
	t.Helper()
	if err := call(t, "Write", func() error { return d.Write(context.Background(), recs) }); err != nil {
		t.Fatalf("Write of %d records: %v", len(recs), err)
	}
}

func (c *destCase) closeOnce(t *testing.T, d plugin.Destination) {
	t.Helper()
	if err := call(t, "Close", func() error { return d.Close(context.Background()) }); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// expect waits until the far end holds exactly the records of batches, once each and each
// batch in order, and fails the test with the difference otherwise.
func (c *destCase) expect(t *testing.T, batches ...[]*event.Record) {
	t.Helper()
	var problems []string
	check := func() bool {
		problems = c.judge(t, c.h.Delivered(t), batches)
		return len(problems) == 0
	}
	if !Poll(0, check) {
		t.Fatalf("what arrived is not what was written:\n  %s", strings.Join(problems, "\n  "))
	}
}

func (c *destCase) judge(t *testing.T, got []string, batches [][]*event.Record) []string {
	var problems []string
	want := map[string]int{} // key -> batch
	total := 0
	for bi, b := range batches {
		for _, r := range b {
			k := c.h.Key(r)
			if _, dup := want[k]; dup {
				t.Fatalf("harness: two records written have the key %q; Key must tell them apart", k)
			}
			want[k] = bi
			total++
		}
	}
	pos := map[string]int{}
	var extra, twice []string
	for i, k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
			continue
		}
		if _, seen := pos[k]; seen {
			twice = append(twice, k)
			continue
		}
		pos[k] = i
	}
	var missing []string
	for _, b := range batches {
		last, lastKey := -1, ""
		for _, r := range b {
			k := c.h.Key(r)
			p, ok := pos[k]
			if !ok {
				missing = append(missing, k)
				continue
			}
			if p < last {
				problems = append(problems, fmt.Sprintf("out of order within a batch: %q arrived before %q", k, lastKey))
			}
			last, lastKey = p, k
		}
	}
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d records never arrived: %s", len(missing), total, abbreviate(missing)))
	}
	if len(twice) > 0 {
		problems = append(problems, fmt.Sprintf("%d records arrived more than once: %s", len(twice), abbreviate(twice)))
	}
	if len(extra) > 0 {
		problems = append(problems, fmt.Sprintf("%d arrivals match no record written: %s", len(extra), abbreviate(extra)))
	}
	return problems
}

func (c *destCase) batches(t *testing.T) {
	d := c.h.New(t)
	bs := [][]*event.Record{c.batch("a", 1), c.batch("b", 7), c.batch("c", 60)}
	for _, b := range bs {
		c.write(t, d, b)
	}
	c.closeOnce(t, d)
	c.expect(t, bs...)
}

func (c *destCase) emptyBatch(t *testing.T) {
	d := c.h.New(t)
	c.write(t, d, nil)
	c.write(t, d, []*event.Record{})
	one := c.batch("after-empty", 1)
	c.write(t, d, one)
	c.write(t, d, []*event.Record{})
	c.closeOnce(t, d)
	c.expect(t, one)
}

func (c *destCase) concurrentWrites(t *testing.T) {
	d := c.h.New(t)
	const writers, perWriter, size = 6, 8, 10
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		all  [][]*event.Record
		errs []error
	)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				b := c.batch(fmt.Sprintf("w%d-b%d", w, i), size)
				err := callTimeout(func() error { return d.Write(context.Background(), b) })
				mu.Lock()
				all = append(all, b)
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Errorf("concurrent Write: %v", err)
	}
	c.closeOnce(t, d)
	c.expect(t, all...)
}

func (c *destCase) close(t *testing.T) {
	d := c.h.New(t)
	first := c.batch("before-close", 5)
	c.write(t, d, first)
	c.closeOnce(t, d)
	c.expect(t, first)
	if err := call(t, "a second Close", func() error { return d.Close(context.Background()) }); err != nil {
		t.Logf("a second Close returned %v", err)
	}
	late := c.batch("after-close", 2)
	if err := call(t, "Write after Close", func() error { return d.Write(context.Background(), late) }); err != nil {
		t.Logf("Write after Close returned %v", err)
		c.expect(t, first)
		return
	}
	// The destination took the write after Close: it must then have delivered it (perhaps on
	// a further Close) and nothing else.
	_ = call(t, "Close after a Write after Close", func() error { return d.Close(context.Background()) })
	c.expect(t, first, late)
}

func (c *destCase) unusualBytes(t *testing.T) {
	d := c.h.New(t)
	raws := []string{
		`{"id":"u-1","msg":"ünïcødé — ελληνικά — 日本語 — 😀🚀"}`,
		`{"id":"u-2","msg":"line one\nline two\r\nline three","trail":"\n"}`,
		`{"id":"u-3","msg":"quote \" backslash \\ slash \/ tab \t"}`,
		`{"id":"u-4","msg":"controls \u0000 \u0001 \u001f and \u2028 \u2029"}`,
		`{"id":"u-5","msg":"<html> & 'apos'","esc":"\u00e9 vs é"}`,
		`{"id":"u-6",  "spaced" : [ 1 , 2 ] ,"nested":{"a":{"b":[{"c":null}]}}}`,
		`{"id":"u-7","big":"` + strings.Repeat("x🙂\\n", 20000) + `"}`,
		`{"id":"u-8","n":12345678901234567890,"f":1.5e300,"neg":-0}`,
	}
	recs := make([]*event.Record, len(raws))
	for i, s := range raws {
		if !json.Valid([]byte(s)) {
			t.Fatalf("suite bug: record %d is not valid JSON", i)
		}
		recs[i] = &event.Record{Raw: []byte(s), ID: fmt.Sprintf("u-%d", i+1), Source: "plugintest"}
	}
	recs = c.adapt(recs)
	c.write(t, d, recs[:4])
	c.write(t, d, recs[4:])
	c.closeOnce(t, d)
	c.expect(t, recs[:4], recs[4:])
}
