package cwlogs

import (
	"math/bits"
	"slices"
	"sort"
	"strings"
	"sync"
)

// regionState holds one account's log groups in one region.
type regionState struct {
	account, region string

	mu     sync.RWMutex
	groups map[string]*group
	names  []string // sorted
}

func (s *Service) region(account, region string, create bool) *regionState {
	key := account + "/" + region
	s.mu.RLock()
	rs := s.regions[key]
	s.mu.RUnlock()
	if rs != nil || !create {
		return rs
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rs = s.regions[key]; rs == nil {
		rs = &regionState{account: account, region: region, groups: map[string]*group{}}
		s.regions[key] = rs
	}
	return rs
}

func (rs *regionState) group(name string) *group {
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	return rs.groups[name]
}

// createGroup creates a group; it returns the existing one and false if it exists.
func (rs *regionState) createGroup(name string, nowMs int64) (*group, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if g := rs.groups[name]; g != nil {
		return g, false
	}
	g := &group{
		name:    name,
		arn:     "arn:aws:logs:" + rs.region + ":" + rs.account + ":log-group:" + name,
		created: nowMs,
		streams: map[string]*stream{},
	}
	rs.groups[name] = g
	i, _ := slices.BinarySearch(rs.names, name)
	rs.names = slices.Insert(rs.names, i, name)
	return g, true
}

func (rs *regionState) deleteGroup(name string) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.groups[name] == nil {
		return false
	}
	delete(rs.groups, name)
	if i, ok := slices.BinarySearch(rs.names, name); ok {
		rs.names = slices.Delete(rs.names, i, i+1)
	}
	return true
}

// group is a log group. Its mutex guards its streams and all their events.
type group struct {
	name    string
	arn     string // without the trailing ":*"
	created int64

	mu      sync.RWMutex
	streams map[string]*stream
	names   []string // sorted stream names
	bytes   int64
	// retention is the group's retentionInDays, 0 when its events never expire.
	retention int
	// deletedBefore is the expiry boundary of the retention periods set before: what expired
	// under them stays deleted.
	deletedBefore int64
}

// oldestKeptLocked is the earliest timestamp (ms) of an event the group still holds at nowMs:
// events older than the retention period are deleted (the service deletes them some time after
// they expire; the simulator at once), 0 without retention. Deleting them leaves the streams'
// firstEventTimestamp as it was, as the service does. The caller holds g.mu.
func (g *group) oldestKeptLocked(nowMs int64) int64 {
	if g.retention <= 0 {
		return g.deletedBefore
	}
	return max(nowMs-int64(g.retention)*dayMs, g.deletedBefore)
}

// setRetentionLocked sets the retention period; what expired under the one before stays
// deleted. The caller holds g.mu for writing.
func (g *group) setRetentionLocked(days int, nowMs int64) {
	g.deletedBefore = g.oldestKeptLocked(nowMs)
	g.retention = days
}

const dayMs = 24 * 60 * 60 * 1000

// createStream creates a stream; it returns the existing one and false if it exists.
// The caller holds g.mu for writing.
func (g *group) createStreamLocked(name string, nowMs int64) (*stream, bool) {
	if st := g.streams[name]; st != nil {
		return st, false
	}
	st := &stream{name: name, arn: g.arn + ":log-stream:" + name, created: nowMs}
	g.streams[name] = st
	i, _ := slices.BinarySearch(g.names, name)
	g.names = slices.Insert(g.names, i, name)
	return st, true
}

// streamsWithPrefix returns the streams whose names start with prefix, in name order.
// The caller holds g.mu.
func (g *group) streamsWithPrefixLocked(prefix string) []*stream {
	i := sort.SearchStrings(g.names, prefix)
	var out []*stream
	for ; i < len(g.names) && strings.HasPrefix(g.names[i], prefix); i++ {
		out = append(out, g.streams[g.names[i]])
	}
	return out
}

// event is a stored log event. Events sort by (ts, seq); seq is unique across the service, so
// the pair is a total order and, with the timestamp in its high bits, the event's id.
type event struct {
	ts     int64  // timestamp, ms
	seq    uint64 // insertion sequence
	ingest int64  // ingestion time, ms: the event is visible from then on
	msg    string
}

type key struct {
	ts  int64
	seq uint64
}

func (e *event) key() key { return key{e.ts, e.seq} }

func (a key) less(b key) bool { return a.ts < b.ts || a.ts == b.ts && a.seq < b.seq }

// chunkSize is the usual number of events per chunk; a chunk grown past twice that by
// out-of-order inserts splits in two.
const chunkSize = 4096

// stream is a log stream: its events sorted by key, in chunks so that an out-of-order insert
// moves at most a chunk and a seek is a binary search.
type stream struct {
	name    string
	arn     string
	created int64

	chunks     [][]event
	count      int
	firstTs    int64
	lastTs     int64
	lastIngest int64
}

// insert adds events, which must be sorted by key. The caller holds the group's write lock.
func (st *stream) insert(evs []event) {
	for _, e := range evs {
		if st.count == 0 || e.ts < st.firstTs {
			st.firstTs = e.ts
		}
		if st.count == 0 || e.ts > st.lastTs {
			st.lastTs = e.ts
		}
		st.lastIngest = max(st.lastIngest, e.ingest)
		st.count++
		n := len(st.chunks)
		if n == 0 || !e.key().less(st.chunks[n-1][len(st.chunks[n-1])-1].key()) {
			// the common case: at or after the last event
			if n == 0 || len(st.chunks[n-1]) >= chunkSize {
				st.chunks = append(st.chunks, make([]event, 0, chunkSize))
				n++
			}
			st.chunks[n-1] = append(st.chunks[n-1], e)
			continue
		}
		p := st.lowerBound(e.key())
		c := st.chunks[p.c]
		c = slices.Insert(c, p.i, e)
		if len(c) > 2*chunkSize {
			h := len(c) / 2
			tail := make([]event, len(c)-h, chunkSize*2)
			copy(tail, c[h:])
			head := c[:h:h]
			st.chunks = slices.Insert(st.chunks, p.c+1, tail)
			c = head
		}
		st.chunks[p.c] = c
	}
}

// pos is a position in a stream: chunk c, index i. The end position is (len(chunks), 0).
type pos struct{ c, i int }

// lowerBound returns the position of the first event whose key is >= k.
func (st *stream) lowerBound(k key) pos {
	c := sort.Search(len(st.chunks), func(j int) bool {
		ch := st.chunks[j]
		return !ch[len(ch)-1].key().less(k)
	})
	if c == len(st.chunks) {
		return pos{c, 0}
	}
	ch := st.chunks[c]
	i := sort.Search(len(ch), func(j int) bool { return !ch[j].key().less(k) })
	return pos{c, i}
}

func (st *stream) valid(p pos) bool { return p.c >= 0 && p.c < len(st.chunks) }

func (st *stream) at(p pos) *event { return &st.chunks[p.c][p.i] }

func (st *stream) next(p pos) pos {
	p.i++
	if p.i >= len(st.chunks[p.c]) {
		p.c++
		p.i = 0
	}
	return p
}

// prev returns the position before p; before the first event it is (-1, 0).
func (st *stream) prev(p pos) pos {
	if p.i > 0 {
		p.i--
		return p
	}
	p.c--
	if p.c >= 0 {
		p.i = len(st.chunks[p.c]) - 1
	}
	return p
}

// ---------------------------------------------------------------------------------------------
// event ids and GetLogEvents tokens: 192-bit numbers written in decimal, as the service does.
// An id is timestamp<<144 | mid<<64 | seq, which sorts as the events do. In ids mid is 0; in
// GetLogEvents tokens it is the second the token was issued.

func appendDecimal192(dst []byte, hi, mid, lo uint64, width int) []byte {
	var buf [64]byte
	n := len(buf)
	for hi != 0 || mid != 0 || lo != 0 {
		// divide (hi, mid, lo) by 1e19, keep the remainder as up to 19 digits
		const d = 10_000_000_000_000_000_000
		var r uint64
		hi, r = bits.Div64(0, hi, d)
		mid, r = bits.Div64(r, mid, d)
		lo, r = bits.Div64(r, lo, d)
		last := hi == 0 && mid == 0 && lo == 0
		for k := 0; k < 19 && (r != 0 || !last); k++ {
			n--
			buf[n] = byte('0' + r%10)
			r /= 10
		}
	}
	for len(buf)-n < width {
		n--
		buf[n] = '0'
	}
	return append(dst, buf[n:]...)
}

func parseDecimal192(s string) (hi, mid, lo uint64, ok bool) {
	if s == "" || len(s) > 58 {
		return 0, 0, 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, 0, 0, false
		}
		// (hi, mid, lo) = (hi, mid, lo)*10 + c
		var carry uint64
		var p uint64
		carry, p = bits.Mul64(lo, 10)
		var c2 uint64
		lo, c2 = bits.Add64(p, uint64(c-'0'), 0)
		carry += c2
		var carryMid uint64
		carryMid, p = bits.Mul64(mid, 10)
		mid, c2 = bits.Add64(p, carry, 0)
		carryMid += c2
		var over uint64
		over, p = bits.Mul64(hi, 10)
		hi, c2 = bits.Add64(p, carryMid, 0)
		if over != 0 || c2 != 0 {
			return 0, 0, 0, false
		}
	}
	return hi, mid, lo, true
}

const maxTimestamp = 1<<47 - 1 // fits the id layout (year 6429)

// appendEventID writes the id of the event with key k.
func appendEventID(dst []byte, k key) []byte {
	return appendDecimal192(dst, uint64(k.ts)<<16, 0, k.seq, 0)
}

// eventID is the id of the event with key k.
func eventID(k key) string { return string(appendEventID(nil, k)) }
