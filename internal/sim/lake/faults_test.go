package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// rawPut sends a PutAuditEvents call over a real connection, so that a cut answer can be seen
// as the client sees it.
func rawPut(ctx context.Context, srv *httptest.Server, body string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/PutAuditEvents?"+chanQuery(testChanARN).Encode(), strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func newFaultServer(t *testing.T, s *Service) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(withCaller(s.DataHandler(), testCaller))
	t.Cleanup(srv.Close)
	return srv
}

func TestPutAuditEventsCutAnswer(t *testing.T) {
	s := newTestService(t, func(o *Options) { o.Faults = Faults{CutRate: 1} })
	srv := newFaultServer(t, s)
	evs := []inEvent{ev("cut-1", validEventData(t)), ev("cut-2", validEventData(t)), ev("cut-3", validEventData(t))}

	resp, body, err := rawPut(context.Background(), srv, bodyOf(t, evs))
	if resp == nil {
		t.Fatalf("no answer at all: %v", err)
	}
	if resp.StatusCode != http.StatusOK || resp.ContentLength <= 0 {
		t.Fatalf("status %d, Content-Length %d", resp.StatusCode, resp.ContentLength)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read error %v after %d of %d bytes", err, len(body), resp.ContentLength)
	}
	if int64(len(body)) != resp.ContentLength/2 || !strings.HasPrefix(string(body), `{"successful":[{"id":"cut-1"`) {
		t.Fatalf("cut body %q of %d bytes", body, resp.ContentLength)
	}

	// The work was done before the connection dropped.
	st := s.Stats()
	if st.Cut != 1 || st.Total != 3 || st.Calls != 1 || len(st.CallErrors) != 0 {
		t.Fatalf("stats after the cut %+v", st)
	}
	want := map[string]int{"cut-1": 1, "cut-2": 1, "cut-3": 1}
	if got := s.StoredIDs(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("StoredIDs %v, want %v", got, want)
	}

	// The client retries: the ids are deduplicated, nothing is stored twice.
	s.SetFaults(Faults{})
	res := put(t, s, evs...)
	if res.status != http.StatusOK || len(res.resp.Successful) != 3 || len(res.resp.Failed) != 0 {
		t.Fatalf("re-send: %d %s", res.status, res.body)
	}
	first := s.Query(Filter{})
	for i, ok := range res.resp.Successful {
		if ok.EventID != first[i].EventID {
			t.Errorf("re-send of %s got eventID %s, stored %s", ok.ID, ok.EventID, first[i].EventID)
		}
	}
	st = s.Stats()
	if st.Total != 3 || st.Duplicates != 3 || st.Cut != 1 {
		t.Fatalf("stats after the re-send %+v", st)
	}
	if got := s.StoredIDs(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("StoredIDs after the re-send %v", got)
	}
}

// Only answers of calls that did the work are cut; a call that fails anyway is answered in
// full.
func TestPutAuditEventsCutOnlySuccess(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults Faults
		body   func(t *testing.T) string
		status int
		code   string
	}{
		{"call throttled", Faults{CutRate: 1, CallThrottleRate: 1},
			func(t *testing.T) string { return bodyOf(t, []inEvent{ev("a", validEventData(t))}) }, 400, "ThrottlingException"},
		{"validation error", Faults{CutRate: 1},
			func(t *testing.T) string { return `{"auditEvents":[]}` }, 400, "ValidationException"},
		{"duplicated ids", Faults{CutRate: 1},
			func(t *testing.T) string {
				return bodyOf(t, []inEvent{ev("a", validEventData(t)), ev("a", validEventData(t))})
			}, 400, ErrDuplicatedAuditEventID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestService(t, func(o *Options) { o.Faults = tc.faults })
			srv := newFaultServer(t, s)
			resp, body, err := rawPut(context.Background(), srv, tc.body(t))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || resp.Header.Get("X-Amzn-ErrorType") != tc.code {
				t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body)
			}
			if st := s.Stats(); st.Cut != 0 || st.Total != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestPutAuditEventsSlow(t *testing.T) {
	t.Run("the call waits, then is processed", func(t *testing.T) {
		s := newTestService(t, func(o *Options) { o.Faults = Faults{SlowRate: 1, SlowDelay: 5 * time.Millisecond} })
		res := put(t, s, ev("s1", validEventData(t)))
		if res.status != http.StatusOK || len(res.resp.Successful) != 1 {
			t.Fatalf("%d %s", res.status, res.body)
		}
		if st := s.Stats(); st.Slow != 1 || st.Total != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("no delay, no slow call", func(t *testing.T) {
		s := newTestService(t, func(o *Options) { o.Faults = Faults{SlowRate: 1} })
		if res := put(t, s, ev("s1", validEventData(t))); res.status != http.StatusOK {
			t.Fatalf("%d %s", res.status, res.body)
		}
		if st := s.Stats(); st.Slow != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("the wait comes first and ends when the caller goes", func(t *testing.T) {
		// Were the caller's going ignored, the call would be stored after 10s; the test would
		// then fail, not hang.
		s := newTestService(t, func(o *Options) { o.Faults = Faults{SlowRate: 1, SlowDelay: 10 * time.Second} })
		srv := newFaultServer(t, s)
		ctx, cancel := context.WithCancel(context.Background())
		body := bodyOf(t, []inEvent{ev("s1", validEventData(t))})
		done := make(chan error, 1)
		go func() {
			_, _, err := rawPut(ctx, srv, body)
			done <- err
		}()
		waitFor(t, "the call to start waiting", func() bool { return s.Stats().Slow == 1 })
		if st := s.Stats(); st.Total != 0 || st.Calls != 1 {
			t.Fatalf("stored before the wait ended: %+v", st)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("client error %v", err)
		}
		// The handler gives up the wait and stores nothing.
		waitFor(t, "the handler to finish", func() bool {
			st := s.Stats()
			return st.CallErrors["InternalFailure"] == 1 || st.Total != 0
		})
		if st := s.Stats(); st.Total != 0 || st.CallErrors["InternalFailure"] != 1 {
			t.Fatalf("the wait did not end with the caller: %+v", st)
		}
	})
	t.Run("rate is a probability", func(t *testing.T) {
		s := newTestService(t, func(o *Options) {
			o.Faults = Faults{SlowRate: 0.5, SlowDelay: time.Microsecond}
			o.CallsPerSecond = -1
		})
		for i := 0; i < 200; i++ {
			put(t, s, ev(fmt.Sprint("p", i), validEventData(t)))
		}
		if n := s.Stats().Slow; n < 60 || n > 140 {
			t.Fatalf("%d of 200 calls slow at rate 0.5", n)
		}
	})
}

// waitFor polls cond; the generous deadline only stops a broken test from hanging.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestStoredIDs(t *testing.T) {
	data := func(t *testing.T) string { return validEventData(t) }
	for _, tc := range []struct {
		name string
		mod  func(*Options)
		want map[string]int
	}{
		{"dedupe", nil, map[string]int{"a": 1, "b": 1, "c": 1}},
		{"store-duplicate", func(o *Options) { o.DuplicateMode = DuplicateStore }, map[string]int{"a": 2, "b": 2, "c": 1}},
		{"reject", func(o *Options) { o.DuplicateMode = DuplicateReject }, map[string]int{"a": 1, "b": 1, "c": 1}},
		{"in memory only", func(o *Options) { o.MaxStoredEvents = 2 }, map[string]int{"b": 1, "c": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestService(t, tc.mod)
			if got := s.StoredIDs(); len(got) != 0 {
				t.Fatalf("empty service: %v", got)
			}
			put(t, s, ev("a", data(t)), ev("b", data(t)))
			put(t, s, ev("a", data(t)), ev("b", data(t)), ev("c", data(t)))
			put(t, s, ev("bad", `{"version":"1.0"}`)) // failed events are not stored
			if got := s.StoredIDs(); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("StoredIDs %v, want %v", got, tc.want)
			}
			s.Reset()
			if got := s.StoredIDs(); len(got) != 0 {
				t.Fatalf("after Reset: %v", got)
			}
		})
	}
}

func TestFaultsConfigJSON(t *testing.T) {
	h := newTestService(t, nil).QueryHandler()
	rec := get(t, h, http.MethodPut, "/lake/config", `{"faults":{"slowRate":0.5,"slowDelay":2000000,"cutRate":0.25}}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var cfg Config
	if err := json.Unmarshal(rec.Body.Bytes(), &cfg); err != nil {
		t.Fatal(err)
	}
	if want := (Faults{SlowRate: 0.5, SlowDelay: 2 * time.Millisecond, CutRate: 0.25}); cfg.Faults != want {
		t.Fatalf("faults %+v, want %+v", cfg.Faults, want)
	}
	for _, bad := range []string{`{"faults":{"slowRate":1.5}}`, `{"faults":{"cutRate":-0.1}}`, `{"faults":{"slowDelay":-1}}`} {
		if rec := get(t, h, http.MethodPut, "/lake/config", bad); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, rec.Code)
		}
	}
	rec = get(t, h, http.MethodGet, "/lake/stats", "")
	for _, k := range []string{`"slow": 0`, `"cut": 0`} {
		if !strings.Contains(rec.Body.String(), k) {
			t.Errorf("stats %s lack %s", rec.Body, k)
		}
	}
}
