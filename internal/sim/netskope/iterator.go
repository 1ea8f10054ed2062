package netskope

import (
	"sort"
	"strconv"
	"sync"
	"time"
)

// record is one stored record. Records are kept sorted by (ins, seq): the
// iterator's clock is the insertion time; seq orders records inserted in
// the same second and is never reused.
type record struct {
	raw []byte
	id  string
	ts  int64
	ins int64
	seq uint64
	dup bool
}

type recKey struct {
	ins int64
	seq uint64
}

func (r *record) key() recKey { return recKey{r.ins, r.seq} }

func (a recKey) less(b recKey) bool {
	return a.ins < b.ins || a.ins == b.ins && a.seq < b.seq
}

// cursor is one iterator index on one endpoint.
type cursor struct {
	next recKey // first record not yet served
	hwm  int64  // timestamp_hwm to report with an empty page
	prev *page  // the last page served, for resend
}

// page is one answer; its records are shared, immutable byte slices, so a
// resend encodes exactly the same bytes.
type page struct {
	recs [][]byte
	size int
	wait int
	hwm  int64
}

const recentDupPool = 1024

type genState struct {
	cfg     Generator
	omit    map[string]bool // cfg.Omit as a set
	start   time.Time
	emitted int64  // continuous records due so far (emitted or skipped)
	index   uint64 // next record number (ids and content derive from it)
	recent  []record
	recentN int
}

type stream struct {
	ep      Endpoint
	spec    *typeSpec
	t       *Tenant
	salt    uint64
	prefix  uint32
	seedMix uint64

	mu      sync.Mutex
	recs    []record
	seq     uint64
	gen     genState
	cursors map[string]*cursor
	scratch []byte // generation buffer, reused under mu

	generated, duplicates, loaded, dropped int64
	pages, resends, served                 int64
}

// addBacklog creates the configured backlog, spread evenly before start.
func (s *stream) addBacklog(start time.Time) {
	g := s.gen.cfg
	if g.Backlog <= 0 {
		return
	}
	span := g.BacklogSpan
	if span <= 0 {
		span = 24 * time.Hour
	}
	from := start.Add(-span)
	step := float64(span) / float64(g.Backlog)
	for i := 0; i < g.Backlog; i++ {
		at := from.Add(time.Duration(float64(i) * step))
		s.appendGenerated(at.Unix())
	}
	s.trim(start)
}

// advance generates every continuous record due by now and applies
// retention. Callers hold s.mu.
func (s *stream) advance(now time.Time) {
	g := &s.gen
	if g.cfg.Rate > 0 {
		due := int64(now.Sub(g.start).Seconds() * g.cfg.Rate)
		if n := due - g.emitted; n > 0 {
			if max := int64(s.t.opts.MaxRecords); max > 0 && n > max {
				skip := n - max // a clock jump: never hold more than MaxRecords
				g.emitted += skip
				g.index += uint64(skip)
				s.dropped += skip
			}
			for g.emitted < due {
				g.emitted++
				at := g.start.Add(time.Duration(float64(g.emitted) / g.cfg.Rate * float64(time.Second)))
				s.appendGenerated(at.Unix())
			}
		}
	}
	s.trim(now)
}

// appendGenerated generates the next record with insertion time ins.
func (s *stream) appendGenerated(ins int64) {
	g := &s.gen
	idx := g.index
	g.index++
	if n := len(s.recs); n > 0 && s.recs[n-1].ins > ins {
		ins = s.recs[n-1].ins // the insertion clock never goes back
	}
	r := rng{s: mix64(uint64(s.t.opts.Seed)) ^ s.salt ^ mix64(idx+1)}
	s.generated++
	if dr := g.cfg.DuplicateRate; dr > 0 && len(g.recent) > 0 && r.float() < dr {
		src := g.recent[r.intn(len(g.recent))]
		s.duplicates++
		s.insert(record{raw: src.raw, id: src.id, ts: src.ts, ins: ins, dup: true})
		return
	}
	var maxLag int64
	if g.cfg.MaxLag > 0 {
		maxLag = int64(g.cfg.MaxLag / time.Second)
	}
	gr := s.spec.generate(r, idx, s.prefix, s.seedMix^s.salt, ins, maxLag, g.omit, s.scratch[:0])
	s.scratch = gr.raw[:0]
	raw := append([]byte(nil), gr.raw...)
	rec := record{raw: raw, id: gr.id, ts: gr.ts, ins: ins}
	if g.cfg.DuplicateRate > 0 {
		if len(g.recent) < recentDupPool {
			g.recent = append(g.recent, rec)
		} else {
			g.recent[g.recentN%recentDupPool] = rec
			g.recentN++
		}
	}
	s.insert(rec)
}

// insert adds a record at its place in iterator order.
func (s *stream) insert(rec record) {
	rec.seq = s.seq
	s.seq++
	n := len(s.recs)
	if n == 0 || !rec.key().less(s.recs[n-1].key()) {
		s.recs = append(s.recs, rec)
		return
	}
	i := sort.Search(n, func(i int) bool { return rec.key().less(s.recs[i].key()) })
	s.recs = append(s.recs, record{})
	copy(s.recs[i+1:], s.recs[i:])
	s.recs[i] = rec
}

// trim applies MaxRecords and Retention.
func (s *stream) trim(now time.Time) {
	drop := 0
	if max := s.t.opts.MaxRecords; max > 0 && len(s.recs) > max {
		drop = len(s.recs) - max
	}
	if ret := s.t.opts.Retention; ret > 0 {
		limit := now.Add(-ret).Unix()
		k := sort.Search(len(s.recs), func(i int) bool { return s.recs[i].ins >= limit })
		if k > drop {
			drop = k
		}
	}
	if drop == 0 {
		return
	}
	s.dropped += int64(drop)
	s.recs = s.recs[drop:]
	if cap(s.recs) > 2*len(s.recs)+1024 {
		s.recs = append([]record(nil), s.recs...)
	}
}

// serve answers one operation on one index.
func (s *stream) serve(index string, op operation, now time.Time) *page {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(now)
	nowSec := now.Unix()
	c := s.cursors[index]
	if op.kind == "resend" {
		if c == nil || c.prev == nil {
			// Nothing was served on this index: an empty page, no index made.
			return &page{wait: s.t.opts.WaitTime, hwm: nowSec}
		}
		s.pages++
		s.resends++
		s.served += int64(len(c.prev.recs))
		return c.prev
	}
	if c == nil {
		c = &cursor{}
		s.cursors[index] = c
		if op.kind == "next" {
			if s.t.opts.NewIndexStart == StartAtHead {
				op.kind = "head"
			} else {
				op.kind = "tail"
			}
		}
	}
	switch op.kind {
	case "epoch":
		c.next = recKey{ins: op.epoch}
		c.hwm = op.epoch
	case "head":
		c.next = recKey{}
		c.hwm = nowSec
		if len(s.recs) > 0 {
			c.hwm = s.recs[0].ins
		}
	case "tail":
		c.next = recKey{ins: nowSec, seq: s.seq}
		c.hwm = nowSec
	}
	p := s.take(c, nowSec)
	c.prev = p
	s.pages++
	s.served += int64(len(p.recs))
	return p
}

// take builds the page after c.next and moves c past it.
func (s *stream) take(c *cursor, nowSec int64) *page {
	opts := &s.t.opts
	vis := sort.Search(len(s.recs), func(i int) bool { return s.recs[i].ins > nowSec })
	i := sort.Search(vis, func(i int) bool { return !s.recs[i].key().less(c.next) })
	end := i + opts.PageSize
	if end > vis {
		end = vis
	}
	if opts.PageSpan > 0 && i < end {
		limit := s.recs[i].ins + int64(opts.PageSpan/time.Second)
		if opts.PageSpan < time.Second {
			limit = s.recs[i].ins + 1
		}
		end = i + sort.Search(end-i, func(k int) bool { return s.recs[i+k].ins >= limit })
		if end == i {
			end = i + 1
		}
	}
	p := &page{recs: make([][]byte, end-i)}
	for k := i; k < end; k++ {
		p.recs[k-i] = s.recs[k].raw
		p.size += len(s.recs[k].raw) + 1
	}
	if end > i {
		last := &s.recs[end-1]
		c.next = recKey{ins: last.ins, seq: last.seq + 1}
		c.hwm = last.ins
	}
	p.hwm = c.hwm
	if end < vis {
		p.wait = 0 // more is ready now
	} else {
		p.wait = waitFor(len(p.recs), opts.PageSize, opts.WaitTime)
	}
	return p
}

// waitFor: a consumer that has caught up is told to wait, less so the
// fuller its last page was (the real service computes wait_time from the
// amount of data returned).
func waitFor(n, pageSize, max int) int {
	w := max - max*n/pageSize
	if w < 1 {
		w = 1
	}
	return w
}

var pageBufs sync.Pool

func getPageBuf(n int) []byte {
	if v := pageBufs.Get(); v != nil {
		b := *(v.(*[]byte))
		if cap(b) >= n {
			return b[:0]
		}
	}
	return make([]byte, 0, n)
}

func putPageBuf(b []byte) {
	if cap(b) < 64<<10 {
		return
	}
	pageBufs.Put(&b)
}

// encode renders {"ok":1,"result":[...],"wait_time":N,"timestamp_hwm":T}.
func (p *page) encode() []byte {
	b := getPageBuf(p.size + 96)
	b = append(b, `{"ok":1,"result":[`...)
	for i, r := range p.recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	b = append(b, `],"wait_time":`...)
	b = strconv.AppendInt(b, int64(p.wait), 10)
	b = append(b, `,"timestamp_hwm":`...)
	b = strconv.AppendInt(b, p.hwm, 10)
	return append(b, '}')
}
