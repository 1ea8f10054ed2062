// Package statetest is the behaviour every state.Store implementation shares (the bbolt file,
// the in-memory store, the cluster's JetStream key-value bucket), as one test suite each runs.
package statetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/logshipper/logshipper/internal/state"
)

// Root is what every implementation offers at the top: a way to get a namespace.
type Root interface {
	Namespace(name string) state.Store
}

// Run runs every behaviour test on a fresh Root from open.
func Run(t *testing.T, open func(t *testing.T) Root) {
	t.Helper()
	for _, tc := range behaviour {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, open(t))
		})
	}
}

func mustPut(t *testing.T, s state.Store, key, value string) {
	t.Helper()
	if err := s.Put(context.Background(), key, []byte(value)); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func mustGet(t *testing.T, s state.Store, key string) string {
	t.Helper()
	v, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return string(v)
}

func wantNotFound(t *testing.T, s state.Store, key string) {
	t.Helper()
	v, err := s.Get(context.Background(), key)
	if !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want state.ErrNotFound", key, v, err)
	}
}

func mustKeys(t *testing.T, s state.Store, prefix string) []string {
	t.Helper()
	k, err := s.Keys(context.Background(), prefix)
	if err != nil {
		t.Fatalf("Keys(%q): %v", prefix, err)
	}
	return k
}

func wantKeys(t *testing.T, s state.Store, prefix string, want ...string) {
	t.Helper()
	got := mustKeys(t, s, prefix)
	if len(got) != len(want) || (len(want) > 0 && !slices.Equal(got, want)) {
		t.Fatalf("Keys(%q) = %q; want %q", prefix, got, want)
	}
}

var behaviour = []struct {
	name string
	run  func(t *testing.T, r Root)
}{
	{"get missing key is ErrNotFound", func(t *testing.T, r Root) {
		s := r.Namespace("ns")
		wantNotFound(t, s, "nope") // namespace never written
		mustPut(t, s, "other", "v")
		wantNotFound(t, s, "nope") // namespace exists, key does not
	}},
	{"put then get", func(t *testing.T, r Root) {
		s := r.Namespace("ns")
		mustPut(t, s, "k", "v1")
		if got := mustGet(t, s, "k"); got != "v1" {
			t.Fatalf("Get = %q; want v1", got)
		}
	}},
	{"put overwrites", func(t *testing.T, r Root) {
		s := r.Namespace("ns")
		mustPut(t, s, "k", "v1")
		mustPut(t, s, "k", "v2")
		if got := mustGet(t, s, "k"); got != "v2" {
			t.Fatalf("Get = %q; want v2", got)
		}
		wantKeys(t, s, "", "k")
	}},
	{"binary values are kept exactly", func(t *testing.T, r Root) {
		s := r.Namespace("ns")
		val := []byte{0, 1, 2, 0xff, 0xfe, '\n', 0}
		if err := s.Put(context.Background(), "bin", val); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(context.Background(), "bin")
		if err != nil || !bytes.Equal(got, val) {
			t.Fatalf("Get = %v, %v; want %v", got, err, val)
		}
	}},
	{"empty and nil values are stored", func(t *testing.T, r Root) {
		s := r.Namespace("ns")
		ctx := context.Background()
		for _, v := range [][]byte{nil, {}} {
			if err := s.Put(ctx, "empty", v); err != nil {
				t.Fatalf("Put(%#v): %v", v, err)
			}
			got, err := s.Get(ctx, "empty")
			if err != nil || len(got) != 0 {
				t.Fatalf("Get after Put(%#v) = %#v, %v; want empty, nil", v, got, err)
			}
		}
		wantKeys(t, s, "", "empty")
	}},
	{"empty key is rejected", func(t *testing.T, r Root) {
		s := r.Namespace("ns")
		if err := s.Put(context.Background(), "", []byte("v")); err == nil {
			t.Fatal("Put with an empty key succeeded")
		}
		wantKeys(t, s, "")
	}},
	{"values are copied in and out", func(t *testing.T, r Root) {
		s := r.Namespace("ns")
		ctx := context.Background()
		in := []byte("abc")
		if err := s.Put(ctx, "k", in); err != nil {
			t.Fatal(err)
		}
		in[0] = 'X'
		out, err := s.Get(ctx, "k")
		if err != nil || string(out) != "abc" {
			t.Fatalf("Get = %q, %v; want abc (caller's slice changed after Put)", out, err)
		}
		out[0] = 'Y'
		if got := mustGet(t, s, "k"); got != "abc" {
			t.Fatalf("Get = %q; want abc (returned slice changed)", got)
		}
	}},
	{"delete", func(t *testing.T, r Root) {
		s := r.Namespace("ns")
		ctx := context.Background()
		if err := s.Delete(ctx, "k"); err != nil { // namespace never written
			t.Fatalf("Delete in an empty namespace: %v", err)
		}
		mustPut(t, s, "k", "v")
		mustPut(t, s, "k2", "v2")
		if err := s.Delete(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		wantNotFound(t, s, "k")
		if err := s.Delete(ctx, "k"); err != nil {
			t.Fatalf("Delete of a missing key: %v", err)
		}
		if got := mustGet(t, s, "k2"); got != "v2" {
			t.Fatalf("k2 = %q after deleting k", got)
		}
		wantKeys(t, s, "", "k2")
	}},
	{"keys are sorted and filtered by prefix", func(t *testing.T, r Root) {
		s := r.Namespace("ns")
		for _, k := range []string{"b", "a/2", "ab", "a", "a/10", "a/1", "c", "é", "B"} {
			mustPut(t, s, k, "v")
		}
		wantKeys(t, s, "", "B", "a", "a/1", "a/10", "a/2", "ab", "b", "c", "é")
		wantKeys(t, s, "a", "a", "a/1", "a/10", "a/2", "ab")
		wantKeys(t, s, "a/", "a/1", "a/10", "a/2")
		wantKeys(t, s, "a/1", "a/1", "a/10")
		wantKeys(t, s, "ab", "ab")
		wantKeys(t, s, "abc")
		wantKeys(t, s, "d")
		wantKeys(t, s, "é", "é")
	}},
	{"keys of an empty namespace", func(t *testing.T, r Root) {
		wantKeys(t, r.Namespace("never-written"), "")
		wantKeys(t, r.Namespace("never-written"), "x")
	}},
	{"namespaces are isolated", func(t *testing.T, r Root) {
		a, b := r.Namespace("a"), r.Namespace("b")
		mustPut(t, a, "k", "in-a")
		wantNotFound(t, b, "k")
		mustPut(t, b, "k", "in-b")
		if got := mustGet(t, a, "k"); got != "in-a" {
			t.Fatalf("a/k = %q; want in-a", got)
		}
		if err := b.Delete(context.Background(), "k"); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, a, "k"); got != "in-a" {
			t.Fatalf("a/k = %q after deleting b/k; want in-a", got)
		}
		wantKeys(t, a, "", "k")
		wantKeys(t, b, "")
	}},
	{"same namespace name shares data", func(t *testing.T, r Root) {
		mustPut(t, r.Namespace("a"), "k", "v")
		if got := mustGet(t, r.Namespace("a"), "k"); got != "v" {
			t.Fatalf("Get through a second Namespace(a) = %q", got)
		}
	}},
	{"nested namespaces are isolated", func(t *testing.T, r Root) {
		a := r.Namespace("a")
		ab := a.Namespace("b")
		ac := a.Namespace("c")
		abb := ab.Namespace("b")
		b := r.Namespace("b")
		stores := map[string]state.Store{"a": a, "a.b": ab, "a.c": ac, "a.b.b": abb, "b": b}
		for name, s := range stores {
			mustPut(t, s, "k", name)
			mustPut(t, s, "only-"+name, "x")
		}
		for name, s := range stores {
			if got := mustGet(t, s, "k"); got != name {
				t.Errorf("%s: k = %q; want %q", name, got, name)
			}
			// Keys of a namespace never list a nested namespace's keys.
			wantKeys(t, s, "", "k", "only-"+name)
		}
		// The same nested path reached again is the same store.
		if got := mustGet(t, r.Namespace("a").Namespace("b"), "k"); got != "a.b" {
			t.Fatalf("a.b reopened: k = %q", got)
		}
		if err := a.Delete(context.Background(), "k"); err != nil {
			t.Fatal(err)
		}
		wantNotFound(t, a, "k")
		if got := mustGet(t, ab, "k"); got != "a.b" {
			t.Fatalf("a.b/k = %q after deleting a/k", got)
		}
	}},
	{"concurrent use", func(t *testing.T, r Root) {
		const workers, each = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			s := r.Namespace("ns").Namespace(strconv.Itoa(w % 2))
			wg.Go(func() {
				ctx := context.Background()
				for i := range each {
					k := fmt.Sprintf("w%d-%03d", w, i)
					if err := s.Put(ctx, k, []byte(k)); err != nil {
						errs <- err
						return
					}
					if v, err := s.Get(ctx, k); err != nil || string(v) != k {
						errs <- fmt.Errorf("Get(%s) = %q, %v", k, v, err)
						return
					}
					if _, err := s.Keys(ctx, fmt.Sprintf("w%d-", w)); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for _, ns := range []string{"0", "1"} {
			if got := mustKeys(t, r.Namespace("ns").Namespace(ns), ""); len(got) != workers/2*each {
				t.Errorf("namespace %s holds %d keys; want %d", ns, len(got), workers/2*each)
			}
		}
	}},
}
