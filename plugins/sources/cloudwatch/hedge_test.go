package cloudwatch

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
	"github.com/logshipper/logshipper/internal/state"
)

// stalledAt is a slice whose request is in flight and stalled.
func stalledAt(from, to, last, span int64) *slice {
	sl := newSlice(from, to, false, 0)
	sl.last, sl.span, sl.busy = last, span, true
	sl.stalled = new(atomic.Bool)
	sl.stalled.Store(true)
	return sl
}

// freshAt is a stalled slice that replaced another, before its first answer.
func freshAt(from, to, last int64) *slice {
	sl := stalledAt(from, to, last, 100)
	sl.fresh = true
	return sl
}

// resumedAt is a stalled slice resumed from a checkpoint with token.
func resumedAt(from, to int64, token string) *slice {
	sl := stalledAt(from, to, math.MinInt64, 0)
	sl.Token = token
	return sl
}

// A stalled slice keeps the page its request reads (a page's time after its last event) and
// the rest of its time goes to new slices, as many as there is room for and pages to fill;
// with less than a page's time left after that page, a new slice takes its place from its
// last event on.
func TestSplitStalledSlice(t *testing.T) {
	type part struct{ from, to int64 }
	tests := []struct {
		name         string
		slices       []*slice
		room         int
		span         int64  // the region's latest full page
		want         []part // the slices after split
		wantEnd      int64  // the first slice's chain end (0: not cut)
		wantReplaced bool   // the first slice was replaced
		wantMade     bool
	}{
		{"three parts of what follows the page in flight", []*slice{stalledAt(0, 999, 99, 100)}, 4, 0,
			[]part{{0, 199}, {200, 465}, {466, 732}, {733, 999}}, 999, false, true},
		{"no more parts than pages", []*slice{stalledAt(0, 999, 699, 100)}, 4, 0,
			[]part{{0, 799}, {800, 899}, {900, 999}}, 999, false, true},
		{"first page in flight: the region's page time", []*slice{stalledAt(0, 999, math.MinInt64, 0)}, 2, 250,
			[]part{{0, 249}, {250, 999}}, 999, false, true},
		{"nothing known: half of it", []*slice{stalledAt(0, 999, math.MinInt64, 0)}, 2, 0,
			[]part{{0, 499}, {500, 999}}, 999, false, true},
		{"less than a page after the page in flight: replaced", []*slice{stalledAt(0, 999, 849, 100)}, 4, 0,
			[]part{{849, 999}}, 0, true, true},
		{"the one with the most time left replaced", []*slice{stalledAt(0, 999, 849, 100), stalledAt(1000, 1999, 1949, 100)}, 4, 0,
			[]part{{849, 999}, {1000, 1999}}, 0, true, true},
		{"first page in flight, less than a page: replaced whole", []*slice{stalledAt(0, 99, math.MinInt64, 0)}, 4, 100,
			[]part{{0, 99}}, 0, true, true},
		{"a new slice is not replaced before its first answer", []*slice{freshAt(0, 999, 849)}, 4, 100,
			[]part{{0, 999}}, 0, false, false},
		{"resumed from a token: where its chain is is not known", []*slice{resumedAt(0, 999, "t")}, 4, 100,
			[]part{{0, 999}}, 0, false, false},
		{"a slice without a request: none", []*slice{stalledAt(0, 999, 99, 100), newSlice(1000, 1999, false, 0)}, 4, 0,
			[]part{{0, 999}, {1000, 1999}}, 0, false, false},
		{"no request slot", []*slice{stalledAt(0, 999, 99, 100)}, 1, 0, []part{{0, 999}}, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top := tt.slices[len(tt.slices)-1].To
			cp := &checkpoint{V: 2, From: 0, To: top, Slices: slices.Clone(tt.slices), Seen: map[string]int64{}}
			busy := 0
			for _, sl := range cp.Slices {
				if sl.busy {
					busy++
				}
			}
			h := &hedger{slowMax: time.Second, floor: hedgeFloor, room: tt.room, span: tt.span}
			first := tt.slices[0]
			if made := h.split(cp, busy); made != tt.wantMade {
				t.Fatalf("split made slices: %v, want %v", made, tt.wantMade)
			}
			var got []part
			for _, sl := range cp.Slices {
				got = append(got, part{sl.From, sl.To})
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("slices %v, want %v", got, tt.want)
			}
			if first.End != tt.wantEnd || first.replaced != tt.wantReplaced {
				t.Errorf("the first slice reads to %d, replaced %v; want %d, %v", first.End, first.replaced, tt.wantEnd, tt.wantReplaced)
			}
			for _, sl := range cp.Slices {
				if !slices.Contains(tt.slices, sl) && (sl.busy || sl.Token != "" || sl.edge) {
					t.Errorf("new slice %+v", *sl)
				}
			}
			if h.dropped(first) != tt.wantReplaced || h.replaced != 0 {
				t.Errorf("the first slice's answer dropped: %v, want %v (%d replaced left)", !tt.wantReplaced, tt.wantReplaced, h.replaced)
			}
			if cp.From != cp.Slices[0].From || cp.To != top {
				t.Errorf("checkpoint [%d, %d] after the split", cp.From, cp.To)
			}
		})
	}
}

// A slice read to a split point drops the events after it and ends there; a slice not cut
// keeps its page whole.
func TestClipAtSplitPoint(t *testing.T) {
	page := func(ts ...int64) *cloudwatchlogs.FilterLogEventsOutput {
		out := &cloudwatchlogs.FilterLogEventsOutput{NextToken: aws.String("next")}
		for _, x := range ts {
			out.Events = append(out.Events, types.FilteredLogEvent{Timestamp: aws.Int64(x)})
		}
		return out
	}
	tests := []struct {
		name     string
		to, end  int64
		out      *cloudwatchlogs.FilterLogEventsOutput
		wantN    int
		wantNext bool
	}{
		{"not cut", 100, 0, page(90, 100, 120), 3, true},
		{"cut, page before the point", 100, 200, page(90, 95, 100), 3, true},
		{"cut, page across the point", 100, 200, page(90, 100, 101, 150), 2, false},
		{"cut, page past the point", 100, 200, page(101, 150), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sl := &slice{From: 0, To: tt.to, End: tt.end, Token: "t"}
			sl.clip(tt.out)
			if len(tt.out.Events) != tt.wantN || (tt.out.NextToken != nil) != tt.wantNext {
				t.Errorf("%d events, nextToken %v; want %d, %v", len(tt.out.Events), tt.out.NextToken != nil, tt.wantN, tt.wantNext)
			}
		})
	}
}

// A chain under way keeps the EndTime it started with; a chain starting afresh ends at To.
func TestRequestEnd(t *testing.T) {
	sl := &slice{From: 0, To: 100, End: 200, Token: "t"}
	if got := sl.requestEnd(); got != 200 {
		t.Errorf("under way: EndTime %d, want 200", got)
	}
	sl.Token = ""
	if got := sl.requestEnd(); got != 100 || sl.End != 0 {
		t.Errorf("afresh: EndTime %d (End %d), want 100 (0)", got, sl.End)
	}
}

// A slice cut by a split is saved with its chain's end (version 2 even alone), read back, and
// a checkpoint whose end lies outside its bounds is refused.
func TestCheckpointSliceEnd(t *testing.T) {
	cp := &checkpoint{V: 2, Start: 1, From: 10, To: 40, Seen: map[string]int64{},
		Slices: []*slice{{From: 10, To: 20, End: 40, Token: "t1"}}}
	cp.settle()
	enc := cp.encode()
	if !strings.Contains(string(enc), `"v":2`) || !strings.Contains(string(enc), `"end":40`) {
		t.Fatalf("encoded %s", enc)
	}
	again, err := decodeCheckpoint(enc)
	if err != nil {
		t.Fatal(err)
	}
	if sl := again.Slices[0]; sl.From != 10 || sl.To != 20 || sl.End != 40 || sl.Token != "t1" || sl.requestEnd() != 40 {
		t.Errorf("read back %+v", *sl)
	}
	cp.Slices[0].Token = "" // read again from its start: a fresh chain ending at to
	if enc := cp.encode(); strings.Contains(string(enc), `"end"`) {
		t.Errorf("a slice without a token saved with its end: %s", enc)
	}
	for _, bad := range []string{
		`{"v":2,"start":1,"from":10,"to":40,"done":false,"slices":[{"from":10,"to":20,"token":"t","end":15}],"seen":{}}`,
		`{"v":2,"start":1,"from":10,"to":40,"done":false,"slices":[{"from":10,"to":20,"token":"t","end":41}],"seen":{}}`,
	} {
		if _, err := decodeCheckpoint([]byte(bad)); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}

// An answer counts as late after hedgeFactor times the median of the latest answer times,
// within [floor, slow_request]; a slow answer now and then does not move the median.
func TestSlowAfter(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name  string
		times []time.Duration
		want  time.Duration
	}{
		{"no answer yet", nil, 2 * time.Second},
		{"quick answers: the floor", []time.Duration{5 * ms, 6 * ms, 7 * ms}, 100 * ms},
		{"usual answers", []time.Duration{90 * ms, 100 * ms, 110 * ms}, 400 * ms},
		{"a slow one among them", []time.Duration{90 * ms, 100 * ms, 110 * ms, 1000 * ms, 95 * ms}, 400 * ms},
		{"slow answers: slow_request", []time.Duration{900 * ms, 1000 * ms}, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &hedger{slowMax: 2 * time.Second, floor: hedgeFloor, room: 4}
			for _, d := range tt.times {
				h.answered(&slice{}, &cloudwatchlogs.FilterLogEventsOutput{}, d, false)
			}
			h.answered(&slice{}, &cloudwatchlogs.FilterLogEventsOutput{}, time.Hour, true) // a retried answer is not counted
			if got := h.slowAfter(); got != tt.want {
				t.Errorf("slowAfter() = %v, want %v", got, tt.want)
			}
		})
	}
	h := &hedger{slowMax: 2 * time.Second, floor: hedgeFloor, room: 4}
	for range 3 * answerSamples {
		h.answered(&slice{}, &cloudwatchlogs.FilterLogEventsOutput{}, 50*ms, false)
	}
	if len(h.times) != answerSamples {
		t.Errorf("%d answer times kept, want %d", len(h.times), answerSamples)
	}
}

// spread puts n events one every step from age ago on into region's CloudTrail stream, and
// returns their messages.
func (w *world) spread(region string, n int, age, step time.Duration) []string {
	w.t.Helper()
	start := time.Now().Add(-age).UnixMilli()
	evs := make([]cwlogs.InputEvent, n)
	msgs := make([]string, n)
	for i := range evs {
		k := w.seq.Add(1)
		msgs[i] = fmt.Sprintf(`{"eventVersion":"1.08","n":%d,"region":%q}`, k, region)
		evs[i] = cwlogs.InputEvent{Timestamp: start + int64(i)*step.Milliseconds(), Message: msgs[i]}
	}
	if err := w.svc.Put(testAccount, region, testGroup, ctStream(region), evs); err != nil {
		w.t.Fatal(err)
	}
	return msgs
}

// holdingAPI holds up one page request of a chain under way (the hold-th request with a
// nextToken) until released or its context ends; the other requests pass.
type holdingAPI struct {
	countingAPI
	hold     int64
	tokened  atomic.Int64
	held     chan struct{} // closed when the request is held up
	released chan struct{}
	once     sync.Once
}

func newHoldingAPI(hold int64) *holdingAPI {
	return &holdingAPI{hold: hold, held: make(chan struct{}), released: make(chan struct{})}
}

func (h *holdingAPI) FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	if in.NextToken != nil && in.StartTime != nil && h.tokened.Add(1) == h.hold {
		h.once.Do(func() { close(h.held) })
		select {
		case <-h.released:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return h.countingAPI.FilterLogEvents(ctx, in, o...)
}

// splitConfig reads a backlog in one slice of two hours (ending an hour before now), with
// small pages.
func splitConfig(w *world) *Config {
	cfg := w.config("us-east-1")
	cfg.StartPosition = "-3h"
	cfg.MaxWindow = 2 * time.Hour
	cfg.RequestsInFlight = 4
	cfg.PageSize = 10
	cfg.CheckpointEvery = 5
	return cfg
}

// A slow answer in the only slice left does not hold up the rest of it: the time after the
// page in flight is split off and read meanwhile, then the page itself is asked for again by
// a slice taking the stalled one's place; everything arrives once, before the held-up answer.
func TestStalledSliceSplits(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	want := w.spread("us-east-1", 200, 2*time.Hour+50*time.Minute, 18*time.Second)
	s := w.source(t, splitConfig(w), nil)
	api := newHoldingAPI(2) // the third page of the slice
	interpose(s, &api.countingAPI, api)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	pub.WaitKeys(t, rawKey, want)
	select {
	case <-api.held:
	default:
		t.Fatal("no request was held up: the test did not test")
	}
	close(api.released)
	run.Stop(t)
	checkOnce(t, pub, want)
}

// A restart while a slice cut by a split still reads its chain resumes it from its token with
// the EndTime it started with: nothing is lost, and nothing acknowledged is sent again.
func TestSplitRestartLosesNothing(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	want := w.spread("us-east-1", 200, 2*time.Hour+50*time.Minute, 18*time.Second)
	store := state.NewMemory().Namespace("plugin/cw")
	key := "cw/us-east-1/" + testGroup + "/all"
	s := w.source(t, splitConfig(w), store)
	api := newHoldingAPI(2)
	interpose(s, &api.countingAPI, api)
	pub := plugintest.NewPublisher(plugintest.Manual)
	run := plugintest.Start(t, s, pub)
	acked := map[string]bool{}
	plugintest.Eventually(t, 20*time.Second, "a checkpoint with a cut slice saved", func() bool {
		for _, b := range pub.Batches() {
			if b.Outcome() != 0 {
				continue
			}
			b.Ack()
			for _, k := range b.Keys(rawKey) {
				acked[k] = true
			}
		}
		raw, _ := store.Get(context.Background(), key)
		return strings.Contains(string(raw), `"end":`)
	})
	run.Stop(t)
	if len(acked) == len(want) {
		t.Fatal("every event acknowledged before the stop: the test did not test")
	}

	pub2, rest := restartRest(t, w, splitConfig(w), store, want, acked)
	checkNoneAgain(t, pub2, acked)
	checkOnce(t, pub2, rest)
}
