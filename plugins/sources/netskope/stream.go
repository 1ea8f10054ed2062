package netskope

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
)

// This file reads a page as its body arrives: the records of each chunk of elements are built
// and handed on (streamChunk) before the rest of the body is read, so that the process holds
// the chunks the pipeline holds rather than the whole page (a page of policy alerts is about
// 47 MB). The next chunk is read once Publish took the last (backpressure reaches the
// server's connection).
//
// What identifies the page while it is read cannot wait for its end: a page's progress (see
// pageacks.go) names the page by its part fingerprint (partFingerprint: the count and CRC-32C
// of its first chunk's elements) and the elements delivered by their sum (setSum: each
// element's bytes and place). A page answered again is skipped where it was delivered only
// when both match, so that the elements skipped are byte for byte those acknowledged, in the
// same places. The page's fingerprint (fingerprint: count, size, CRC-32C of the result array
// and timestamp_hwm) is computed as the bytes pass, for the position saved once the page is
// acknowledged.

// partPrefix marks the part fingerprints of partFingerprint; a saved part without it is a
// whole page's fingerprint (positions saved by earlier versions), compared with fingerprint.
const partPrefix = "s:"

// partFingerprint names a page by its first elements (at most a chunk's): their count and the
// CRC-32C of their bytes as received.
func partFingerprint(elems []elem) string {
	var crc uint32
	for i := range elems {
		crc = crc32.Update(crc, castagnoli, elems[i].raw)
	}
	return fmt.Sprintf("%s%d:%08x", partPrefix, len(elems), crc)
}

// partLen is how many elements a part fingerprint covers, or -1 when part is not one.
func partLen(part string) int {
	if len(part) <= len(partPrefix) || part[:len(partPrefix)] != partPrefix {
		return -1
	}
	rest := part[len(partPrefix):]
	for i := range len(rest) {
		if rest[i] == ':' {
			if n, err := strconv.Atoi(rest[:i]); err == nil && n > 0 {
				return n
			}
			break
		}
	}
	return -1
}

// elemSum identifies an element by its bytes as received (CRC-32C and CRC-32, both computed by
// the processor) and its place in the page. The elemSums of a set of elements add up to its
// setSum, whatever the order they were delivered in.
func elemSum(pos int, raw []byte) uint64 {
	h := uint64(crc32.Checksum(raw, castagnoli))<<32 | uint64(crc32.ChecksumIEEE(raw))
	return mix64(h ^ uint64(pos+1)*0x9e3779b97f4a7c15)
}

// mix64 is SplitMix64's finalizer: every bit of x moves about half of the result's.
func mix64(x uint64) uint64 {
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// elemSums returns the elemSum of each of elems.
func elemSums(elems []elem) []uint64 {
	out := make([]uint64, len(elems))
	for i := range elems {
		out[i] = elemSum(elems[i].pos, elems[i].raw)
	}
	return out
}

// setSum is the sum of the elemSums of the elements of a in s; ok is false when s holds an
// element a does not have.
func setSum(a *answer, s spans) (sum uint64, ok bool) {
	for _, r := range s {
		if r[0] < 0 || r[1] > len(a.elems) {
			return 0, false
		}
		for i := r[0]; i < r[1]; i++ {
			sum += elemSum(i, a.elems[i].raw)
		}
	}
	return sum, true
}

// encodeSum writes a set's sum for a position ("" for an empty set).
func encodeSum(sum uint64, nonEmpty bool) string {
	if !nonEmpty {
		return ""
	}
	return fmt.Sprintf("%016x", sum)
}

// decodeSum reads what encodeSum wrote; ok is false for anything else.
func decodeSum(s string) (uint64, bool) {
	if len(s) != 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 16, 64)
	return n, err == nil
}

// streamChunk is a chunk of a page read as it streams: its elements (pos counted from the
// page's first) in an answer of their own, whose body is theirs alone, with room for events
// to be spliced in place (builder.spare), and their elemSums.
type streamChunk struct {
	a    *answer
	from int // the place of its first element in the page
	to   int // after its last
	sums []uint64
}

// errNotStreamed is returned by readStream when the answer is not a page with "ok" true
// before its result array: whole holds the body, to be read as a whole answer.
var errNotStreamed = errors.New("not a page to stream")

// streamed is what readStream read of an answer besides the chunks.
type streamed struct {
	env   *answer // the members other than result (ok, wait_time, timestamp_hwm)
	elems int     // the result array's elements
	size  int     // the result array's bytes
	crc   uint32  // CRC-32C of the result array
	body  int     // the answer's bytes
}

// fingerprint is the page's fingerprint (see fingerprint in client.go), from what was read.
func (st *streamed) fingerprint() string {
	if st.elems == 0 {
		return ""
	}
	return fingerprintOf(st.elems, st.size, st.crc, st.env.hwm)
}

// pageReader reads answers as they stream. Its buffer, which holds the bytes read and not yet
// taken (about one element), is kept from one page to the next.
type pageReader struct {
	buf []byte
	// prefixMax bounds the members before result: past it the answer is read whole.
	prefixMax int
	// size is the buffer's size (readBufInitial when 0).
	size int
}

// readBufInitial is the size of a pageReader's buffer; it grows only for an element larger.
const readBufInitial = 128 << 10

// readStream reads the answer in r. When it is an object whose "ok" is true before its
// "result" array, the elements are read as they come, and each is called with every chunk
// of n elements (the last may be shorter) once it is read, before the next is; b gives the
// room of each chunk (spare, spanRoom). An error of each ends the read and is returned. It
// returns errNotStreamed, with the whole body (at most limit bytes), for any other answer, and
// for one that fails before a chunk was handed on (so that it fails as one read whole does),
// or a *readFailure when the body's reader failed then.
//
// Each element is checked where it was read (as the whole answer's reader does,
// scanner.result) and its bytes copied into its chunk's body; the buffer then keeps only the
// element being read.
func (pr *pageReader) readStream(r io.Reader, n int, limit int64, b *builder, each func(c *streamChunk) error) (st *streamed, body []byte, err error) {
	size := pr.size
	if size <= 0 {
		size = readBufInitial
	}
	if cap(pr.buf) < size || cap(pr.buf) > 4*size {
		pr.buf = make([]byte, 0, size)
	}
	rd := &streamBuf{r: r, b: pr.buf[:0], limit: limit}
	defer func() {
		switch {
		case errors.Is(err, errNotStreamed):
			pr.buf = nil // the whole body is the answer's now
		case cap(rd.b) <= 4*size:
			pr.buf = rd.b[:0] // a buffer grown for a large element is let go
		}
	}()
	n = max(n, 1)
	prefixMax := pr.prefixMax
	if prefixMax <= 0 {
		prefixMax = 64 << 10
	}

	// The members before result, scanned again as bytes arrive (they are a few dozen bytes).
	var env *answer
	var at int // where the result array's '[' is
	for {
		env, at = scanPrefix(rd.b)
		if env != nil || at < 0 || len(rd.b) > prefixMax || rd.eof {
			break
		}
		if err := rd.more(); err != nil {
			return wholeAnswer(rd)
		}
	}
	if env == nil || !env.hasOK || !env.ok {
		return wholeAnswer(rd)
	}
	flushed := false
	st, err = streamElements(rd, env, at, n, b, each, &flushed)
	if err != nil && !flushed {
		// Nothing was handed on: the answer fails as one read whole does.
		return wholeAnswer(rd)
	}
	return st, nil, err
}

// wholeAnswer reads the rest of an answer of which nothing was handed on, and returns
// errNotStreamed with the whole body, or a *readFailure when the body's reader fails.
func wholeAnswer(rd *streamBuf) (*streamed, []byte, error) {
	if err := rd.rest(); err != nil {
		return nil, nil, &readFailure{err}
	}
	return nil, rd.b, errNotStreamed
}

// readFailure is the failure of an answer's reader (a body cut short, a timeout) before a chunk
// of it was handed on.
type readFailure struct{ err error }

func (e *readFailure) Error() string { return e.err.Error() }

func (e *readFailure) Unwrap() error { return e.err }

// streamElements reads the result array whose '[' is at at in rd, and the members after it,
// for readStream; flushed is set once a chunk went to each (until then, every byte of the
// answer read is kept in rd).
func streamElements(rd *streamBuf, env *answer, at, n int, b *builder, each func(c *streamChunk) error, flushed *bool) (*streamed, error) {
	st := &streamed{}
	crc := uint32(0)
	sumFrom := at // the result array's bytes from here are not in crc yet
	i := at + 1
	// more reads more of the answer, first dropping the bytes before i (adding those of the
	// array to crc).
	more := func() error {
		if *flushed && i > 0 && len(rd.b) == cap(rd.b) {
			crc = crc32.Update(crc, castagnoli, rd.b[sumFrom:i])
			st.size += i - sumFrom
			rd.drop(i)
			i, sumFrom = 0, 0
		}
		return rd.more()
	}
	ws := func() error {
		for {
			for i < len(rd.b) {
				if c := rd.b[i]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
					return nil
				}
				i++
			}
			if rd.eof {
				return fmt.Errorf("the result array ends unclosed: %w", io.ErrUnexpectedEOF)
			}
			if err := more(); err != nil {
				return err
			}
		}
	}
	var c chunkBuilder
	pos := 0
	if err := ws(); err != nil {
		return nil, err
	}
	if rd.b[i] == ']' {
		i++
	} else {
		for {
			if c.elems == nil {
				c.start(b, n, pos)
			}
			if err := c.read(rd, &i, more); err != nil {
				return nil, err
			}
			pos++
			if err := ws(); err != nil {
				return nil, err
			}
			closing := rd.b[i] == ']'
			if !closing && rd.b[i] != ',' {
				return nil, fmt.Errorf("expected ',' or ']' after element %d of the result array", pos)
			}
			i++
			if len(c.elems) == n || closing {
				*flushed = true
				if err := each(c.finish(b)); err != nil {
					return nil, err
				}
			}
			if closing {
				break
			}
			if err := ws(); err != nil {
				return nil, err
			}
		}
	}
	st.elems = pos
	// The array's bytes, to its closing bracket, then the members after it.
	crc = crc32.Update(crc, castagnoli, rd.b[sumFrom:i])
	st.size += i - sumFrom
	rd.drop(i)
	if err := rd.rest(); err != nil {
		return nil, err
	}
	st.crc = crc
	tail, err := parse(append([]byte(`{"result":[]`), rd.b...), 0)
	if err != nil {
		return nil, fmt.Errorf("after the result array: %w", err)
	}
	st.env = env
	if tail.hasWait {
		env.waitTime, env.hasWait = tail.waitTime, true
	}
	if tail.hasHWM {
		env.hwm, env.hasHWM = tail.hwm, true
	}
	if tail.errMsg != "" && env.errMsg == "" {
		env.errMsg = tail.errMsg
	}
	if tail.hasOK && !tail.ok {
		return nil, errors.New(`"ok" is repeated after the result array, false`)
	}
	st.body = rd.read
	return st, nil
}

// chunkBuilder gathers the elements of a chunk as they are read: their bytes copied into the
// chunk's body, their member spans, and where each one's fields are.
type chunkBuilder struct {
	body  []byte
	spans []event.Span
	elems []elemAt
	first int // the place of the chunk's first element in the page
}

// elemAt is an element gathered: its bytes body[off:end], and its fields' values as offsets
// from off (rec.timestamp and rec.inserted are set once the body is final).
type elemAt struct {
	e            elem
	off, end     int
	ts, ins      [2]int // [from, to) of the values of timestamp and _insertion_epoch_timestamp
	hasTS, hasIn bool
}

// start begins a chunk of up to n elements, the first the page's element first, its body
// sized from the size of the last chunk's elements.
func (c *chunkBuilder) start(b *builder, n, first int) {
	per := b.bytesPerElem
	if per <= 0 {
		per = defaultBytesPerElem
	}
	size := per*n + per*n/16
	c.body = make([]byte, 0, size+b.room(n))
	c.spans = make([]event.Span, 0, b.spanRoom(size))
	c.elems = make([]elemAt, 0, n)
	c.first = first
}

// read checks the element at *i in rd (reading more as it needs) as scanner.result does,
// copies it into the chunk and moves *i past it.
func (c *chunkBuilder) read(rd *streamBuf, i *int, more func() error) error {
	for {
		start := *i
		s := &scanner{Scanner: jsonx.Scanner{B: rd.b, I: start}, spans: c.spans}
		e := elem{pos: c.first + len(c.elems)}
		if rd.b[start] == '{' {
			if err := s.record(&e.rec); err != nil {
				e.err = fmt.Errorf("invalid JSON: %w", err)
			}
		} else if err := s.Skip(); err != nil {
			e.err = fmt.Errorf("invalid JSON: %w", err)
		} else {
			e.err = errors.New("not a JSON object")
		}
		end := s.I
		complete := end < len(rd.b) || rd.eof
		if e.err != nil && isSyntaxError(e.err) {
			// Broken, or cut short by the end of what was read: find its end without the
			// grammar (as scanner.result does); without one, read more and check it again.
			u := jsonx.Scanner{B: rd.b, I: start}
			err := u.SkipUnchecked()
			end = u.I
			complete = err == nil && u.I < len(rd.b) || rd.eof
			if complete && err != nil {
				return fmt.Errorf("the result array ends within element %d: %w", e.pos+1, err)
			}
		}
		if !complete {
			// The bytes before start are done with: more keeps the element's.
			*i = start
			if err := more(); err != nil {
				return err
			}
			continue
		}
		c.spans = s.spans // a record with an error left none of its spans
		raw := trimSpace(rd.b[start:end])
		ea := elemAt{e: e, off: len(c.body)}
		if ts := e.rec.timestamp; ts != nil {
			ea.ts, ea.hasTS = [2]int{offsetOf(raw, ts), offsetOf(raw, ts) + len(ts)}, true
		}
		if in := e.rec.inserted; in != nil {
			ea.ins, ea.hasIn = [2]int{offsetOf(raw, in), offsetOf(raw, in) + len(in)}, true
		}
		ea.e.rec.timestamp, ea.e.rec.inserted = nil, nil
		c.body = append(c.body, raw...)
		ea.end = len(c.body)
		c.elems = append(c.elems, ea)
		*i = end
		return nil
	}
}

// offsetOf is the offset of sub's first byte in b (sub a slice of b's array).
func offsetOf(b, sub []byte) int {
	return cap(b) - cap(sub)
}

// finish returns the chunk gathered, its body with room for b to splice events in place, and
// readies c for the next chunk.
func (c *chunkBuilder) finish(b *builder) *streamChunk {
	body := c.body
	if room := b.room(len(c.elems)); cap(body)-len(body) < room {
		body = make([]byte, len(c.body), len(c.body)+room)
		copy(body, c.body)
	}
	a := &answer{elems: make([]elem, len(c.elems)), body: body, result: body, spans: c.spans}
	for k := range c.elems {
		ea := &c.elems[k]
		e := ea.e
		e.raw = body[ea.off:ea.end:ea.end]
		if ea.hasTS {
			e.rec.timestamp = e.raw[ea.ts[0]:ea.ts[1]]
		}
		if ea.hasIn {
			e.rec.inserted = e.raw[ea.ins[0]:ea.ins[1]]
		}
		a.elems[k] = e
	}
	ch := &streamChunk{a: a, from: c.first, to: c.first + len(c.elems), sums: elemSums(a.elems)}
	*c = chunkBuilder{}
	return ch
}

// scanPrefix scans the members of the answer in b that come before a "result" array: it
// returns them, and the offset of the array's '[', once b holds them all; nil and 0 while b
// may be cut short; nil and -1 when the answer has no result array there (it is then read
// whole).
func scanPrefix(b []byte) (*answer, int) {
	s := &scanner{Scanner: jsonx.Scanner{B: b}}
	s.WS()
	if s.I >= len(b) {
		return nil, 0
	}
	if b[s.I] != '{' {
		return nil, -1
	}
	s.I++
	a := &answer{}
	for {
		s.WS()
		if s.I >= len(b) {
			return nil, 0
		}
		if b[s.I] != '"' {
			return nil, -1
		}
		ks, ke, esc, err := s.Key()
		if err != nil {
			return nil, 0 // cut short, or broken: more bytes decide
		}
		s.WS()
		if s.I >= len(b) {
			return nil, 0
		}
		if !esc && string(b[ks:ke]) == "result" {
			if b[s.I] != '[' {
				return nil, -1
			}
			return a, s.I
		}
		if esc {
			return nil, -1 // unusual: the whole answer's reader decides
		}
		vs := s.I
		if err := s.Skip(); err != nil || s.I >= len(b) {
			return nil, 0
		}
		a.note(string(b[ks:ke]), b[vs:s.I])
		s.WS()
		if s.I >= len(b) {
			return nil, 0
		}
		if b[s.I] != ',' {
			return nil, -1
		}
		s.I++
	}
}

// streamBuf is the bytes of an answer read so far and not dropped.
type streamBuf struct {
	r     io.Reader
	b     []byte
	eof   bool
	read  int // bytes read in all
	limit int64
}

// more reads at least one more byte (or reaches the end), growing the buffer when it is full.
func (sb *streamBuf) more() error {
	if sb.eof {
		return io.ErrUnexpectedEOF
	}
	if len(sb.b) == cap(sb.b) {
		nb := make([]byte, len(sb.b), 2*cap(sb.b))
		copy(nb, sb.b)
		sb.b = nb
	}
	for {
		n, err := sb.r.Read(sb.b[len(sb.b):cap(sb.b)])
		sb.b = sb.b[:len(sb.b)+n]
		sb.read += n
		if int64(sb.read) > sb.limit {
			return fmt.Errorf("the answer is more than the %d bytes accepted", sb.limit)
		}
		if err == io.EOF {
			sb.eof = true
			return nil
		}
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
}

// rest reads to the end of the answer.
func (sb *streamBuf) rest() error {
	for !sb.eof {
		if err := sb.more(); err != nil {
			return err
		}
	}
	return nil
}

// drop removes the first n bytes.
func (sb *streamBuf) drop(n int) {
	m := copy(sb.b, sb.b[n:])
	sb.b = sb.b[:m]
}
