package cwlogs

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/logshipper/logshipper/internal/sim/awssim"
	"github.com/logshipper/logshipper/internal/sim/cwlogs/filterpattern"
)

// pageEventOverhead approximates the JSON around one event in a page, for the 1 MB page limit.
const pageEventOverhead = 128

// startFromHeadFalseMin is the earliest startTime FilterLogEvents accepts with
// startFromHead=false: 2024-01-01T00:00:00Z.
const startFromHeadFalseMin = 1704067200000

type filterLogEventsInput struct {
	LogGroupName        *string  `json:"logGroupName"`
	LogGroupIdentifier  *string  `json:"logGroupIdentifier"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix *string  `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       *string  `json:"filterPattern"`
	NextToken           *string  `json:"nextToken"`
	Limit               *int32   `json:"limit"`
	Interleaved         *bool    `json:"interleaved"`
	StartFromHead       *bool    `json:"startFromHead"`
	Unmask              bool     `json:"unmask"`
}

// iter walks one stream's events within the query's time range, in the scan's direction.
type iter struct {
	st   *stream
	p    pos
	cur  key
	lo   int64 // inclusive time range
	hi   int64
	desc bool
}

// load reads the key at p, reporting false when p is past the range.
func (it *iter) load() bool {
	if !it.st.valid(it.p) {
		return false
	}
	e := it.st.at(it.p)
	if it.desc && e.ts < it.lo || !it.desc && e.ts > it.hi {
		return false
	}
	it.cur = e.key()
	return true
}

func (it *iter) advance() bool {
	if it.desc {
		it.p = it.st.prev(it.p)
	} else {
		it.p = it.st.next(it.p)
	}
	return it.load()
}

// iterHeap orders iterators by their current key: smallest first, or largest first when desc.
type iterHeap struct {
	its  []*iter
	desc bool
}

func (h *iterHeap) before(a, b *iter) bool {
	if h.desc {
		return b.cur.less(a.cur)
	}
	return a.cur.less(b.cur)
}

func (h *iterHeap) push(it *iter) {
	h.its = append(h.its, it)
	i := len(h.its) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.before(h.its[i], h.its[p]) {
			break
		}
		h.its[i], h.its[p] = h.its[p], h.its[i]
		i = p
	}
}

func (h *iterHeap) down(i int) {
	n := len(h.its)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.before(h.its[r], h.its[l]) {
			m = r
		}
		if !h.before(h.its[m], h.its[i]) {
			return
		}
		h.its[i], h.its[m] = h.its[m], h.its[i]
		i = m
	}
}

func (h *iterHeap) pop() {
	n := len(h.its) - 1
	h.its[0] = h.its[n]
	h.its = h.its[:n]
	if n > 0 {
		h.down(0)
	}
}

// hit is an event of a page.
type hit struct {
	stream string
	e      event
}

// filterQuery is one FilterLogEvents page request, resolved.
type filterQuery struct {
	streams  []*stream
	lo, hi   int64 // inclusive time range
	pattern  *filterpattern.Pattern
	limit    int
	cursor   filterCursor
	budget   int // stored events to examine at most
	nowMs    int64
	maxBytes int
}

// scan runs one page of a query. The caller holds the group's read lock. It returns the
// events and, when events in the range remain unexamined, the cursor to continue from.
func scan(q *filterQuery, out []hit) ([]hit, *filterCursor) {
	desc := q.cursor.desc
	h := &iterHeap{desc: desc, its: make([]*iter, 0, len(q.streams))}
	for _, st := range q.streams {
		it := &iter{st: st, lo: q.lo, hi: q.hi, desc: desc}
		if !desc {
			from := key{q.lo, 0}
			if q.cursor.started {
				if c := (key{q.cursor.at.ts, q.cursor.at.seq + 1}); from.less(c) {
					from = c
				}
			}
			it.p = st.lowerBound(from)
		} else {
			before := key{q.hi + 1, 0}
			if q.hi == math.MaxInt64 {
				before = key{q.hi, math.MaxUint64}
			}
			if q.cursor.started && q.cursor.at.less(before) {
				before = q.cursor.at
			}
			it.p = st.prev(st.lowerBound(before))
		}
		if it.load() {
			h.push(it)
		}
	}
	last := q.cursor
	bytes := 0
	for examined := 0; len(h.its) > 0 && examined < q.budget; examined++ {
		top := h.its[0]
		e := top.st.at(top.p)
		if e.ingest <= q.nowMs && (q.pattern == nil || q.pattern.Match(e.msg)) {
			size := len(e.msg) + pageEventOverhead
			if len(out) > 0 && bytes+size > q.maxBytes {
				break
			}
			bytes += size
			out = append(out, hit{stream: top.st.name, e: *e})
		}
		last = filterCursor{desc: desc, started: true, at: e.key()}
		if top.advance() {
			h.down(0)
		} else {
			h.pop()
		}
		if len(out) >= q.limit {
			break
		}
	}
	if len(h.its) == 0 {
		return out, nil
	}
	return out, &last
}

func (s *Service) filterLogEvents(rs *regionState, body []byte) (any, *awssim.Error) {
	var in filterLogEventsInput
	if e := awssim.DecodeJSON(body, &in); e != nil {
		return nil, e
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != nil {
		return nil, errInvalid("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	if len(in.LogStreamNames) > MaxFilterStreams {
		return nil, errValidation(fmt.Sprintf("[%d names]", len(in.LogStreamNames)), "logStreamNames", fmt.Sprintf("Member must have length less than or equal to %d", MaxFilterStreams))
	}
	for i, n := range in.LogStreamNames {
		if e := validateStreamName(fmt.Sprintf("logStreamNames.%d.member", i+1), n); e != nil {
			return nil, e
		}
	}
	if e := validateLimit(in.Limit, MaxPageEvents); e != nil {
		return nil, e
	}
	q := &filterQuery{lo: 0, hi: math.MaxInt64, limit: MaxPageEvents, budget: s.scanBudget, maxBytes: MaxPageBytes}
	if in.Limit != nil {
		q.limit = int(*in.Limit)
	}
	if in.StartTime != nil {
		if *in.StartTime < 0 {
			return nil, errValidation(*in.StartTime, "startTime", "Member must have value greater than or equal to 0")
		}
		q.lo = *in.StartTime
	}
	if in.EndTime != nil {
		if *in.EndTime < 0 {
			return nil, errValidation(*in.EndTime, "endTime", "Member must have value greater than or equal to 0")
		}
		q.hi = *in.EndTime
	}
	pat, e := compilePattern(in.FilterPattern)
	if e != nil {
		return nil, e
	}
	q.pattern = pat
	if in.NextToken != nil {
		c, e := s.decodeFilterToken(*in.NextToken)
		if e != nil {
			return nil, e
		}
		q.cursor = c // the token's direction wins over startFromHead
	} else if in.StartFromHead != nil && !*in.StartFromHead {
		if q.lo < startFromHeadFalseMin {
			return nil, errInvalid("startFromHead can be false only when startTime is on or after Jan 1, 2024 00:00:00 UTC.")
		}
		q.cursor.desc = true
	}
	g, e := rs.resolveGroup(in.LogGroupName, in.LogGroupIdentifier)
	if e != nil {
		return nil, e
	}
	q.nowMs = s.nowMs()

	if s.emptyPage() {
		return s.writeFilterPage(nil, &q.cursor), nil
	}
	var hits []hit
	var next *filterCursor
	g.mu.RLock()
	switch {
	case len(in.LogStreamNames) > 0:
		seen := map[string]bool{}
		for _, n := range in.LogStreamNames {
			if st := g.streams[n]; st != nil && !seen[n] {
				seen[n] = true
				q.streams = append(q.streams, st)
			}
		}
	case in.LogStreamNamePrefix != nil:
		q.streams = g.streamsWithPrefixLocked(*in.LogStreamNamePrefix)
	default:
		q.streams = make([]*stream, 0, len(g.streams))
		for _, st := range g.streams {
			q.streams = append(q.streams, st)
		}
	}
	q.lo = max(q.lo, g.oldestKeptLocked(q.nowMs)) // expired events are gone
	if q.lo <= q.hi {
		hits, next = scan(q, make([]hit, 0, min(q.limit, 1024)))
	}
	g.mu.RUnlock()
	return s.writeFilterPage(hits, next), nil
}

// writeFilterPage encodes a FilterLogEvents response by hand: it is the hot path.
func (s *Service) writeFilterPage(hits []hit, next *filterCursor) []byte {
	size := 64
	for i := range hits {
		size += len(hits[i].e.msg)*9/8 + len(hits[i].stream) + 160
	}
	s.served.Add(uint64(len(hits)))
	b := make([]byte, 0, size)
	b = append(b, `{"events":[`...)
	for i := range hits {
		h := &hits[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"eventId":"`...)
		b = appendEventID(b, h.e.key())
		b = append(b, `","ingestionTime":`...)
		b = strconv.AppendInt(b, h.e.ingest, 10)
		b = append(b, `,"logStreamName":`...)
		b = appendJSONString(b, h.stream)
		b = append(b, `,"message":`...)
		b = appendJSONString(b, h.e.msg)
		b = append(b, `,"timestamp":`...)
		b = strconv.AppendInt(b, h.e.ts, 10)
		b = append(b, '}')
	}
	b = append(b, ']')
	if next != nil {
		b = append(b, `,"nextToken":"`...)
		b = append(b, s.encodeFilterToken(*next)...)
		b = append(b, '"')
	}
	b = append(b, `,"searchedLogStreams":[]}`...)
	return b
}

const hexDigits = "0123456789abcdef"

// jsonSafe[c] is true for the bytes a JSON string holds as they are.
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendJSONString appends s as a JSON string. Messages are valid UTF-8 (PutLogEvents and Put
// make them so), so only quotes, backslashes and control characters need escapes.
func appendJSONString(b []byte, s string) []byte {
	b = slices.Grow(b, len(s)+len(s)/8+2)
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if jsonSafe[c] {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// ---------------------------------------------------------------------------------------------

type getLogEventsInput struct {
	LogGroupName       *string `json:"logGroupName"`
	LogGroupIdentifier *string `json:"logGroupIdentifier"`
	LogStreamName      *string `json:"logStreamName"`
	StartTime          *int64  `json:"startTime"`
	EndTime            *int64  `json:"endTime"`
	NextToken          *string `json:"nextToken"`
	Limit              *int32  `json:"limit"`
	StartFromHead      *bool   `json:"startFromHead"`
	Unmask             bool    `json:"unmask"`
}

func (s *Service) getLogEvents(rs *regionState, body []byte) (any, *awssim.Error) {
	var in getLogEventsInput
	if e := awssim.DecodeJSON(body, &in); e != nil {
		return nil, e
	}
	if e := validateStreamName("logStreamName", deref(in.LogStreamName)); e != nil {
		return nil, e
	}
	if e := validateLimit(in.Limit, MaxPageEvents); e != nil {
		return nil, e
	}
	limit := MaxPageEvents
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	lo, hi := int64(0), int64(math.MaxInt64) // [lo, hi): endTime is exclusive here
	if in.StartTime != nil {
		lo = max(0, *in.StartTime)
	}
	if in.EndTime != nil {
		hi = *in.EndTime
	}
	forward := in.StartFromHead != nil && *in.StartFromHead
	var tokKey key
	hasTok := false
	if in.NextToken != nil {
		dir, k, e := s.decodeGetToken(*in.NextToken)
		if e != nil {
			return nil, e
		}
		forward, tokKey, hasTok = dir == 'f', k, true
	}
	g, e := rs.resolveGroup(in.LogGroupName, in.LogGroupIdentifier)
	if e != nil {
		return nil, e
	}
	now := s.nowMs()

	var hits []event
	g.mu.RLock()
	lo = max(lo, g.oldestKeptLocked(now)) // expired events are gone
	st := g.streams[*in.LogStreamName]
	if st == nil {
		g.mu.RUnlock()
		return nil, errStreamNotFound()
	}
	bytes := 0
	take := func(ev *event) bool {
		if ev.ingest > now {
			return true
		}
		size := len(ev.msg) + pageEventOverhead
		if len(hits) > 0 && bytes+size > MaxPageBytes {
			return false
		}
		bytes += size
		hits = append(hits, *ev)
		return len(hits) < limit
	}
	if forward {
		from := key{lo, 0}
		if hasTok && from.less(key{tokKey.ts, tokKey.seq + 1}) {
			from = key{tokKey.ts, tokKey.seq + 1}
		}
		for p, n := st.lowerBound(from), 0; st.valid(p) && n < s.scanBudget; p, n = st.next(p), n+1 {
			ev := st.at(p)
			if ev.ts >= hi || !take(ev) {
				break
			}
		}
	} else {
		before := key{hi, 0}
		if hasTok && tokKey.less(before) {
			before = tokKey
		}
		for p, n := st.prev(st.lowerBound(before)), 0; st.valid(p) && n < s.scanBudget; p, n = st.prev(p), n+1 {
			ev := st.at(p)
			if ev.ts < lo || !take(ev) {
				break
			}
		}
		for i, j := 0, len(hits)-1; i < j; i, j = i+1, j-1 {
			hits[i], hits[j] = hits[j], hits[i]
		}
	}
	g.mu.RUnlock()

	s.served.Add(uint64(len(hits)))
	b := make([]byte, 0, 128+bytes*9/8)
	b = append(b, `{"events":[`...)
	for i := range hits {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"ingestionTime":`...)
		b = strconv.AppendInt(b, hits[i].ingest, 10)
		b = append(b, `,"message":`...)
		b = appendJSONString(b, hits[i].msg)
		b = append(b, `,"timestamp":`...)
		b = strconv.AppendInt(b, hits[i].ts, 10)
		b = append(b, '}')
	}
	var fwd, bwd string
	switch {
	case len(hits) > 0:
		fwd = s.encodeGetToken('f', hits[len(hits)-1].key())
		bwd = s.encodeGetToken('b', hits[0].key())
	case hasTok:
		// nothing more that way: the same token back, as the service does
		fwd, bwd = *in.NextToken, *in.NextToken
		if forward {
			bwd = s.encodeGetToken('b', key{tokKey.ts, tokKey.seq + 1})
		} else {
			fwd = s.encodeGetToken('f', key{tokKey.ts, tokKey.seq - min(tokKey.seq, 1)})
		}
	default:
		fwd = s.encodeGetToken('f', key{lo, 0})
		bwd = s.encodeGetToken('b', key{min(hi, maxTimestamp), 0})
	}
	b = append(b, `],"nextForwardToken":"`...)
	b = append(b, fwd...)
	b = append(b, `","nextBackwardToken":"`...)
	b = append(b, bwd...)
	b = append(b, `"}`...)
	return b, nil
}
